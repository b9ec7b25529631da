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

Limits, on purpose: NSEC only (NSEC3 proofs end INDETERMINATE: not checked, never
guessed); wildcard answers need the NSEC proving the name itself does not exist; at most
:data:`MAX_ZONE_CUTS` zone cuts, :data:`MAX_QUERIES` queries and :data:`MAX_CNAMES`
aliases per question, each query bounded by ``timeout``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

import dns.asyncquery
import dns.dnssec
import dns.dnssecalgs
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.rrset
import dns.zonefile
from dns.dnssectypes import Algorithm, DSDigest
from dns.rdtypes.ANY.CNAME import CNAME
from dns.rdtypes.ANY.DNSKEY import DNSKEY
from dns.rdtypes.ANY.DS import DS
from dns.rdtypes.ANY.NSEC import NSEC
from dns.rdtypes.ANY.RRSIG import RRSIG
from dns.rdtypes.dnskeybase import Flag

from ..model.dns import DnsStatus
from .client import MAX_RECORDS, Nameserver

MAX_ZONE_CUTS = 10
"""Secure zone cuts followed below a trust anchor; real names have two to four."""
MAX_QUERIES = 48
"""Queries for one question, aliases included: the walk is bounded whatever servers say."""
MAX_CNAMES = 8
"""Aliases followed from the name asked for."""
_PAYLOAD = 1232  # the 2020 DNS flag day's safe UDP size; TCP when the answer is larger
# RFC 8624 §3.1: MUST NOT validate; such signatures count as unsupported, like unknown ones.
_UNUSABLE_ALGORITHMS = frozenset({Algorithm.RSAMD5, Algorithm.DSA, Algorithm.DSANSEC3SHA1})
_USABLE_DIGESTS = frozenset({DSDigest.SHA1, DSDigest.SHA256, DSDigest.SHA384})

ROOT_ANCHORS_TEXT = """\
; The IANA root zone trust anchors, from https://data.iana.org/root-anchors/root-anchors.xml
; (RSASHA256, SHA-256 digests). KSK-2017 has signed the root since the 2018 rollover;
; KSK-2024 was published for the next rollover. Both are trusted, as IANA advises.
. IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D
. IN DS 38696 8 2 683D2D0ACB8C9B712A1948B27F741219298D0A450D612C483AF444A4C0FB2B16
"""


class DnssecStatus(StrEnum):
    """RFC 4033 §5 / RFC 4035 §4.3: what validation concluded about one answer."""

    SECURE = "secure"  # an unbroken chain of signatures from a trust anchor
    INSECURE = "insecure"  # proven unsigned: a delegation without DS below the anchor
    BOGUS = "bogus"  # should be signed, but a signature or proof is missing or wrong
    INDETERMINATE = "indeterminate"  # could not tell: no anchor, timeout, server failure


@dataclass(frozen=True, slots=True, kw_only=True)
class TrustAnchor:
    """DS or DNSKEY records taken on trust for one zone."""

    zone: dns.name.Name
    ds: tuple[DS, ...] = ()
    dnskeys: tuple[DNSKEY, ...] = ()


@dataclass(frozen=True, slots=True)
class TrustAnchors:
    """The anchors to validate from; the closest enclosing one is used for each name."""

    anchors: tuple[TrustAnchor, ...]

    def closest(self, name: dns.name.Name) -> TrustAnchor | None:
        """The anchor with the longest zone name that ``name`` is in, if any."""
        covering = [a for a in self.anchors if name.is_subdomain(a.zone)]
        return max(covering, key=lambda a: len(a.zone), default=None)


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


def parse_trust_anchors(text: str) -> TrustAnchors:
    """DS or DNSKEY records in zone-file syntax; ``ValueError`` with one line if unusable."""
    try:
        rrsets = dns.zonefile.read_rrsets(text, rdclass=None, default_ttl=0)
    except (dns.exception.DNSException, ValueError) as exc:
        raise ValueError(f"trust anchors: {_one_line(exc)}") from exc
    by_zone: dict[dns.name.Name, tuple[list[DS], list[DNSKEY]]] = {}
    for rrset in rrsets:
        ds, keys = by_zone.setdefault(rrset.name, ([], []))
        for rdata in rrset:
            if isinstance(rdata, DS):
                ds.append(_usable_anchor_ds(rrset.name, rdata))
            elif isinstance(rdata, DNSKEY):
                keys.append(_usable_anchor_key(rrset.name, rdata))
            else:
                kind = dns.rdatatype.to_text(rrset.rdtype)
                raise ValueError(f"trust anchors: {rrset.name} {kind}: only DS or DNSKEY")
    if not by_zone:
        raise ValueError("trust anchors: no DS or DNSKEY records found")
    return TrustAnchors(
        tuple(TrustAnchor(zone=z, ds=tuple(d), dnskeys=tuple(k)) for z, (d, k) in by_zone.items())
    )


