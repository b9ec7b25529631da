"""DNSSEC validation done here, from a trust anchor down to the answer (RFC 4033-4035).

`validate` mode takes nobody's word for it: it asks the injected name servers, through the
run's one :class:`~.client.DnsClient`, for the DNSKEY and DS records along the way (DO and
CD set, so a validating resolver hands over even data it judges bogus) and checks every
signature with dnspython. The outcome is one of RFC 4033 §5's four states, with a one-line
reason a user can act on.

The walk, for a name below an anchor: validate the anchor zone's DNSKEY set with the
anchor; then, label by label, ask for the DS of the next name down. A signed DS is a
secure zone cut: fetch that zone's DNSKEY set and validate it with the DS. A signed NSEC or
NSEC3 proving no DS where the name is a delegation (NS, no SOA), or an NSEC3 opt-out span
covering it, is an insecure cut and ends the walk. Any other proven absence means the name
is inside the current zone. Last, the answer (or the proof that there is none) must
be signed by the zone the walk ended in.

This module asks; the rest only judges: trust anchors are read in dns/anchors.py, each
response is judged in dns/answers.py, with signatures in dns/signatures.py and denial
proofs in dns/nsec.py and dns/nsec3.py.
Bounds, on purpose: at most :data:`MAX_ZONE_CUTS` zone cuts, :data:`MAX_QUERIES` queries
and :data:`MAX_CNAMES` aliases per question, each query bounded by the client's timeout.
"""

from __future__ import annotations

from datetime import UTC, datetime

import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset
from dns.rdtypes.ANY.DNSKEY import DNSKEY
from dns.rdtypes.ANY.DS import DS

from .anchors import TrustAnchors
from .answers import (
    MAX_CNAMES,
    get_rrset,
    insecure_answer,
    judge_answer,
    judge_delegation,
    response_status,
)
from .client import DnsClient
from .signatures import ds_matches, signatures, verify_signed
from .verdict import (
    DnssecStatus,
    ProvenInsecure,
    UncheckedProof,
    ValidatedAnswer,
    ValidationEnd,
    bogus,
    indeterminate,
    with_chain,
)

MAX_ZONE_CUTS = 10
"""Secure zone cuts followed below a trust anchor; real names have two to four."""
MAX_QUERIES = 48
"""Queries for one question, aliases included: the walk is bounded whatever servers say."""


async def validated_query(
    client: DnsClient,
    name: str,
    rdtype: str,
    anchors: TrustAnchors,
    *,
    now: datetime | None = None,
) -> ValidatedAnswer:
    """Ask for ``rdtype`` records of ``name`` and validate them from ``anchors`` down.

    Only the client's name servers are asked, each query bounded by its timeout. Never
    raises for what the servers do: failures are INDETERMINATE or BOGUS, with the reason.
    """
    moment = (now or datetime.now(UTC)).timestamp()
    validation = _Validation(client, anchors, now=moment)
    try:
        return await validation.run(dns.name.from_text(name), dns.rdatatype.from_text(rdtype))
    except ValidationEnd as verdict:
        return verdict.answer


