"""A TLS ClientHello read from the raw bytes a client sent after STARTTLS, before any TLS
library sees them (RFC 8446 §4.1.2, RFC 5246 §7.4.1.2). Sans-I/O: bytes in, an offer out.

`read_client_hello` is called with everything received so far; it answers "need more",
the offer, or why the bytes are not a ClientHello. The handshake message may span
several records (a large key share does); it is bounded by `MAX_HELLO`. Every length is
checked against what is left, so truncated or hostile input is an error, never an
exception of the parser's own.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..model.sending import ClientHelloOffer

MAX_HELLO = 1 << 16  # bytes of ClientHello accepted: real ones are under 2 KiB (or ~8 with PQ)
_HANDSHAKE = 0x16
_CLIENT_HELLO = 0x01

VERSIONS = {0x0300: "SSLv3", 0x0301: "TLSv1", 0x0302: "TLSv1.1", 0x0303: "TLSv1.2"}
VERSIONS[0x0304] = "TLSv1.3"
GROUPS = {23: "secp256r1", 24: "secp384r1", 25: "secp521r1", 29: "x25519", 30: "x448"}
GROUPS |= {256: "ffdhe2048", 257: "ffdhe3072", 258: "ffdhe4096", 259: "ffdhe6144"}
GROUPS |= {260: "ffdhe8192", 0x11EC: "X25519MLKEM768", 0x6399: "X25519Kyber768Draft00"}
GROUPS |= {0x11EB: "SecP256r1MLKEM768", 0x11ED: "SecP384r1MLKEM1024"}
SIGNATURES = {0x0401: "rsa_pkcs1_sha256", 0x0501: "rsa_pkcs1_sha384", 0x0601: "rsa_pkcs1_sha512"}
SIGNATURES |= {0x0403: "ecdsa_secp256r1_sha256", 0x0503: "ecdsa_secp384r1_sha384"}
SIGNATURES |= {0x0603: "ecdsa_secp521r1_sha512", 0x0804: "rsa_pss_rsae_sha256"}
SIGNATURES |= {0x0805: "rsa_pss_rsae_sha384", 0x0806: "rsa_pss_rsae_sha512", 0x0807: "ed25519"}
SIGNATURES |= {0x0808: "ed448", 0x0809: "rsa_pss_pss_sha256", 0x080A: "rsa_pss_pss_sha384"}
SIGNATURES |= {0x080B: "rsa_pss_pss_sha512", 0x0201: "rsa_pkcs1_sha1", 0x0203: "ecdsa_sha1"}
# TLS 1.2's hash/signature pairs that TLS 1.3 left without names (RFC 5246 §7.4.1.4.1).
SIGNATURES |= {0x0202: "dsa_sha1", 0x0301: "rsa_sha224", 0x0302: "dsa_sha224"}
SIGNATURES |= {0x0303: "ecdsa_sha224", 0x0402: "dsa_sha256", 0x0502: "dsa_sha384"}
SIGNATURES |= {0x0602: "dsa_sha512"}
# IANA names of the suites mail servers and clients actually offer; others as 0x1234.
CIPHER_SUITES = {
    0x1301: "TLS_AES_128_GCM_SHA256",
    0x1302: "TLS_AES_256_GCM_SHA384",
    0x1303: "TLS_CHACHA20_POLY1305_SHA256",
    0x1304: "TLS_AES_128_CCM_SHA256",
    0x1305: "TLS_AES_128_CCM_8_SHA256",
    0xC02B: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    0xC02C: "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    0xC02F: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    0xC030: "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    0xCCA8: "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    0xCCA9: "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    0xCCAA: "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    0x009E: "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
    0x009F: "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
    0xC023: "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
    0xC024: "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
    0xC027: "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
    0xC028: "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
    0xC009: "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    0xC00A: "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    0xC013: "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    0xC014: "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    0x0067: "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256",
    0x006B: "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256",
    0x0033: "TLS_DHE_RSA_WITH_AES_128_CBC_SHA",
    0x0039: "TLS_DHE_RSA_WITH_AES_256_CBC_SHA",
    0x009C: "TLS_RSA_WITH_AES_128_GCM_SHA256",
    0x009D: "TLS_RSA_WITH_AES_256_GCM_SHA384",
    0x003C: "TLS_RSA_WITH_AES_128_CBC_SHA256",
    0x003D: "TLS_RSA_WITH_AES_256_CBC_SHA256",
    0x002F: "TLS_RSA_WITH_AES_128_CBC_SHA",
    0x0035: "TLS_RSA_WITH_AES_256_CBC_SHA",
    0x000A: "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
    0xC012: "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
    0x0016: "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA",
    0x0004: "TLS_RSA_WITH_RC4_128_MD5",
    0x0005: "TLS_RSA_WITH_RC4_128_SHA",
    0xC011: "TLS_ECDHE_RSA_WITH_RC4_128_SHA",
    0x0003: "TLS_RSA_EXPORT_WITH_RC4_40_MD5",
    0x0008: "TLS_RSA_EXPORT_WITH_DES40_CBC_SHA",
    0x0009: "TLS_RSA_WITH_DES_CBC_SHA",
    0x0001: "TLS_RSA_WITH_NULL_MD5",
    0x0002: "TLS_RSA_WITH_NULL_SHA",
    0x003B: "TLS_RSA_WITH_NULL_SHA256",
    0x0018: "TLS_DH_anon_WITH_RC4_128_MD5",
    0x0034: "TLS_DH_anon_WITH_AES_128_CBC_SHA",
    0x00FF: "TLS_EMPTY_RENEGOTIATION_INFO_SCSV",
    0x5600: "TLS_FALLBACK_SCSV",
}
_EXT_SERVER_NAME, _EXT_GROUPS, _EXT_SIGNATURES, _EXT_ALPN, _EXT_VERSIONS = 0, 10, 13, 16, 43


class HelloError(Exception):
    """The bytes are not a well-formed ClientHello; the message says where."""


@dataclass(frozen=True, slots=True)
class HelloResult:
    """`read_client_hello`'s answer: exactly one of the three is set (or none: need more)."""

    offer: ClientHelloOffer | None = None
    error: str | None = None
    needed: int = 0  # total bytes wanted before asking again (0 once decided)

    @property
    def complete(self) -> bool:
        return self.offer is not None or self.error is not None


