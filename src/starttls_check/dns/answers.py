"""Judging one response against the validated keys of the zone it comes from.

Pure: the walk (dns/dnssec.py) asks, and hands each response here with the zone and keys
it has validated. An answer must be signed by that zone; an absence must be proven by
NSEC (dns/nsec.py) or NSEC3 (dns/nsec3.py), where an opt-out span or a costly iteration
count makes it INSECURE; a DS question at a possible zone cut tells whether the walk goes
on into a signed child, stays in the zone, or ends at an unsigned delegation.
"""

from __future__ import annotations

import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
from dns.rdtypes.ANY.CNAME import CNAME

from ..model.dns import DnsStatus
from . import nsec3
from .client import MAX_RECORDS
from .nsec import covered, own_types, proves_nodata, proves_nxdomain, signed_nsecs
from .signatures import label_count, signatures, usable_ds, verify_signed
from .verdict import (
    DnssecStatus,
    ProvenInsecure,
    ValidatedAnswer,
    ValidationEnd,
    bogus,
    with_chain,
)

MAX_CNAMES = 8
"""Aliases followed from the name asked for."""


def judge_answer(
    response: dns.message.Message,
    qname: dns.name.Name,
    qtype: dns.rdatatype.RdataType,
    zone: dns.name.Name,
    keys: dns.rrset.RRset,
    now: float,
) -> ValidatedAnswer | dns.name.Name:
    """The validated answer, or the CNAME target to follow.

    Raises a BOGUS verdict; a proof that can only be INSECURE is returned as such."""
    rrset = get_rrset(response, qname, qtype)
    is_alias = rrset is None and qtype not in (dns.rdatatype.CNAME, dns.rdatatype.ANY)
    if is_alias:
        rrset = get_rrset(response, qname, dns.rdatatype.CNAME)
    if rrset is not None:
        sig = verify_signed(rrset, signatures(response.answer, response, rrset), zone, keys, now)
        if sig.labels < label_count(qname):
            try:
                _check_wildcard(response, qname, sig.labels, zone, keys, now)
            except ProvenInsecure as insecure:
                return insecure_answer(response, qname, qtype, insecure.reason, [])
        if is_alias:
            return cname_target(rrset)
        return ValidatedAnswer(
            status=DnssecStatus.SECURE,
            reason=f"signed by {zone}",
            dns_status=DnsStatus.OK,
            records=_records(rrset),
        )
    try:
        return _judge_denial(response, qname, qtype, zone, keys, now)
    except ProvenInsecure as insecure:
        status = response_status(response)
        return ValidatedAnswer(
            status=DnssecStatus.INSECURE, reason=insecure.reason, dns_status=status
        )


def judge_delegation(
    response: dns.message.Message,
    child: dns.name.Name,
    zone: dns.name.Name,
    keys: dns.rrset.RRset,
    now: float,
) -> dns.rrset.RRset | None:
    """The DS set of a secure cut at ``child``, or ``None`` if ``child`` is in ``zone``.

    Raises :class:`ProvenInsecure` for a proven-unsigned delegation, a BOGUS verdict otherwise.
    """
    ds = get_rrset(response, child, dns.rdatatype.DS)
    if ds is not None:
        verify_signed(ds, signatures(response.answer, response, ds), zone, keys, now)
        if not any(usable_ds(d) for d in ds):
            # RFC 4035 §5.2: only unsupported algorithms, so treated as unsigned.
            raise ProvenInsecure(f"DS for {child} uses only unsupported algorithms")
        return ds
    cname = get_rrset(response, child, dns.rdatatype.CNAME)
    if cname is not None:  # an alias is never a zone cut (RFC 1034 §3.6.2)
        verify_signed(cname, signatures(response.answer, response, cname), zone, keys, now)
        return None
    nsecs = signed_nsecs(response, zone, keys, now)
    types = own_types(nsecs, child)
    chain = None
    if types is None and not nsecs:
        chain = nsec3.nsec3_chain(response, zone, keys, now)
        if chain is not None:  # no match in an opt-out span: ProvenInsecure (RFC 5155 §8.9)
            types = nsec3.delegation_types(chain, child)
    if types is not None and dns.rdatatype.DS not in types:
        if _is_delegation(types):
            raise ProvenInsecure(f"no DS for {child}: unsigned delegation")
        return None  # in the zone; with NSEC3, empty non-terminals have records too
    if proves_nodata(nsecs, child, dns.rdatatype.DS):
        return None  # an empty non-terminal
    raise _no_proof(chain, f"{child} has no DS", None)