def _usable_anchor_ds(zone: dns.name.Name, ds: DS) -> DS:
    if not _usable_ds(ds):
        raise ValueError(
            f"trust anchors: {zone} DS {ds.key_tag}: algorithm {ds.algorithm} or digest "
            f"type {ds.digest_type} is not supported"
        )
    return ds


def _usable_anchor_key(zone: dns.name.Name, key: DNSKEY) -> DNSKEY:
    if not key.flags & Flag.ZONE or key.flags & Flag.REVOKE or key.protocol != 3:
        raise ValueError(f"trust anchors: {zone} DNSKEY {key.key_id()} is not a usable zone key")
    if not _usable_algorithm(key.algorithm):
        raise ValueError(f"trust anchors: {zone} DNSKEY algorithm {key.algorithm} not supported")
    return key


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
    except _Verdict as verdict:
        return verdict.answer


class _Verdict(Exception):
    """Ends validation early with a result."""

    def __init__(self, answer: ValidatedAnswer) -> None:
        super().__init__(answer.reason)
        self.answer = answer


class _Insecure(Exception):
    """The walk met a proven-unsigned delegation: the answer is fetched, not validated."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _bogus(reason: str, dns_status: DnsStatus | None = None) -> _Verdict:
    return _Verdict(
        ValidatedAnswer(status=DnssecStatus.BOGUS, reason=reason, dns_status=dns_status)
    )


def _indeterminate(reason: str, dns_status: DnsStatus | None = None) -> _Verdict:
    answer = ValidatedAnswer(
        status=DnssecStatus.INDETERMINATE, reason=reason, dns_status=dns_status
    )
    return _Verdict(answer)


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
            except _Insecure as insecure:
                response = await self._fetch(qname, qtype)
                return _insecure_answer(response, qname, qtype, insecure.reason, chain)
            response = await self._fetch(qname, qtype)
            try:
                judged = _judge_answer(response, qname, qtype, zone, keys, self._now)
            except _Verdict as verdict:  # the answer came, but does not validate
                return _with(verdict.answer, chain=chain, dns_status=_dns_status(response))
            if isinstance(judged, ValidatedAnswer):
                reason = f"{judged.reason}; chain of trust from {anchor}"
                return _with(judged, reason=reason, chain=chain)
            if judged in seen:
                return _with(_bogus(f"CNAME loop at {judged}").answer, chain=chain)
            seen.add(judged)
            chain.append(judged.to_text(omit_final_dot=True))
            qname = judged
        return _with(_indeterminate(f"more than {MAX_CNAMES} CNAMEs").answer, chain=chain)

    async def _secure_zone(
        self, target: dns.name.Name
    ) -> tuple[dns.name.Name, dns.name.Name, dns.rrset.RRset]:
        """The anchor, the deepest secure zone holding ``target``, and its validated keys."""
        anchor = self._anchors.closest(target)
        if anchor is None:
            raise _indeterminate(f"no trust anchor covers {target}")
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
                raise _indeterminate(f"more than {MAX_ZONE_CUTS} zone cuts below {anchor.zone}")
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
            raise _bogus(f"no DNSKEY for {zone}, though {source} says it is signed")
        vouched = [k for k in dnskeys if k in trusted or any(_ds_matches(zone, k, d) for d in ds)]
        if not vouched:
            raise _bogus(f"no DNSKEY matches {source} for {zone}")
        # RFC 4035 §5.2: the DNSKEY set must be signed by a key the parent vouches for.
        vouching = dns.rrset.from_rdata_list(zone, dnskeys.ttl, vouched)
        _verify(dnskeys, _sigs(response.answer, response, dnskeys), zone, vouching, self._now)
        self._keys[zone] = dnskeys
        return dnskeys

    async def _fetch(
        self, name: dns.name.Name, rdtype: dns.rdatatype.RdataType
    ) -> dns.message.Message:
        """One question to the first name server that answers it; NOERROR or NXDOMAIN only."""
        self._queries += 1
        if self._queries > MAX_QUERIES:
            raise _indeterminate(f"gave up after {MAX_QUERIES} queries")
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
                status, detail = DnsStatus.UNREACHABLE, f"unreachable ({_one_line(exc)})"
            except dns.exception.DNSException as exc:
                status, detail = DnsStatus.MALFORMED, f"malformed answer ({_one_line(exc)})"
            else:
                if response.rcode() in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
                    return response
                status, detail = DnsStatus.SERVFAIL, dns.rcode.to_text(response.rcode())
            # Asked last from now on: a silent server would cost a timeout per query.
            # (dnspython's asyncio UDP ignores ICMP port unreachable, so even a closed
            # port on loopback is a timeout.)
            self._failed.add(server)
        what = f"{name} {dns.rdatatype.to_text(rdtype)}"
        raise _indeterminate(f"{detail} asking for {what}", status)


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
        sig = _verify(rrset, _sigs(response.answer, response, rrset), zone, keys, now)
        if sig.labels < _label_count(qname) and not _covered(
            _nsecs(response, zone, keys, now), qname
        ):
            # RFC 4035 §5.3.4: a wildcard expansion is only valid if the name itself is
            # proven not to exist.
            raise _bogus(f"wildcard answer for {qname} without proof that {qname} does not exist")
        if is_alias:
            return _target(rrset)
        records = tuple(rdata.to_text() for rdata in list(rrset)[:MAX_RECORDS])
        return ValidatedAnswer(
            status=DnssecStatus.SECURE,
            reason=f"signed by {zone}",
            dns_status=DnsStatus.OK,
            records=records,
        )
    nsecs = _nsecs(response, zone, keys, now)
    what = dns.rdatatype.to_text(qtype)
    if response.rcode() == dns.rcode.NXDOMAIN:
        if _proves_nxdomain(nsecs, qname):
            return _proven(DnsStatus.NXDOMAIN, f"NSEC in {zone} proves {qname} does not exist")
        raise _no_proof(response, f"{qname} does not exist", DnsStatus.NXDOMAIN)
    if _proves_nodata(nsecs, qname, qtype):
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

    Raises :class:`_Insecure` for a proven-unsigned delegation, a BOGUS verdict otherwise.
    """
    ds = _get(response.answer, response, child, dns.rdatatype.DS)
    if ds is not None:
        _verify(ds, _sigs(response.answer, response, ds), zone, keys, now)
        if not any(_usable_ds(d) for d in ds):
            # RFC 4035 §5.2: only unsupported algorithms, so treated as unsigned.
            raise _Insecure(f"DS for {child} uses only unsupported algorithms")
        return ds
    cname = _get(response.answer, response, child, dns.rdatatype.CNAME)
    if cname is not None:  # an alias is never a zone cut (RFC 1034 §3.6.2)
        _verify(cname, _sigs(response.answer, response, cname), zone, keys, now)
        return None
    nsecs = _nsecs(response, zone, keys, now)
    own = [nsec for owner, nsec in nsecs if owner == child]
    if own and dns.rdatatype.DS not in _types(own[0]):
        types = _types(own[0])
        if dns.rdatatype.NS in types and dns.rdatatype.SOA not in types:
            raise _Insecure(f"no DS for {child}: unsigned delegation")
        return None
    if _proves_nodata(nsecs, child, dns.rdatatype.DS):
        return None  # an empty non-terminal
    raise _no_proof(response, f"{child} has no DS", None)