def read_client_hello(data: bytes) -> HelloResult:
    """The ClientHello in `data` (every byte the client sent so far), or how many bytes
    are still needed, or why it is not one."""
    try:
        message, needed = _handshake_message(data)
        if message is None:
            return HelloResult(needed=needed)
        return HelloResult(offer=parse_hello_body(message, _name(VERSIONS, _u16(data, 1))))
    except HelloError as exc:
        return HelloResult(error=str(exc))


def _handshake_message(data: bytes) -> tuple[bytes | None, int]:
    """The ClientHello handshake message reassembled from its records, or (None, the
    number of bytes wanted)."""
    if not data:
        return None, 5
    if data[0] != _HANDSHAKE:
        if data[0] & 0x80:
            raise HelloError("an SSLv2-format ClientHello")
        raise HelloError(f"not a TLS handshake record (first byte 0x{data[0]:02x})")
    fragments = bytearray()
    offset = 0
    while True:
        if len(data) < offset + 5:
            return None, offset + 5
        if data[offset] != _HANDSHAKE:
            raise HelloError(f"record at byte {offset} is not a handshake record")
        if data[offset + 1] != 0x03:
            raise HelloError(f"record version 0x{_u16(data, offset + 1):04x} is not TLS")
        length = _u16(data, offset + 3)
        if length == 0 or length > 1 << 14:
            raise HelloError(f"record length {length} out of range")
        if len(data) < offset + 5 + length:
            return None, offset + 5 + length
        fragments += data[offset + 5 : offset + 5 + length]
        offset += 5 + length
        if len(fragments) >= 4:
            if fragments[0] != _CLIENT_HELLO:
                raise HelloError(f"handshake message type {fragments[0]} is not ClientHello")
            wanted = 4 + int.from_bytes(fragments[1:4], "big")
            if wanted > MAX_HELLO:
                raise HelloError(f"ClientHello of {wanted} bytes is over the limit")
            if len(fragments) >= wanted:
                return bytes(fragments[4:wanted]), 0
        if offset > MAX_HELLO:
            raise HelloError("ClientHello over the limit")


