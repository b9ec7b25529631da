"""The pure parts of DNSSEC validation: signatures over RRsets, DS digests over keys, and
the NSEC proofs that a name or a type does not exist (RFC 4034 §4, RFC 4035 §5.4).

No queries: dns/dnssec.py asks, this module judges what came back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

import dns.dnssec
import dns.dnssecalgs
import dns.exception
import dns.message
import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.rrset
from dns.dnssectypes import Algorithm, DSDigest
from dns.rdtypes.ANY.DNSKEY import DNSKEY
from dns.rdtypes.ANY.DS import DS
from dns.rdtypes.ANY.NSEC import NSEC
from dns.rdtypes.ANY.RRSIG import RRSIG
from dns.rdtypes.dnskeybase import Flag

from ..model.dns import DnsStatus


class DnssecStatus(StrEnum):
    """RFC 4033 §5 / RFC 4035 §4.3: what validation concluded about one answer."""

    SECURE = "secure"  # an unbroken chain of signatures from a trust anchor
    INSECURE = "insecure"  # proven unsigned: a delegation without DS below the anchor
    BOGUS = "bogus"  # should be signed, but a signature or proof is missing or wrong
    INDETERMINATE = "indeterminate"  # could not tell: no anchor, timeout, server failure


@dataclass(frozen=True, slots=True, kw_only=True)
class ValidatedAnswer:
    """One question's answer and what validation concluded about it."""

    status: DnssecStatus
    reason: str
    """One line: why, e.g. ``RRSIG for mx.example.test. A expired 2026-11-01 00:00:00 UTC``."""
    dns_status: DnsStatus | None = None
    """The answer's outcome; ``None`` when validation stopped before asking for it."""
    records: tuple[str, ...] = ()
    """The answer's records as text; empty unless SECURE or INSECURE."""
    cname_chain: tuple[str, ...] = ()
    """Aliases followed to reach the records."""


# RFC 8624 §3.1: MUST NOT validate; such signatures count as unsupported, like unknown ones.
UNUSABLE_ALGORITHMS = frozenset({Algorithm.RSAMD5, Algorithm.DSA, Algorithm.DSANSEC3SHA1})


USABLE_DIGESTS = frozenset({DSDigest.SHA1, DSDigest.SHA256, DSDigest.SHA384})


class ValidationEnd(Exception):
    """Ends validation early with a result."""

    def __init__(self, answer: ValidatedAnswer) -> None:
        super().__init__(answer.reason)
        self.answer = answer


class ProvenInsecure(Exception):
    """The walk met a proven-unsigned delegation: the answer is fetched, not validated."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def bogus(reason: str, dns_status: DnsStatus | None = None) -> ValidationEnd:
    return ValidationEnd(
        ValidatedAnswer(status=DnssecStatus.BOGUS, reason=reason, dns_status=dns_status)
    )


def indeterminate(reason: str, dns_status: DnsStatus | None = None) -> ValidationEnd:
    answer = ValidatedAnswer(
        status=DnssecStatus.INDETERMINATE, reason=reason, dns_status=dns_status
    )
    return ValidationEnd(answer)


def signatures(
    section: list[dns.rrset.RRset], message: dns.message.Message, rrset: dns.rrset.RRset
) -> dns.rrset.RRset | None:
    return message.get_rrset(
        section, rrset.name, dns.rdataclass.IN, dns.rdatatype.RRSIG, rrset.rdtype
    )


def verify_signed(
    rrset: dns.rrset.RRset,
    sigs: dns.rrset.RRset | None,
    zone: dns.name.Name,
    keys: dns.rrset.RRset,
    now: float,
) -> RRSIG:
    """The RRSIG that validates ``rrset`` with ``zone``'s ``keys``; else a BOGUS verdict."""
    what = f"{rrset.name} {dns.rdatatype.to_text(rrset.rdtype)}"
    if not sigs:
        raise bogus(f"no RRSIG for {what}")
    # RFC 4035 §5.3.1: signed by the zone holding the data, with one of its keys.
    usable = [
        sig
        for sig in sigs
        if isinstance(sig, RRSIG)
        and sig.signer == zone
        and sig.type_covered == rrset.rdtype
        and any(_key_fits(key, sig) for key in keys)
    ]
    if not usable:
        raise bogus(f"no DNSKEY of {zone} matches the RRSIG for {what}")
    current = [sig for sig in usable if sig.inception <= now <= sig.expiration]
    if not current:
        latest = max(sig.expiration for sig in usable)
        if latest < now:
            raise bogus(f"RRSIG for {what} expired {_when(latest)}")
        raise bogus(f"RRSIG for {what} not valid before {_when(min(s.inception for s in usable))}")
    for sig in current:
        try:
            dns.dnssec.validate_rrsig(rrset, sig, {zone: keys}, now=now)
        except dns.exception.DNSException:  # ValidationFailure, UnsupportedAlgorithm
            continue
        return sig
    raise bogus(f"signature for {what} does not verify")