def _verify(
    rrset: dns.rrset.RRset,
    sigs: dns.rrset.RRset | None,
    zone: dns.name.Name,
    keys: dns.rrset.RRset,
    now: float,
) -> RRSIG:
    """The RRSIG that validates ``rrset`` with ``zone``'s ``keys``; else a BOGUS verdict."""
    what = f"{rrset.name} {dns.rdatatype.to_text(rrset.rdtype)}"
    if not sigs:
        raise _bogus(f"no RRSIG for {what}")
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
        raise _bogus(f"no DNSKEY of {zone} matches the RRSIG for {what}")
    current = [sig for sig in usable if sig.inception <= now <= sig.expiration]
    if not current:
        latest = max(sig.expiration for sig in usable)
        if latest < now:
            raise _bogus(f"RRSIG for {what} expired {_when(latest)}")
        raise _bogus(f"RRSIG for {what} not valid before {_when(min(s.inception for s in usable))}")
    for sig in current:
        try:
            dns.dnssec.validate_rrsig(rrset, sig, {zone: keys}, now=now)
        except dns.exception.DNSException:  # ValidationFailure, UnsupportedAlgorithm
            continue
        return sig
    raise _bogus(f"signature for {what} does not verify")


def _nsecs(
    response: dns.message.Message, zone: dns.name.Name, keys: dns.rrset.RRset, now: float
) -> list[tuple[dns.name.Name, NSEC]]:
    """The NSEC records of the authority section, each validated with the zone's keys."""
    found: list[tuple[dns.name.Name, NSEC]] = []
    for rrset in response.authority:
        if rrset.rdtype == dns.rdatatype.NSEC and rrset.name.is_subdomain(zone):
            _verify(rrset, _sigs(response.authority, response, rrset), zone, keys, now)
            found.extend((rrset.name, nsec) for nsec in rrset if isinstance(nsec, NSEC))
    return found


