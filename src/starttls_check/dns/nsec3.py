"""NSEC3 proofs that a name or a type does not exist (RFC 5155 §8), with RFC 9276's limits.

Pure: judges the authority section of a response already received. Names are hashed with
:func:`dns.dnssec.nsec3_hash`; an NSEC3 record *matches* a name whose hash is its owner
label and *covers* one whose hash falls strictly between its owner and its next hash (the
last record of the chain wraps to the first).

The input is hostile, so the work is bounded before any hashing: at most
:data:`MAX_RECORDS` records are looked at, they must share one set of parameters (RFC 5155
§8.2 allows calling anything else bogus), so each name is hashed once, and at most
:data:`MAX_ITERATIONS` extra iterations are done per hash. A proof asking for more is
*insecure*, not bogus (RFC 9276 §3.2): its records are signed and may be true, but the cost
is declined, as validating resolvers decline it; answers the zone signs stay secure (see
dns/dnssec.py). The signatures are checked first, so an attacker cannot raise the count.

Proofs that hold only because of an opt-out span (RFC 5155 §6) end as INSECURE, raised as
:class:`~.verdict.ProvenInsecure`: such a span may hide an unsigned delegation, so
it proves no more than that.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

import dns.dnssec
import dns.message
import dns.name
import dns.rdatatype
import dns.rrset
from dns.dnssectypes import NSEC3Hash
from dns.rdtypes.ANY.NSEC3 import NSEC3, OPTOUT

from .nsec import bitmap_types
from .signatures import verify_section
from .verdict import ProvenInsecure, UncheckedProof, bogus

MAX_ITERATIONS = 100
"""Extra hash iterations accepted; above this the proof is insecure (RFC 9276 §3.2). 0 is
what RFC 9276 §3.1 asks of signers; validating resolvers draw their own line, 50 to 150."""
MAX_RECORDS = 16
"""NSEC3 records looked at in one response; a proof needs at most three."""
_SHA1_LENGTH = 20


@dataclass(frozen=True, slots=True)
class Encloser:
    """A closest encloser proof (RFC 5155 §7.2.1): ``name`` exists, ``next_closer`` (one
    label longer, towards the question) does not, shown by ``covering``."""

    name: dns.name.Name
    next_closer: dns.name.Name
    covering: NSEC3


class Nsec3Chain:
    """The validated NSEC3 records of one response, in one zone, with one set of parameters."""

    def __init__(self, zone: dns.name.Name, records: list[tuple[bytes, NSEC3]]) -> None:
        first = records[0][1]
        self.zone = zone
        self._records = records
        self._salt, self._iterations = first.salt, first.iterations
        self._hashes: dict[dns.name.Name, bytes] = {}

    def digest(self, name: dns.name.Name) -> bytes:
        """The name's hash with the zone's salt and iterations (RFC 5155 §5)."""
        if name not in self._hashes:
            text = dns.dnssec.nsec3_hash(name, self._salt, self._iterations, NSEC3Hash.SHA1)
            self._hashes[name] = base64.b32hexdecode(text)
        return self._hashes[name]

    def matching(self, name: dns.name.Name) -> NSEC3 | None:
        digest = self.digest(name)
        return next((record for owner, record in self._records if owner == digest), None)

    def covering(self, name: dns.name.Name) -> NSEC3 | None:
        digest = self.digest(name)
        return next((r for owner, r in self._records if covers(owner, r.next, digest)), None)

    def closest_encloser(self, qname: dns.name.Name) -> Encloser | None:
        """RFC 5155 §8.3: the longest ancestor of ``qname`` with a matching record whose
        child towards ``qname`` is covered; ``None`` if the response holds no such proof."""
        if not qname.is_subdomain(self.zone):
            return None
        name, below, covering = qname, None, None
        while True:
            match = self.matching(name)
            if match is not None:
                if below is None or covering is None:
                    return None  # the name exists, or the next closer name is not covered
                if not _may_enclose(match):
                    return None  # RFC 5155 §8.3: a record from the parent side of a cut
                return Encloser(name=name, next_closer=below, covering=covering)
            if name == self.zone:
                return None
            below, covering = name, self.covering(name)
            name = name.parent()


def nsec3_chain(
    response: dns.message.Message, zone: dns.name.Name, keys: dns.rrset.RRset, now: float
) -> Nsec3Chain | None:
    """The response's NSEC3 records in ``zone``, signatures checked; ``None`` if it has none.

    Raises BOGUS when none is usable or their parameters differ, and
    :class:`UncheckedProof` (INSECURE) when the iteration count is over
    :data:`MAX_ITERATIONS`.
    """
    rrsets = verify_section(response, dns.rdatatype.NSEC3, zone, keys, now)
    offered = [
        (rrset.name, record)
        for rrset in rrsets
        if len(rrset.name) == len(zone) + 1  # one hash label above the apex (RFC 5155 §3)
        for record in rrset
        if isinstance(record, NSEC3)
    ][:MAX_RECORDS]
    if not offered:
        return None
    # RFC 5155 §8.1-§8.2: unknown hash algorithms and unknown flags are ignored.
    usable = [
        (digest, record)
        for owner, record in offered
        if record.algorithm == NSEC3Hash.SHA1
        and record.flags in (0, OPTOUT)
        and len(record.next) == _SHA1_LENGTH
        and (digest := _owner_digest(owner)) is not None
    ]
    if not usable:
        what = ", ".join(sorted({f"{r.algorithm}/{r.flags}" for _, r in offered}))
        raise bogus(
            f"NSEC3 in {zone} uses only unknown hash algorithms or flags ({what}), "
            "which RFC 5155 §8.1-§8.2 says to ignore"
        )
    if len({(r.salt, r.iterations) for _, r in usable}) > 1:
        raise bogus(f"NSEC3 records in {zone} differ in salt or iterations (RFC 5155 §8.2)")
    iterations = usable[0][1].iterations
    if iterations > MAX_ITERATIONS:
        raise UncheckedProof(
            f"NSEC3 in {zone} uses {iterations} hash iterations, more than {MAX_ITERATIONS}: "
            "treated as insecure (RFC 9276 §3.2)"
        )
    return Nsec3Chain(zone, usable)


def proves_nodata(chain: Nsec3Chain, qname: dns.name.Name, qtype: int) -> bool:
    """RFC 5155 §8.5-§8.6: the record matching the name lacks the type and CNAME.

    For DS, a name without a matching record may be an unsigned delegation in an opt-out
    span: that raises :class:`ProvenInsecure` (RFC 5155 §8.6)."""
    match = chain.matching(qname)
    if match is not None:
        types = bitmap_types(match)
        if qtype != dns.rdatatype.DS and _is_delegation(types):
            return False  # the parent side of a cut denies nothing but DS (RFC 5155 §8.1)
        return not {qtype, dns.rdatatype.CNAME} & types
    if qtype == dns.rdatatype.DS:
        _opt_out(chain, chain.closest_encloser(qname), f"no DS for {qname}")
    return False


def proves_nxdomain(chain: Nsec3Chain, qname: dns.name.Name) -> bool:
    """RFC 5155 §8.4: a closest encloser proof, and the wildcard at the encloser covered.

    Raises :class:`ProvenInsecure` if the next closer name is in an opt-out span."""
    encloser = chain.closest_encloser(qname)
    if encloser is None or chain.covering(dns.name.from_text("*", encloser.name)) is None:
        return False
    _opt_out(chain, encloser, f"{qname} does not exist")
    return True


def delegation_types(chain: Nsec3Chain, child: dns.name.Name) -> frozenset[int] | None:
    """The types listed for ``child``, or ``None`` if no record matches it.

    Without a match, a closest encloser proof in an opt-out span is an unsigned delegation
    (RFC 5155 §8.9): :class:`ProvenInsecure`."""
    match = chain.matching(child)
    if match is not None:
        return bitmap_types(match)
    _opt_out(chain, chain.closest_encloser(child), f"no DS for {child}")
    return None


def proves_wildcard(chain: Nsec3Chain, qname: dns.name.Name, labels: int) -> bool:
    """RFC 5155 §8.8: an answer expanded from the wildcard at the name with ``labels``
    labels needs the next closer name covered. An opt-out span: :class:`ProvenInsecure`."""
    next_closer = qname.split(labels + 2)[1]  # the RRSIG labels count omits the root
    covering = chain.covering(next_closer)
    if covering is None:
        return False
    encloser = Encloser(name=next_closer.parent(), next_closer=next_closer, covering=covering)
    _opt_out(chain, encloser, f"the wildcard answer for {qname}")
    return True


def covers(owner: bytes, following: bytes, digest: bytes) -> bool:
    """``owner < digest < following`` in hash order; the last record wraps to the first,
    and a chain of one record covers every hash but its own."""
    if owner < following:
        return owner < digest < following
    if owner == following:
        return digest != owner
    return digest > owner or digest < following


def _opt_out(chain: Nsec3Chain, encloser: Encloser | None, claim: str) -> None:
    """Raise INSECURE if ``encloser`` is a proof whose covering record is opt-out."""
    if encloser is not None and encloser.covering.flags & OPTOUT:
        raise ProvenInsecure(
            f"{claim}: an opt-out NSEC3 in {chain.zone} covers {encloser.next_closer}, "
            "which may be an unsigned delegation (RFC 5155 §6)"
        )


def _may_enclose(record: NSEC3) -> bool:
    """RFC 5155 §8.3: no DNAME, and NS only at an apex (with SOA)."""
    types = bitmap_types(record)
    return dns.rdatatype.DNAME not in types and not _is_delegation(types)


def _is_delegation(types: frozenset[int]) -> bool:
    return dns.rdatatype.NS in types and dns.rdatatype.SOA not in types


def _owner_digest(owner: dns.name.Name) -> bytes | None:
    """The hash an owner label spells in base32hex (RFC 5155 §3), if it is one."""
    label = owner.labels[0]
    if len(label) != 32:  # 20 octets of SHA-1 in base32hex
        return None
    try:
        return base64.b32hexdecode(label, casefold=True)
    except binascii.Error:
        return None
