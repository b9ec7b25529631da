"""DANE for SMTP: does a served chain match the MX host's TLSA records? Pure, no I/O.

The rules, from RFC 6698 (TLSA), RFC 7671 (DANE operations) and RFC 7672 (SMTP):

- Only DANE-TA(2) and DANE-EE(3) count for SMTP; PKIX-TA(0) and PKIX-EE(1) records are
  ignored (RFC 7672 §3.1.3), as are unknown usages, selectors and matching types, and
  digests of the wrong length (RFC 7671 §4.1). A record is unusable, never an error.
- DANE-EE(3) matches the leaf alone; names and dates are not checked (RFC 7672 §3.1.1).
- DANE-TA(2) matches any certificate the server sends (it must send the trust anchor,
  RFC 7672 §3.1.2); the leaf must then chain up to it by signature, and be checked as in
  PKIX: within its validity window and naming the MX host (RFC 7671 §5.2.2, RFC 7672
  §3.2.2, §3.2.3: a wildcard is one whole leftmost label).
- One usable record that authenticates is enough (RFC 6698 §2.1, RFC 7671 §5.2).

Digests are computed over the bytes exactly as served: the certificate DER (selector 0),
or the SubjectPublicKeyInfo cut out of it (selector 1) rather than cryptography's
re-encoding of the key, which differs for keys it re-encodes (compressed EC points) or
cannot read. So a DANE-EE record still matches a leaf cryptography cannot parse.

Records must come from a DNSSEC-validated answer (RFC 7672 §2.2); that is the caller's
business: this module only matches. What a match means for a sender, as findings, is
checks/dane.py's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from cryptography import x509

from ..dns.names import is_ascii_number
from ..tls.certs import MAX_CHAIN, common_name, is_ca, issued_by, name_matches, parse_certificate
from ..tls.certs import subject_alt_names as _san
from ..tls.der import BIT_STRING, OID, SEQUENCE, spki_der
from ..tls.der import element as _tlv

DANE_TA, DANE_EE = 2, 3
_USAGES = {0: "PKIX-TA", 1: "PKIX-EE", 2: "DANE-TA", 3: "DANE-EE"}
_SELECTORS = {0: "Cert", 1: "SPKI"}
_DIGESTS = {1: ("SHA2-256", hashlib.sha256, 32), 2: ("SHA2-512", hashlib.sha512, 64)}
_TEXT_LIMIT = 200  # how much of an unreadable record is kept


class TlsaRdata(Protocol):
    """What dnspython's TLSA rdata offers (`dns.rdtypes.ANY.TLSA.TLSA`)."""

    @property
    def usage(self) -> int: ...
    @property
    def selector(self) -> int: ...
    @property
    def mtype(self) -> int: ...
    @property
    def cert(self) -> bytes: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class TlsaRecord:
    """One TLSA record: certificate usage, selector, matching type and association data."""

    usage: int
    selector: int
    mtype: int
    data: bytes

    @classmethod
    def from_rdata(cls, rdata: TlsaRdata) -> TlsaRecord:
        return cls(usage=rdata.usage, selector=rdata.selector, mtype=rdata.mtype, data=rdata.cert)

    @property
    def text(self) -> str:
        """Presentation format, as `dig` shows it: `3 1 1 <hex>`."""
        return f"{self.usage} {self.selector} {self.mtype} {self.data.hex()}"


@dataclass(frozen=True, slots=True, kw_only=True)
class TlsaMatch:
    """A usable record whose association data matches one served certificate."""

    record: str  # presentation text
    certificate_index: int | None  # 0 = the leaf, as served
    certificate_subject: str | None  # None when the certificate cannot be parsed


@dataclass(frozen=True, slots=True, kw_only=True)
class DaneResult:
    """The TLSA records judged against one served chain."""

    usable: tuple[str, ...]  # records usable for SMTP, in presentation text
    unusable: tuple[tuple[str, str], ...]  # (record, why it is not used)
    matches: tuple[TlsaMatch, ...]
    authenticated: bool  # a usable record matched and its rules held
    reason: str  # one sentence: why (not) authenticated


def parse_tlsa_text(text: str) -> TlsaRecord | str:
    """A record from presentation text (`3 1 1 ab12...`, the hex may contain spaces, RFC
    6698 §2.2), or why it is malformed. Usages 0/1 and unknown parameters parse: they are
    well-formed DNS data that SMTP does not use (see `why_unusable`)."""
    fields = text.split()
    if len(fields) < 4:
        return "expected four fields: usage, selector, matching type, hex data"
    if not all(is_ascii_number(f) and int(f) < 256 for f in fields[:3]):
        return "usage, selector and matching type must be numbers from 0 to 255"
    hex_data = "".join(fields[3:])
    try:
        data = bytes.fromhex(hex_data)
    except ValueError:
        return "the association data is not hexadecimal (or has an odd number of digits)"
    usage, selector, mtype = (int(f) for f in fields[:3])
    record = TlsaRecord(usage=usage, selector=selector, mtype=mtype, data=data)
    return _malformed(record) or record