def parse_hello_body(body: bytes, record_version: str = "?") -> ClientHelloOffer:
    """The ClientHello's fields, from its body (after the 4-byte handshake header)."""
    reader = _Reader(body)
    legacy = _name(VERSIONS, reader.u16())
    reader.take(32)  # random
    reader.vector(1)  # legacy_session_id
    suites = reader.vector(2)
    if len(suites) % 2 or not suites:
        raise HelloError("cipher suite list is empty or odd-sized")
    reader.vector(1)  # compression methods
    extensions = _extensions(reader.vector(2)) if reader.left() else {}
    versions: tuple[str, ...] = (legacy,)
    if _EXT_VERSIONS in extensions:  # RFC 8446 §4.2.1: it replaces legacy_version
        versions = _u16_list(_Reader(extensions[_EXT_VERSIONS]).vector(1), VERSIONS)
    return ClientHelloOffer(
        record_version=record_version,
        legacy_version=legacy,
        versions=versions,
        cipher_suites=_u16_list(suites, CIPHER_SUITES),
        server_name=_server_name(extensions.get(_EXT_SERVER_NAME)),
        groups=_u16_list(_Reader(extensions.get(_EXT_GROUPS, b"\0\0")).vector(2), GROUPS),
        signature_algorithms=_u16_list(
            _Reader(extensions.get(_EXT_SIGNATURES, b"\0\0")).vector(2), SIGNATURES
        ),
        alpn=_alpn(extensions.get(_EXT_ALPN)),
    )


def _extensions(data: bytes) -> dict[int, bytes]:
    reader = _Reader(data)
    found: dict[int, bytes] = {}
    while reader.left():
        kind = reader.u16()
        found.setdefault(kind, reader.vector(2))
    return found


def _server_name(data: bytes | None) -> str | None:
    if not data:
        return None
    reader = _Reader(_Reader(data).vector(2))
    while reader.left():
        kind, name = reader.take(1)[0], reader.vector(2)
        if kind == 0:  # host_name
            return name.decode("ascii", "backslashreplace")
    return None


def _alpn(data: bytes | None) -> tuple[str, ...]:
    if not data:
        return ()
    reader = _Reader(_Reader(data).vector(2))
    names = []
    while reader.left():
        names.append(reader.vector(1).decode("ascii", "backslashreplace"))
    return tuple(names)


def _u16_list(data: bytes, names: dict[int, str]) -> tuple[str, ...]:
    if len(data) % 2:
        raise HelloError("a list of 16-bit values has an odd length")
    return tuple(_name(names, _u16(data, i)) for i in range(0, len(data), 2))


def _name(names: dict[int, str], value: int) -> str:
    if value & 0x0F0F == 0x0A0A and value >> 8 == value & 0xFF:  # RFC 8701
        return "GREASE"
    return names.get(value, f"0x{value:04x}")


def _u16(data: bytes, offset: int) -> int:
    return int.from_bytes(data[offset : offset + 2], "big")


class _Reader:
    """A cursor over bytes whose every read is checked against what is left."""

    def __init__(self, data: bytes) -> None:
        self._data, self._at = data, 0

    def left(self) -> int:
        return len(self._data) - self._at

    def take(self, count: int) -> bytes:
        if count > self.left():
            raise HelloError(f"truncated: {count} bytes wanted, {self.left()} left")
        chunk = self._data[self._at : self._at + count]
        self._at += count
        return chunk

    def u16(self) -> int:
        return int.from_bytes(self.take(2), "big")

    def vector(self, length_bytes: int) -> bytes:
        return self.take(int.from_bytes(self.take(length_bytes), "big"))
