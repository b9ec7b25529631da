"""The few fields read straight from a certificate's DER: its SubjectPublicKeyInfo, exactly
as encoded, which DANE's `selector 1` matches (RFC 6698 §2.1.2) and the `{spki}` hints
name. Reading it here rather than re-encoding the parsed key keeps cryptography's
serialization package (SSH and cipher modules, some 6 ms) off a plain check's path.
"""

from __future__ import annotations

SEQUENCE, BIT_STRING, OID, VERSION = 0x30, 0x03, 0x06, 0xA0


def element(data: bytes, pos: int) -> tuple[int, int, int] | None:
    """(tag, content start, content end) of the DER element at `pos`, or None."""
    if pos + 2 > len(data) or data[pos] & 0x1F == 0x1F:  # no multi-byte tags in certificates
        return None
    tag, first, start = data[pos], data[pos + 1], pos + 2
    if first & 0x80:
        count = first & 0x7F
        if not 0 < count <= 4 or start + count > len(data):  # 0: indefinite length, not DER
            return None
        length, start = int.from_bytes(data[start : start + count], "big"), start + count
    else:
        length = first
    end = start + length
    return (tag, start, end) if end <= len(data) else None


def spki_der(cert_der: bytes) -> bytes | None:
    """The SubjectPublicKeyInfo exactly as encoded in a certificate, or None if the DER is
    not a certificate's shape."""
    outer = element(cert_der, 0)
    tbs = element(cert_der, outer[1]) if outer and outer[0] == SEQUENCE else None
    if tbs is None or tbs[0] != SEQUENCE:
        return None
    pos = tbs[1]
    first = element(cert_der, pos)
    if first and first[0] == VERSION:
        pos = first[2]
    for _ in range(5):  # serialNumber, signature, issuer, validity, subject
        found = element(cert_der, pos)
        if found is None:
            return None
        pos = found[2]
    spki = element(cert_der, pos)
    return cert_der[pos : spki[2]] if spki and spki[0] == SEQUENCE else None
