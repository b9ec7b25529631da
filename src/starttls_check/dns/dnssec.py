"""DNSSEC validation done here, from a trust anchor down to the answer (RFC 4033-4035).

`validate` mode takes nobody's word for it: it asks the injected name servers for the
DNSKEY and DS records along the way (DO and CD set, so a validating resolver hands over
even data it judges bogus) and checks every signature with dnspython. The outcome is one
of RFC 4033 §5's four states, with a one-line reason a user can act on.

The walk, for a name below an anchor: validate the anchor zone's DNSKEY set with the
anchor; then, label by label, ask for the DS of the next name down. A signed DS is a
secure zone cut: fetch that zone's DNSKEY set and validate it with the DS. A signed NSEC
proving no DS where the name is a delegation (NS, no SOA) is an insecure cut and ends
the walk. Any other proven absence means the name is inside the current zone. Last, the
answer (or the proof that there is none) must be signed by the zone the walk ended in.

Trust anchors are read in dns/anchors.py; signatures and denial proofs are checked in
dns/dnssec_proofs.py. Limits, on purpose: NSEC only (NSEC3 proofs end INDETERMINATE: not
checked, never guessed); wildcard answers need the NSEC proving the name itself does not
exist; at most
:data:`MAX_ZONE_CUTS` zone cuts, :data:`MAX_QUERIES` queries and :data:`MAX_CNAMES`
aliases per question, each query bounded by ``timeout``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import dns.asyncquery
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
from dns.rdtypes.ANY.CNAME import CNAME
from dns.rdtypes.ANY.DNSKEY import DNSKEY
from dns.rdtypes.ANY.DS import DS

from ..model.dns import DnsStatus
from ..model.settings import Nameserver
from .anchors import TrustAnchors
from .client import MAX_RECORDS
from .dnssec_proofs import (
    DnssecStatus,
    ProvenInsecure,
    ValidatedAnswer,
    ValidationEnd,
    bogus,
    covered,
    ds_matches,
    indeterminate,
    label_count,
    nsec_types,
    one_line,
    proves_nodata,
    proves_nxdomain,
    signatures,
    signed_nsecs,
    usable_ds,
    verify_signed,
)

MAX_ZONE_CUTS = 10
"""Secure zone cuts followed below a trust anchor; real names have two to four."""
MAX_QUERIES = 48
"""Queries for one question, aliases included: the walk is bounded whatever servers say."""
MAX_CNAMES = 8
"""Aliases followed from the name asked for."""
_PAYLOAD = 1232  # the 2020 DNS flag day's safe UDP size; TCP when the answer is larger


async def validated_query(
    nameservers: Sequence[Nameserver],
    name: str,
    rdtype: str,
    anchors: TrustAnchors,
    *,
    timeout: float,  # noqa: ASYNC109 - per query, handed to dnspython; the walk is bounded by count
    now: datetime | None = None,
) -> ValidatedAnswer:
    """Ask for ``rdtype`` records of ``name`` and validate them from ``anchors`` down.

    Only ``nameservers`` are asked, in order, each query bounded by ``timeout``. Never
    raises for what the servers do: failures are INDETERMINATE or BOGUS, with the reason.
    """
    moment = (now or datetime.now(UTC)).timestamp()
    validation = _Validation(tuple(nameservers), anchors, timeout=timeout, now=moment)
    try:
        return await validation.run(dns.name.from_text(name), dns.rdatatype.from_text(rdtype))
    except ValidationEnd as verdict:
        return verdict.answer


class _Validation:
    """One question's walk: queries, the keys validated so far, and the budget."""

    def __init__(
        self,
        nameservers: tuple[Nameserver, ...],
        anchors: TrustAnchors,
        *,
        timeout: float,
        now: float,
    ) -> None:
        self._nameservers = nameservers
        self._anchors = anchors
        self._timeout = timeout
        self._now = now
        self._queries = 0
        self._keys: dict[dns.name.Name, dns.rrset.RRset] = {}  # validated DNSKEY sets
        self._failed: set[Nameserver] = set()

    async def run(self, qname: dns.name.Name, qtype: dns.rdatatype.RdataType) -> ValidatedAnswer:
        chain: list[str] = []
        seen = {qname}
        for _ in range(MAX_CNAMES + 1):
            # A DS set lives in, and is signed by, the parent zone (RFC 4035 §2.4).
            above = qtype == dns.rdatatype.DS and qname != dns.name.root
            try:
                anchor, zone, keys = await self._secure_zone(qname.parent() if above else qname)
            except ProvenInsecure as insecure:
                response = await self._fetch(qname, qtype)
                return _insecure_answer(response, qname, qtype, insecure.reason, chain)
            response = await self._fetch(qname, qtype)
            try:
                judged = _judge_answer(response, qname, qtype, zone, keys, self._now)
            except ValidationEnd as verdict:  # the answer came, but does not validate
                return _with(verdict.answer, chain=chain, dns_status=_dns_status(response))
            if isinstance(judged, ValidatedAnswer):
                reason = f"{judged.reason}; chain of trust from {anchor}"
                return _with(judged, reason=reason, chain=chain)
            if judged in seen:
                return _with(bogus(f"CNAME loop at {judged}").answer, chain=chain)
            seen.add(judged)
            chain.append(judged.to_text(omit_final_dot=True))
            qname = judged
        return _with(indeterminate(f"more than {MAX_CNAMES} CNAMEs").answer, chain=chain)

    async def _secure_zone(
        self, target: dns.name.Name
    ) -> tuple[dns.name.Name, dns.name.Name, dns.rrset.RRset]:
        """The anchor, the deepest secure zone holding ``target``, and its validated keys."""
        anchor = self._anchors.closest(target)
        if anchor is None:
            raise indeterminate(f"no trust anchor covers {target}")
        zone = anchor.zone
        keys = await self._dnskeys(zone, anchor.ds, anchor.dnskeys, source="the trust anchor")
        cuts = 0
        for depth in range(len(zone) + 1, len(target) + 1):
            child = target.split(depth)[1]
            response = await self._fetch(child, dns.rdatatype.DS)
            if response.rcode() == dns.rcode.NXDOMAIN:
                break  # nothing below exists; the answer's own proof must show it
            ds = _judge_delegation(response, child, zone, keys, self._now)
            if ds is None:
                continue
            cuts += 1
            if cuts > MAX_ZONE_CUTS:
                raise indeterminate(f"more than {MAX_ZONE_CUTS} zone cuts below {anchor.zone}")
            ds_records = tuple(d for d in ds if isinstance(d, DS))
            zone, keys = child, await self._dnskeys(child, ds_records, (), source="the DS")
        return anchor.zone, zone, keys

    async def _dnskeys(
        self, zone: dns.name.Name, ds: tuple[DS, ...], trusted: tuple[DNSKEY, ...], *, source: str
    ) -> dns.rrset.RRset:
        """The zone's DNSKEY set, validated by a key that ``ds`` or ``trusted`` vouches for."""
        if zone in self._keys:
            return self._keys[zone]
        response = await self._fetch(zone, dns.rdatatype.DNSKEY)
        dnskeys = _get(response.answer, response, zone, dns.rdatatype.DNSKEY)
        if dnskeys is None:
            raise bogus(f"no DNSKEY for {zone}, though {source} says it is signed")
        vouched = [k for k in dnskeys if k in trusted or any(ds_matches(zone, k, d) for d in ds)]
        if not vouched:
            raise bogus(f"no DNSKEY matches {source} for {zone}")
        # RFC 4035 §5.2: the DNSKEY set must be signed by a key the parent vouches for.
        vouching = dns.rrset.from_rdata_list(zone, dnskeys.ttl, vouched)
        verify_signed(
            dnskeys, signatures(response.answer, response, dnskeys), zone, vouching, self._now
        )
        self._keys[zone] = dnskeys
        return dnskeys

    async def _fetch(
        self, name: dns.name.Name, rdtype: dns.rdatatype.RdataType
    ) -> dns.message.Message:
        """One question to the first name server that answers it; NOERROR or NXDOMAIN only."""
        self._queries += 1
        if self._queries > MAX_QUERIES:
            raise indeterminate(f"gave up after {MAX_QUERIES} queries")
        query = dns.message.make_query(name, rdtype, want_dnssec=True, payload=_PAYLOAD)
        # RFC 4035 §3.2.2: CD, so that a validating resolver hands over what it finds
        # bogus instead of SERVFAIL: we judge, and can say why.
        query.flags |= dns.flags.CD
        status, detail = DnsStatus.UNREACHABLE, "no name server to ask"
        for server in sorted(self._nameservers, key=lambda ns: ns in self._failed):
            try:
                response, _ = await dns.asyncquery.udp_with_fallback(
                    query, server.host, timeout=self._timeout, port=server.port
                )
            except dns.exception.Timeout:
                status, detail = DnsStatus.TIMEOUT, "timeout"
            except (OSError, EOFError) as exc:
                status, detail = DnsStatus.UNREACHABLE, f"unreachable ({one_line(exc)})"
            except dns.exception.DNSException as exc:
                status, detail = DnsStatus.MALFORMED, f"malformed answer ({one_line(exc)})"
            else:
                if response.rcode() in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
                    return response
                status, detail = DnsStatus.SERVFAIL, dns.rcode.to_text(response.rcode())
            # Asked last from now on: a silent server would cost a timeout per query.
            # (dnspython's asyncio UDP ignores ICMP port unreachable, so even a closed
            # port on loopback is a timeout.)
            self._failed.add(server)
        what = f"{name} {dns.rdatatype.to_text(rdtype)}"
        raise indeterminate(f"{detail} asking for {what}", status)