def insecure_answer(
    response: dns.message.Message,
    qname: dns.name.Name,
    qtype: dns.rdatatype.RdataType,
    reason: str,
    chain: list[str],
) -> ValidatedAnswer:
    """The unvalidated answer where validation proved it need not be, aliases followed."""
    name = qname
    for _ in range(MAX_CNAMES + 1):
        rrset = get_rrset(response, name, qtype)
        if rrset is not None:
            answer = ValidatedAnswer(
                status=DnssecStatus.INSECURE,
                reason=reason,
                dns_status=DnsStatus.OK,
                records=_records(rrset),
            )
            return with_chain(answer, chain=chain)
        cname = get_rrset(response, name, dns.rdatatype.CNAME)
        if cname is None or qtype == dns.rdatatype.CNAME:
            break
        name = cname_target(cname)
        chain.append(name.to_text(omit_final_dot=True))
    answer = ValidatedAnswer(
        status=DnssecStatus.INSECURE, reason=reason, dns_status=response_status(response)
    )
    return with_chain(answer, chain=chain)


def response_status(response: dns.message.Message) -> DnsStatus:
    """What the answer said: records, no such name, or no records of the type."""
    if response.answer:
        return DnsStatus.OK
    nxdomain = response.rcode() == dns.rcode.NXDOMAIN
    return DnsStatus.NXDOMAIN if nxdomain else DnsStatus.NO_DATA


def get_rrset(
    message: dns.message.Message, name: dns.name.Name, rdtype: dns.rdatatype.RdataType
) -> dns.rrset.RRset | None:
    """The answer section's ``rdtype`` RRset at ``name``."""
    return message.get_rrset(message.answer, name, dns.rdataclass.IN, rdtype)


def cname_target(cname: dns.rrset.RRset) -> dns.name.Name:
    rdata = cname[0]
    assert isinstance(rdata, CNAME)  # dnspython parsed it as one
    return rdata.target


def _check_wildcard(
    response: dns.message.Message,
    qname: dns.name.Name,
    labels: int,
    zone: dns.name.Name,
    keys: dns.rrset.RRset,
    now: float,
) -> None:
    """A wildcard expansion is only valid if the name itself is proven not to exist
    (RFC 4035 §5.3.4, RFC 5155 §8.8)."""
    if covered(signed_nsecs(response, zone, keys, now), qname):
        return
    chain = nsec3.nsec3_chain(response, zone, keys, now)
    if chain is not None and nsec3.proves_wildcard(chain, qname, labels):
        return
    raise bogus(f"wildcard answer for {qname} without proof that {qname} does not exist")


def _judge_denial(
    response: dns.message.Message,
    qname: dns.name.Name,
    qtype: dns.rdatatype.RdataType,
    zone: dns.name.Name,
    keys: dns.rrset.RRset,
    now: float,
) -> ValidatedAnswer:
    """The proven absence of the name (NXDOMAIN) or of its ``qtype`` records (NODATA)."""
    nxdomain = response.rcode() == dns.rcode.NXDOMAIN
    status = DnsStatus.NXDOMAIN if nxdomain else DnsStatus.NO_DATA
    claim = (
        f"{qname} does not exist" if nxdomain else f"{qname} has no {dns.rdatatype.to_text(qtype)}"
    )
    nsecs = signed_nsecs(response, zone, keys, now)
    if proves_nxdomain(nsecs, qname) if nxdomain else proves_nodata(nsecs, qname, qtype):
        return _proven(status, f"NSEC in {zone} proves {claim}")
    chain = None if nsecs else nsec3.nsec3_chain(response, zone, keys, now)
    if chain is not None and (
        nsec3.proves_nxdomain(chain, qname)
        if nxdomain
        else nsec3.proves_nodata(chain, qname, qtype)
    ):
        return _proven(status, f"NSEC3 in {zone} proves {claim}")
    raise _no_proof(chain, claim, status)


def _is_delegation(types: frozenset[int]) -> bool:
    """NS without SOA: a zone cut, seen from the parent."""
    return dns.rdatatype.NS in types and dns.rdatatype.SOA not in types


def _records(rrset: dns.rrset.RRset) -> tuple[str, ...]:
    return tuple(rdata.to_text() for rdata in list(rrset)[:MAX_RECORDS])


def _no_proof(
    chain: nsec3.Nsec3Chain | None, claim: str, dns_status: DnsStatus | None
) -> ValidationEnd:
    """BOGUS: the zone is signed, so an absence needs a proof."""
    kind = "NSEC" if chain is None else "NSEC3"
    return bogus(f"no {kind} proof that {claim}", dns_status)


def _proven(dns_status: DnsStatus, reason: str) -> ValidatedAnswer:
    return ValidatedAnswer(status=DnssecStatus.SECURE, reason=reason, dns_status=dns_status)