class _Validation:
    """One question's walk: the keys validated so far, and the query budget."""

    def __init__(self, client: DnsClient, anchors: TrustAnchors, *, now: float) -> None:
        self._client = client
        self._anchors = anchors
        self._now = now
        self._queries = 0
        self._keys: dict[dns.name.Name, dns.rrset.RRset] = {}  # validated DNSKEY sets

    async def run(self, qname: dns.name.Name, qtype: dns.rdatatype.RdataType) -> ValidatedAnswer:
        chain: list[str] = []
        seen = {qname}
        for _ in range(MAX_CNAMES + 1):
            # A DS set lives in, and is signed by, the parent zone (RFC 4035 §2.4).
            above = qtype == dns.rdatatype.DS and qname != dns.name.root
            try:
                walked = await self._secure_zone(qname.parent() if above else qname)
            except ProvenInsecure as insecure:
                response = await self._fetch(qname, qtype)
                return insecure_answer(response, qname, qtype, insecure.reason, chain)
            anchor, zone, keys, unchecked = walked
            response = await self._fetch(qname, qtype)
            try:
                judged = judge_answer(response, qname, qtype, zone, keys, self._now)
            except ValidationEnd as verdict:  # the answer came, but does not validate
                if unchecked is not None:  # perhaps from below an unsigned cut we could not see
                    return insecure_answer(response, qname, qtype, unchecked, chain)
                return with_chain(verdict.answer, chain=chain, dns_status=response_status(response))
            if isinstance(judged, ValidatedAnswer):
                reason = judged.reason
                if judged.status is DnssecStatus.SECURE:
                    reason = f"{reason}; chain of trust from {anchor}"
                return with_chain(judged, reason=reason, chain=[*chain, *judged.cname_chain])
            if judged in seen:
                return with_chain(bogus(f"CNAME loop at {judged}").answer, chain=chain)
            seen.add(judged)
            chain.append(judged.to_text(omit_final_dot=True))
            qname = judged
        return with_chain(indeterminate(f"more than {MAX_CNAMES} CNAMEs").answer, chain=chain)

    async def _secure_zone(
        self, target: dns.name.Name
    ) -> tuple[dns.name.Name, dns.name.Name, dns.rrset.RRset, str | None]:
        """The anchor, the deepest secure zone holding ``target``, its validated keys, and
        why a possible cut was not checked (``None`` if every one was)."""
        anchor = self._anchors.closest(target)
        if anchor is None:
            raise indeterminate(f"no trust anchor covers {target}")
        zone = anchor.zone
        keys = await self._dnskeys(zone, anchor.ds, anchor.dnskeys, source="the trust anchor")
        cuts, unchecked = 0, None
        for depth in range(len(zone) + 1, len(target) + 1):
            child = target.split(depth)[1]
            response = await self._fetch(child, dns.rdatatype.DS)
            if response.rcode() == dns.rcode.NXDOMAIN:
                break  # nothing below exists; the answer's own proof must show it
            try:
                ds = judge_delegation(response, child, zone, keys, self._now)
            except UncheckedProof as costly:
                # Not a signed cut (there is no DS), so stay in the zone: an answer its keys
                # sign is secure whatever lies between, as for a resolver that follows
                # referrals; any other answer ends INSECURE for this reason.
                unchecked = unchecked or costly.reason
                continue
            except ValidationEnd:
                if unchecked is None:
                    raise
                raise ProvenInsecure(unchecked) from None  # below the cut we could not see
            if ds is None:
                continue
            cuts += 1
            if cuts > MAX_ZONE_CUTS:
                raise indeterminate(f"more than {MAX_ZONE_CUTS} zone cuts below {anchor.zone}")
            ds_records = tuple(d for d in ds if isinstance(d, DS))
            zone, keys = child, await self._dnskeys(child, ds_records, (), source="the DS")
        return anchor.zone, zone, keys, unchecked

    async def _dnskeys(
        self, zone: dns.name.Name, ds: tuple[DS, ...], trusted: tuple[DNSKEY, ...], *, source: str
    ) -> dns.rrset.RRset:
        """The zone's DNSKEY set, validated by a key that ``ds`` or ``trusted`` vouches for."""
        if zone in self._keys:
            return self._keys[zone]
        response = await self._fetch(zone, dns.rdatatype.DNSKEY)
        dnskeys = get_rrset(response, zone, dns.rdatatype.DNSKEY)
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
        """The whole response to one question, DO and CD set; NOERROR or NXDOMAIN only."""
        self._queries += 1
        if self._queries > MAX_QUERIES:
            raise indeterminate(f"gave up after {MAX_QUERIES} queries")
        fetched = await self._client.fetch_message(name, rdtype, dnssec=True)
        if fetched.message is None:
            what = f"{name} {dns.rdatatype.to_text(rdtype)}"
            raise indeterminate(f"{fetched.detail} asking for {what}", fetched.status)
        return fetched.message
