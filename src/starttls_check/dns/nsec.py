"""NSEC proofs that a name or a type does not exist (RFC 4034 §4, RFC 4035 §5.4).

Pure: judges the authority section of a response already received. NSEC3, the hashed
variant, is in dns/nsec3.py.
"""

from __future__ import annotations

import dns.message
import dns.name
import dns.rdatatype
import dns.rrset
from dns.rdtypes.ANY.NSEC import NSEC
from dns.rdtypes.ANY.NSEC3 import NSEC3

from .signatures import verify_section

Nsecs = list[tuple[dns.name.Name, NSEC]]
"""Validated NSEC records with their owner names."""


def signed_nsecs(
    response: dns.message.Message, zone: dns.name.Name, keys: dns.rrset.RRset, now: float
) -> Nsecs:
    """The NSEC records of the authority section, each validated with the zone's keys."""
    return [
        (rrset.name, nsec)
        for rrset in verify_section(response, dns.rdatatype.NSEC, zone, keys, now)
        for nsec in rrset
        if isinstance(nsec, NSEC)
    ]


def proves_nodata(nsecs: Nsecs, qname: dns.name.Name, qtype: dns.rdatatype.RdataType) -> bool:
    """RFC 4035 §3.1.3.1: the name's NSEC lacks the type (and CNAME), or it is empty."""
    for owner, nsec in nsecs:
        if owner == qname:
            return not {qtype, dns.rdatatype.CNAME} & bitmap_types(nsec)
    # An empty non-terminal: the NSEC covering it points to a name below it.
    return any(
        _covers(owner, nsec, qname) and nsec.next.is_subdomain(qname) for owner, nsec in nsecs
    )


def proves_nxdomain(nsecs: Nsecs, qname: dns.name.Name) -> bool:
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


def own_types(nsecs: Nsecs, name: dns.name.Name) -> frozenset[int] | None:
    """The types the NSEC at ``name`` lists, or ``None`` if none is at ``name``."""
    return next((bitmap_types(nsec) for owner, nsec in nsecs if owner == name), None)


def covered(nsecs: Nsecs, name: dns.name.Name) -> bool:
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


def bitmap_types(record: NSEC | NSEC3) -> frozenset[int]:
    """The types in an NSEC or NSEC3 bitmap (RFC 4034 §4.1.2, RFC 5155 §3.2.1)."""
    return frozenset(
        window * 256 + octet * 8 + bit
        for window, bitmap in record.windows
        for octet, byte in enumerate(bitmap)
        for bit in range(8)
        if byte & (0x80 >> bit)
    )