def _no_proof(response: dns.message.Message, claim: str, dns_status: DnsStatus | None) -> _Verdict:
    """INDETERMINATE if an NSEC3 proof (not checked here) was offered, else BOGUS."""
    if any(r.rdtype == dns.rdatatype.NSEC3 for r in response.authority):
        return _indeterminate(f"NSEC3 proof that {claim} is not checked", dns_status)
    return _bogus(f"no NSEC proof that {claim}", dns_status)


def _proves_nodata(
    nsecs: list[tuple[dns.name.Name, NSEC]], qname: dns.name.Name, qtype: dns.rdatatype.RdataType
) -> bool:
    """RFC 4035 §3.1.3.1: the name's NSEC lacks the type (and CNAME), or it is empty."""
    for owner, nsec in nsecs:
        if owner == qname:
            return not {qtype, dns.rdatatype.CNAME} & _types(nsec)
    # An empty non-terminal: the NSEC covering it points to a name below it.
    return any(
        _covers(owner, nsec, qname) and nsec.next.is_subdomain(qname) for owner, nsec in nsecs
    )


def _proves_nxdomain(nsecs: list[tuple[dns.name.Name, NSEC]], qname: dns.name.Name) -> bool:
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
    return _covered(nsecs, wildcard)


def _covered(nsecs: list[tuple[dns.name.Name, NSEC]], name: dns.name.Name) -> bool:
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


def _types(nsec: NSEC) -> frozenset[int]:
    """The types in an NSEC bitmap (RFC 4034 §4.1.2)."""
    return frozenset(
        window * 256 + octet * 8 + bit
        for window, bitmap in nsec.windows
        for octet, byte in enumerate(bitmap)
        for bit in range(8)
        if byte & (0x80 >> bit)
    )


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


def _sigs(
    section: list[dns.rrset.RRset], message: dns.message.Message, rrset: dns.rrset.RRset
) -> dns.rrset.RRset | None:
    return message.get_rrset(
        section, rrset.name, dns.rdataclass.IN, dns.rdatatype.RRSIG, rrset.rdtype
    )


def _target(cname: dns.rrset.RRset) -> dns.name.Name:
    rdata = cname[0]
    assert isinstance(rdata, CNAME)  # dnspython parsed it as one
    return rdata.target


def _key_fits(key: object, sig: RRSIG) -> bool:
    """RFC 4035 §5.3.1: algorithm and key tag match, a zone key, protocol 3."""
    return (
        isinstance(key, DNSKEY)
        and key.algorithm == sig.algorithm
        and key.key_id() == sig.key_tag
        and bool(key.flags & Flag.ZONE)
        and key.protocol == 3
    )


def _ds_matches(zone: dns.name.Name, key: object, ds: DS) -> bool:
    if not isinstance(key, DNSKEY) or key.algorithm != ds.algorithm or not _usable_ds(ds):
        return False
    try:
        return bool(dns.dnssec.make_ds(zone, key, ds.digest_type, validating=True) == ds)
    except dns.exception.DNSException:  # UnsupportedAlgorithm, DeniedByPolicy
        return False


def _usable_ds(ds: DS) -> bool:
    return ds.digest_type in _USABLE_DIGESTS and _usable_algorithm(ds.algorithm)


def _usable_algorithm(algorithm: int) -> bool:
    if algorithm in _UNUSABLE_ALGORITHMS:
        return False
    try:
        dns.dnssecalgs.get_algorithm_cls(algorithm)
    except dns.exception.UnsupportedAlgorithm:
        return False
    return True


def _label_count(name: dns.name.Name) -> int:
    """The RRSIG labels value of a name: no root label, no leading ``*`` (RFC 4034 §3.1.3)."""
    return len(name) - 1 - int(name.is_wild())


def _when(timestamp: int) -> str:
    return f"{datetime.fromtimestamp(timestamp, UTC):%Y-%m-%d %H:%M:%S} UTC"


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:300]


# Last in the module: parsing needs the helpers above.
ROOT_ANCHORS = parse_trust_anchors(ROOT_ANCHORS_TEXT)
"""IANA's root KSK-2017 (key tag 20326) and KSK-2024 (key tag 38696), as DS records."""