def why_unusable(record: TlsaRecord) -> str | None:
    """Why an SMTP client must skip this record (RFC 7672 §3.1.3, RFC 7671 §4.1), if so."""
    if record.usage in (0, 1):
        name = _USAGES[record.usage]
        return f"usage {name}({record.usage}) is ignored for SMTP (RFC 7672 §3.1.3)"
    if record.usage not in _USAGES:
        return f"unknown certificate usage {record.usage}"
    if record.selector not in _SELECTORS:
        return f"unknown selector {record.selector}"
    if record.mtype != 0 and record.mtype not in _DIGESTS:
        return f"unknown matching type {record.mtype}"
    return _malformed(record)


def _malformed(record: TlsaRecord) -> str | None:
    """Association data that cannot be what the record's parameters say it is."""
    if record.mtype in _DIGESTS:
        name, _, size = _DIGESTS[record.mtype]
        if len(record.data) != size:
            return f"a {name} digest is {size} bytes, this one is {len(record.data)}"
    elif record.mtype == 0 and record.selector == 1 and not _is_spki(record.data):
        return "full data (matching type 0) with selector 1 must be a SubjectPublicKeyInfo"
    elif record.mtype == 0 and record.selector == 0 and not _is_certificate(record.data):
        return "full data (matching type 0) with selector 0 must be a DER certificate"
    return None


def spki_sha256(cert_der: bytes) -> str | None:
    """Hex SHA-256 of the certificate's SPKI: the data of a `3 1 1` record."""
    spki = spki_der(cert_der)
    return hashlib.sha256(spki).hexdigest() if spki is not None else None


def association(cert_der: bytes, selector: int, mtype: int) -> bytes | None:
    """What a record with this selector and matching type would hold for this certificate."""
    selected = cert_der if selector == 0 else spki_der(cert_der) if selector == 1 else None
    if selected is None or (mtype != 0 and mtype not in _DIGESTS):
        return None
    return selected if mtype == 0 else _DIGESTS[mtype][1](selected).digest()


def match_chain(
    records: Sequence[TlsaRecord | str],
    chain_der: Sequence[bytes],
    mx_name: str,
    *,
    now: datetime,
    also_names: Sequence[str] = (),
) -> DaneResult:
    """Judge a served chain (leaf first) against the MX host's TLSA records.

    A `str` in `records` is presentation text (`3 1 1 <hex>`, e.g. `rdata.to_text()`); it
    is parsed here so an unreadable one is reported with its text. `also_names` are further
    names DANE-TA accepts in the leaf, e.g. the CNAME-expanded TLSA base domain (RFC 7672
    §3.2.2); `mx_name` is always one.
    """
    usable: list[TlsaRecord] = []
    unusable: list[tuple[str, str]] = []
    for item in records:
        record = parse_tlsa_text(item) if isinstance(item, str) else item
        if isinstance(record, str):
            unusable.append((_clip(" ".join(str(item).split())), record))
        elif (why := why_unusable(record)) is not None:
            unusable.append((record.text, why))
        else:
            usable.append(record)
    chain = tuple(chain_der[:MAX_CHAIN])
    parsed = [_parse(der) for der in chain]
    matches = [m for r in usable for m in _matches(r, chain, parsed)]
    authenticated, reason = _verdict(usable, unusable, matches, parsed, (mx_name, *also_names), now)
    return DaneResult(
        usable=tuple(r.text for r in usable),
        unusable=tuple(unusable),
        matches=tuple(m for m, _ in matches),
        authenticated=authenticated,
        reason=reason,
    )


_Match = tuple[TlsaMatch, TlsaRecord]


def _matches(
    record: TlsaRecord, chain: tuple[bytes, ...], parsed: list[x509.Certificate | None]
) -> list[_Match]:
    # DANE-EE pins the leaf alone (RFC 7672 §3.1.1); DANE-TA any certificate served.
    indexes = range(min(1, len(chain)) if record.usage == DANE_EE else len(chain))
    hits = [
        i for i in indexes if association(chain[i], record.selector, record.mtype) == record.data
    ]
    return [
        (
            TlsaMatch(
                record=record.text, certificate_index=i, certificate_subject=_subject(parsed[i])
            ),
            record,
        )
        for i in hits
    ]