def _judge_answer(
    response: dns.message.Message,
    qname: dns.name.Name,
    qtype: dns.rdatatype.RdataType,
    zone: dns.name.Name,
    keys: dns.rrset.RRset,
    now: float,
) -> ValidatedAnswer | dns.name.Name:
    """The validated answer, or the CNAME target to follow; raises a BOGUS verdict."""
    rrset = _get(response.answer, response, qname, qtype)
    is_alias = rrset is None and qtype not in (dns.rdatatype.CNAME, dns.rdatatype.ANY)
    if is_alias:
        rrset = _get(response.answer, response, qname, dns.rdatatype.CNAME)
    if rrset is not None:
        sig = verify_signed(rrset, signatures(response.answer, response, rrset), zone, keys, now)
        if sig.labels < label_count(qname) and not covered(
            signed_nsecs(response, zone, keys, now), qname
        ):
            # RFC 4035 §5.3.4: a wildcard expansion is only valid if the name itself is
            # proven not to exist.
            raise bogus(f"wildcard answer for {qname} without proof that {qname} does not exist")
        if is_alias:
            return _target(rrset)
        records = tuple(rdata.to_text() for rdata in list(rrset)[:MAX_RECORDS])
        return ValidatedAnswer(
            status=DnssecStatus.SECURE,
            reason=f"signed by {zone}",
            dns_status=DnsStatus.OK,
            records=records,
        )
    nsecs = signed_nsecs(response, zone, keys, now)
    what = dns.rdatatype.to_text(qtype)
    if response.rcode() == dns.rcode.NXDOMAIN:
        if proves_nxdomain(nsecs, qname):
            return _proven(DnsStatus.NXDOMAIN, f"NSEC in {zone} proves {qname} does not exist")
        raise _no_proof(response, f"{qname} does not exist", DnsStatus.NXDOMAIN)
    if proves_nodata(nsecs, qname, qtype):
        return _proven(DnsStatus.NO_DATA, f"NSEC in {zone} proves {qname} has no {what}")
    raise _no_proof(response, f"{qname} has no {what}", DnsStatus.NO_DATA)