def signed_nsecs(
    response: dns.message.Message, zone: dns.name.Name, keys: dns.rrset.RRset, now: float
) -> list[tuple[dns.name.Name, NSEC]]:
    """The NSEC records of the authority section, each validated with the zone's keys."""
    found: list[tuple[dns.name.Name, NSEC]] = []
    for rrset in response.authority:
        if rrset.rdtype == dns.rdatatype.NSEC and rrset.name.is_subdomain(zone):
            verify_signed(rrset, signatures(response.authority, response, rrset), zone, keys, now)
            found.extend((rrset.name, nsec) for nsec in rrset if isinstance(nsec, NSEC))
    return found


def proves_nodata(
    nsecs: list[tuple[dns.name.Name, NSEC]], qname: dns.name.Name, qtype: dns.rdatatype.RdataType
) -> bool:
    """RFC 4035 §3.1.3.1: the name's NSEC lacks the type (and CNAME), or it is empty."""
    for owner, nsec in nsecs:
        if owner == qname:
            return not {qtype, dns.rdatatype.CNAME} & nsec_types(nsec)
    # An empty non-terminal: the NSEC covering it points to a name below it.
    return any(
        _covers(owner, nsec, qname) and nsec.next.is_subdomain(qname) for owner, nsec in nsecs
    )


def proves_nxdomain(nsecs: list[tuple[dns.name.Name, NSEC]], qname: dns.name.Name) -> bool:
    """RFC 4035 §3.1.3.2: an NSEC covers the name, and one covers the wildcard that could
    have answered for it (at the closest encloser)."""
    covering = [
        (owner, nsec)
        for owner, nsec in nsecs
        if _covers(owner, nsec, qname) and not nsec.next.is_subdomain(qname)
    ]
    if not covering:
        return False
    owner, nsec = covering[0]
    common = max(qname.fullcompare(owner)[2], qname.fullcompare(nsec.next)[2])
    wildcard = dns.name.from_text("*", qname.split(common)[1])
    return covered(nsecs, wildcard)


def covered(nsecs: list[tuple[dns.name.Name, NSEC]], name: dns.name.Name) -> bool:
    return any(_covers(owner, nsec, name) for owner, nsec in nsecs)


def _covers(owner: dns.name.Name, nsec: NSEC, name: dns.name.Name) -> bool:
    """``owner < name < next`` in canonical order; the last NSEC wraps to the apex."""
    following: dns.name.Name = nsec.next
    if _before(owner, following):
        return _before(owner, name) and _before(name, following)
    return _before(owner, name)


def _before(first: dns.name.Name, second: dns.name.Name) -> bool:
    """RFC 4034 §6.1 canonical order, which dnspython's comparison implements."""
    return first.fullcompare(second)[1] < 0


def nsec_types(nsec: NSEC) -> frozenset[int]:
    """The types in an NSEC bitmap (RFC 4034 §4.1.2)."""
    return frozenset(
        window * 256 + octet * 8 + bit
        for window, bitmap in nsec.windows
        for octet, byte in enumerate(bitmap)
        for bit in range(8)
        if byte & (0x80 >> bit)
    )


def _key_fits(key: object, sig: RRSIG) -> bool:
    """RFC 4035 §5.3.1: algorithm and key tag match, a zone key, protocol 3."""
    return (
        isinstance(key, DNSKEY)
        and key.algorithm == sig.algorithm
        and key.key_id() == sig.key_tag
        and bool(key.flags & Flag.ZONE)
        and key.protocol == 3
    )


def ds_matches(zone: dns.name.Name, key: object, ds: DS) -> bool:
    if not isinstance(key, DNSKEY) or key.algorithm != ds.algorithm or not usable_ds(ds):
        return False
    try:
        return bool(dns.dnssec.make_ds(zone, key, ds.digest_type, validating=True) == ds)
    except dns.exception.DNSException:  # UnsupportedAlgorithm, DeniedByPolicy
        return False


def usable_ds(ds: DS) -> bool:
    return ds.digest_type in USABLE_DIGESTS and usable_algorithm(ds.algorithm)


def usable_algorithm(algorithm: int) -> bool:
    if algorithm in UNUSABLE_ALGORITHMS:
        return False
    try:
        dns.dnssecalgs.get_algorithm_cls(algorithm)
    except dns.exception.UnsupportedAlgorithm:
        return False
    return True


def label_count(name: dns.name.Name) -> int:
    """The RRSIG labels value of a name: no root label, no leading ``*`` (RFC 4034 §3.1.3)."""
    return len(name) - 1 - int(name.is_wild())


def _when(timestamp: int) -> str:
    return f"{datetime.fromtimestamp(timestamp, UTC):%Y-%m-%d %H:%M:%S} UTC"


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:300]
