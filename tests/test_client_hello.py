"""The ClientHello parser: real hellos from OpenSSL through Python's ssl, split anywhere,
truncated, and garbage."""

from __future__ import annotations

import ssl
import warnings

import pytest

from starttls_check.tls.client_hello import MAX_HELLO, read_client_hello


def hello(
    *,
    server_name: str | None = "mx.example.com",
    maximum: ssl.TLSVersion = ssl.TLSVersion.MAXIMUM_SUPPORTED,
    minimum: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2,
    ciphers: str | None = None,
    alpn: list[str] | None = None,
) -> bytes:
    """The bytes OpenSSL sends first as a client: its ClientHello record(s)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = minimum
        context.maximum_version = maximum
    if ciphers:
        context.set_ciphers(ciphers)
    if alpn:
        context.set_alpn_protocols(alpn)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname=server_name)
    with pytest.raises(ssl.SSLWantReadError):
        tls.do_handshake()
    return outgoing.read()


def test_a_tls13_hello() -> None:
    result = read_client_hello(hello(alpn=["smtp"]))
    assert result.offer is not None, result.error
    offer = result.offer
    assert offer.record_version in ("TLSv1", "TLSv1.2")
    assert offer.legacy_version == "TLSv1.2"
    assert offer.versions == ("TLSv1.3", "TLSv1.2")
    assert offer.cipher_suites[:3] == (
        "TLS_AES_256_GCM_SHA384",
        "TLS_CHACHA20_POLY1305_SHA256",
        "TLS_AES_128_GCM_SHA256",
    )
    assert offer.server_name == "mx.example.com"
    assert "x25519" in offer.groups
    assert "rsa_pss_rsae_sha256" in offer.signature_algorithms
    assert offer.alpn == ("smtp",)


def test_a_tls12_only_hello_without_sni() -> None:
    data = hello(server_name=None, maximum=ssl.TLSVersion.TLSv1_2, ciphers="AES128-SHA")
    offer = read_client_hello(data).offer
    assert offer is not None
    assert offer.server_name is None
    assert offer.versions[0] == "TLSv1.2"
    assert "TLS_RSA_WITH_AES_128_CBC_SHA" in offer.cipher_suites


def test_split_anywhere_needs_more_until_complete() -> None:
    data = hello()
    for cut in range(len(data)):
        result = read_client_hello(data[:cut])
        assert not result.complete, cut
        assert cut < result.needed <= len(data)
    assert read_client_hello(data).offer is not None


def test_a_hello_in_two_records() -> None:
    data = hello()
    body = data[5:]
    half = len(body) // 2
    two = b"\x16\x03\x01" + half.to_bytes(2, "big") + body[:half]
    two += b"\x16\x03\x01" + (len(body) - half).to_bytes(2, "big") + body[half:]
    assert read_client_hello(two).offer == read_client_hello(data).offer


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"EHLO client.example\r\n", "not a TLS handshake record (first byte 0x45)"),
        (b"\x80\x2e\x01\x00\x02", "an SSLv2-format ClientHello"),
        (b"\x16\x03\x01\x00\x00", "record length 0 out of range"),
        (b"\x16\x04\x01\x00\x05hello", "record version 0x0401 is not TLS"),
        (b"\x16\x03\x01\x00\x04\x02\x00\x00\x00", "handshake message type 2 is not ClientHello"),
        (b"\x16\x03\x01\x00\x04\x01\xff\xff\xff", f"ClientHello of {4 + 0xFFFFFF} bytes"),
        (b"\x16\x03\x01\x00\x06\x01\x00\x00\x02\x03\x03", "truncated: 32 bytes wanted"),
    ],
)
def test_garbage_is_an_error_not_an_exception(data: bytes, error: str) -> None:
    result = read_client_hello(data)
    assert result.offer is None
    assert result.error is not None
    assert result.error.startswith(error)


def test_every_corruption_of_a_real_hello_is_handled() -> None:
    """Each byte of the body set to 0xff in turn: an offer or an error, never a crash."""
    data = hello()
    for index in range(5, len(data)):
        corrupt = data[:index] + b"\xff" + data[index + 1 :]
        result = read_client_hello(corrupt)
        assert result.complete or result.needed > len(corrupt) or result.needed <= MAX_HELLO + 5


def test_tls12_hash_signature_pairs_have_names() -> None:
    """OpenSSL at SECLEVEL=0 still offers SHA-224 and DSA pairs: named, not `0x0303`."""
    data = hello(maximum=ssl.TLSVersion.TLSv1_2, ciphers="DEFAULT:@SECLEVEL=0")
    offer = read_client_hello(data).offer
    assert offer is not None
    unnamed = [s for s in offer.signature_algorithms if s.startswith("0x")]
    assert unnamed == []
    assert {"ecdsa_sha224", "dsa_sha256"} <= set(offer.signature_algorithms)