def _judge_delegation(
    response: dns.message.Message,
    child: dns.name.Name,
    zone: dns.name.Name,
    keys: dns.rrset.RRset,
    now: float,
) -> dns.rrset.RRset | None:
    """The DS set of a secure cut at ``child``, or ``None`` if ``child`` is in ``zone``.

    Raises :class:`ProvenInsecure` for a proven-unsigned delegation, a BOGUS verdict otherwise.
    """
    ds = _get(response.answer, response, child, dns.rdatatype.DS)
    if ds is not None:
        verify_signed(ds, signatures(response.answer, response, ds), zone, keys, now)
        if not any(usable_ds(d) for d in ds):
            # RFC 4035 §5.2: only unsupported algorithms, so treated as unsigned.
            raise ProvenInsecure(f"DS for {child} uses only unsupported algorithms")
        return ds
    cname = _get(response.answer, response, child, dns.rdatatype.CNAME)
    if cname is not None:  # an alias is never a zone cut (RFC 1034 §3.6.2)
        verify_signed(cname, signatures(response.answer, response, cname), zone, keys, now)
        return None
    nsecs = signed_nsecs(response, zone, keys, now)
    own = [nsec for owner, nsec in nsecs if owner == child]
    if own and dns.rdatatype.DS not in nsec_types(own[0]):
        types = nsec_types(own[0])
        if dns.rdatatype.NS in types and dns.rdatatype.SOA not in types:
            raise ProvenInsecure(f"no DS for {child}: unsigned delegation")
        return None
    if proves_nodata(nsecs, child, dns.rdatatype.DS):
        return None  # an empty non-terminal
    raise _no_proof(response, f"{child} has no DS", None)