def _verdict(
    usable: list[TlsaRecord],
    unusable: list[tuple[str, str]],
    matches: list[_Match],
    parsed: list[x509.Certificate | None],
    names: tuple[str, ...],
    now: datetime,
) -> tuple[bool, str]:
    if not usable:
        if not unusable:
            return False, "there are no TLSA records"
        return False, (
            f"none of the {len(unusable)} TLSA records is usable for SMTP, so DANE senders "
            "fall back to unauthenticated TLS (RFC 7672 §2.2)"
        )
    if not parsed:
        return False, "the server presented no certificate"
    for _, record in matches:
        if record.usage == DANE_EE:
            return True, f"the leaf certificate matches DANE-EE record {_short(record)}"
    failures = []
    for match, record in matches:
        assert match.certificate_index is not None
        where = f"certificate {match.certificate_index} ({match.certificate_subject})"
        problem = _ta_problem(parsed, match.certificate_index, names, now)
        if problem is None:
            return (
                True,
                f"DANE-TA record {_short(record)} matches {where} and the leaf chains to it",
            )
        failures.append(f"DANE-TA record {_short(record)} matches {where} but {problem}")
    if failures:
        return False, failures[0]
    return False, f"none of the {len(usable)} usable TLSA records matches the served chain"


def _ta_problem(
    parsed: list[x509.Certificate | None], ta: int, names: tuple[str, ...], now: datetime
) -> str | None:
    """Why the chain from the leaf to the matched trust anchor fails PKIX checks, if it does."""
    leaf, anchor = parsed[0], parsed[ta]
    if leaf is None or anchor is None:
        return "the certificates cannot be parsed to check the chain"
    path = _path_to(parsed, ta)
    if path is None:
        return "the leaf does not chain to it by signature"
    # The anchor's own dates are the relying party's business (RFC 5280 §6.1), unless
    # the anchor is the leaf itself.
    below = [parsed[i] for i in path if i != ta or ta == 0]
    if any(c is not None and now > c.not_valid_after_utc for c in below):
        return "a certificate below the trust anchor has expired"
    if any(c is not None and now < c.not_valid_before_utc for c in below):
        return "a certificate below the trust anchor is not yet valid"
    dns_names, _ = _san(leaf)
    if not any(name_matches(n, dns_names, common_name(leaf)) for n in names):
        return f"the leaf certificate does not name {names[0]} (RFC 7672 §3.2.2)"
    return None


def _path_to(parsed: list[x509.Certificate | None], ta: int) -> list[int] | None:
    """Indexes from the leaf up to `ta`, each signed by the next; CAs in between only."""
    path = [0]
    while path[-1] != ta and len(path) <= len(parsed):
        current = parsed[path[-1]]
        assert current is not None
        anchor = parsed[ta]
        if anchor is not None and issued_by(current, anchor):
            return [*path, ta]
        step = next(
            (i for i, c in enumerate(parsed)
             if i not in path and c is not None and is_ca(c) and issued_by(current, c)),
            None,
        )  # fmt: skip
        if step is None:
            return None
        path.append(step)
    return path if path[-1] == ta else None


def _parse(der: bytes) -> x509.Certificate | None:
    cert = parse_certificate(der)
    return None if isinstance(cert, str) else cert


def _subject(cert: x509.Certificate | None) -> str | None:
    return cert.subject.rfc4514_string() if cert is not None else None


def _short(record: TlsaRecord) -> str:
    hex_data = record.data.hex()
    data = hex_data if len(hex_data) <= 16 else f"{hex_data[:12]}..."
    return f"{record.usage} {record.selector} {record.mtype} {data}"


def _clip(text: str) -> str:
    return text if len(text) <= _TEXT_LIMIT else f"{text[:_TEXT_LIMIT]}..."


# --- a minimal DER reader: only what SPKI extraction and shape checks need -------------


def _children(data: bytes, start: int, end: int) -> list[int] | None:
    tags: list[int] = []
    while start < end:
        element = _tlv(data, start)
        if element is None or element[2] > end:
            return None
        tags.append(element[0])
        start = element[2]
    return tags


def _is_spki(data: bytes) -> bool:
    """SEQUENCE { AlgorithmIdentifier SEQUENCE { OID, ... }, BIT STRING }, nothing after.

    Checked by shape, not by cryptography's key loader, which refuses valid keys it does
    not support (explicit EC parameters, GOST)."""
    outer = _tlv(data, 0)
    if outer is None or outer[0] != SEQUENCE or outer[2] != len(data):
        return False
    algorithm = _tlv(data, outer[1])
    if _children(data, outer[1], outer[2]) != [SEQUENCE, BIT_STRING] or algorithm is None:
        return False
    inner = _children(data, algorithm[1], algorithm[2])
    return inner is not None and inner[:1] == [OID]


def _is_certificate(data: bytes) -> bool:
    """SEQUENCE { tbsCertificate, signatureAlgorithm, signature BIT STRING }, nothing after."""
    outer = _tlv(data, 0)
    if outer is None or outer[0] != SEQUENCE or outer[2] != len(data):
        return False
    shape = _children(data, outer[1], outer[2])
    return shape == [SEQUENCE, SEQUENCE, BIT_STRING] and spki_der(data) is not None