def _no_proof(
    response: dns.message.Message, claim: str, dns_status: DnsStatus | None
) -> ValidationEnd:
    """INDETERMINATE if an NSEC3 proof (not checked here) was offered, else BOGUS."""
    if any(r.rdtype == dns.rdatatype.NSEC3 for r in response.authority):
        return indeterminate(f"NSEC3 proof that {claim} is not checked", dns_status)
    return bogus(f"no NSEC proof that {claim}", dns_status)


def _insecure_answer(
    response: dns.message.Message,
    qname: dns.name.Name,
    qtype: dns.rdatatype.RdataType,
    reason: str,
    chain: list[str],
) -> ValidatedAnswer:
    """The unvalidated answer below an unsigned delegation, aliases followed in it."""
    name = qname
    for _ in range(MAX_CNAMES + 1):
        rrset = _get(response.answer, response, name, qtype)
        if rrset is not None:
            records = tuple(rdata.to_text() for rdata in list(rrset)[:MAX_RECORDS])
            answer = ValidatedAnswer(
                status=DnssecStatus.INSECURE,
                reason=reason,
                dns_status=DnsStatus.OK,
                records=records,
            )
            return _with(answer, chain=chain)
        cname = _get(response.answer, response, name, dns.rdatatype.CNAME)
        if cname is None or qtype == dns.rdatatype.CNAME:
            break
        name = _target(cname)
        chain.append(name.to_text(omit_final_dot=True))
    answer = ValidatedAnswer(
        status=DnssecStatus.INSECURE, reason=reason, dns_status=_dns_status(response)
    )
    return _with(answer, chain=chain)


def _dns_status(response: dns.message.Message) -> DnsStatus:
    """What the answer said: records, no such name, or no records of the type."""
    if response.answer:
        return DnsStatus.OK
    nxdomain = response.rcode() == dns.rcode.NXDOMAIN
    return DnsStatus.NXDOMAIN if nxdomain else DnsStatus.NO_DATA


def _proven(dns_status: DnsStatus, reason: str) -> ValidatedAnswer:
    return ValidatedAnswer(status=DnssecStatus.SECURE, reason=reason, dns_status=dns_status)


def _with(
    answer: ValidatedAnswer,
    *,
    chain: list[str],
    reason: str | None = None,
    dns_status: DnsStatus | None = None,
) -> ValidatedAnswer:
    return ValidatedAnswer(
        status=answer.status,
        reason=answer.reason if reason is None else reason,
        dns_status=answer.dns_status or dns_status,
        records=answer.records,
        cname_chain=tuple(chain),
    )


def _get(
    section: list[dns.rrset.RRset],
    message: dns.message.Message,
    name: dns.name.Name,
    rdtype: dns.rdatatype.RdataType,
) -> dns.rrset.RRset | None:
    return message.get_rrset(section, name, dns.rdataclass.IN, rdtype)


def _target(cname: dns.rrset.RRset) -> dns.name.Name:
    rdata = cname[0]
    assert isinstance(rdata, CNAME)  # dnspython parsed it as one
    return rdata.target


"""IANA's root KSK-2017 (key tag 20326) and KSK-2024 (key tag 38696), as DS records."""
