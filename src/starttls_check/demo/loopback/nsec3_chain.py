"""NSEC3 for the loopback zones: the chain a signer adds (RFC 5155 §7.1), and the records
a server picks to deny a name (RFC 5155 §7.2).

dnspython signs with NSEC only (2.9: ``sign_zone(nsec3=...)`` raises NotImplementedError),
so the chain is built here from its primitives: every authoritative name and empty
non-terminal hashed with :func:`dns.dnssec.nsec3_hash`, the hashes sorted, each record
pointing to the next and listing the types at its name. With opt-out, delegations without
DS are left out, so their spans get the opt-out flag instead (RFC 5155 §6).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass

import dns.dnssec
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.zone
from dns.dnssectypes import NSEC3Hash
from dns.rdtypes.ANY.NSEC3 import OPTOUT
from dns.rdtypes.ANY.NSEC3PARAM import NSEC3PARAM

IN = dns.rdataclass.IN


@dataclass(frozen=True, slots=True, kw_only=True)
class Nsec3Params:
    """How a zone hashes its names (RFC 5155 §3.1); RFC 9276 §3.1 advises no salt and no
    extra iterations, which is the default."""

    salt: bytes = b""
    iterations: int = 0
    opt_out: bool = False


def signed_names(
    zone: dns.zone.Zone,
) -> Iterator[tuple[dns.name.Name, tuple[dns.rdatatype.RdataType, ...]]]:
    """Each name with data the zone signs, and which types: all at authoritative names,
    only DS at a delegation, nothing below one (glue belongs to the child)."""
    for name in sorted(zone.nodes):
        if _below_cut(zone, name):
            continue
        node = zone.nodes[name]
        kinds = [r.rdtype for r in node.rdatasets if r.rdtype != dns.rdatatype.RRSIG]
        if _is_cut(zone, name):
            kinds = [k for k in kinds if k == dns.rdatatype.DS]
        yield name, tuple(kinds)


def add_nsec3_chain(zone: dns.zone.Zone, params: Nsec3Params, ttl: int) -> None:
    """Add NSEC3PARAM at the apex and the NSEC3 chain; call before signing, after every
    other record (including the DNSKEY set) is in place."""
    origin = _origin(zone)
    salt = params.salt.hex() or "-"
    # RFC 5155 §4.1.2: the flags of NSEC3PARAM are zero; opt-out is signalled per record.
    nsec3param = f"{NSEC3Hash.SHA1} 0 {params.iterations} {salt}"
    with zone.writer() as txn:
        txn.add(origin, ttl, dns.rdata.from_text(IN, dns.rdatatype.NSEC3PARAM, nsec3param))
    types = _chain_types(zone, params)
    hashed = sorted((_hash(name, params), name) for name in types)
    flags = OPTOUT if params.opt_out else 0
    with zone.writer() as txn:
        for index, (digest, name) in enumerate(hashed):
            following = _label(hashed[(index + 1) % len(hashed)][0])
            kinds = " ".join(sorted(dns.rdatatype.to_text(k) for k in types[name]))
            text = f"{NSEC3Hash.SHA1} {flags} {params.iterations} {salt} {following} {kinds}"
            record = dns.rdata.from_text(IN, dns.rdatatype.NSEC3, text)
            txn.add(_owner(digest, origin), ttl, record)


def nsec3_denial(zone: dns.zone.Zone, name: dns.name.Name, *, exists: bool) -> list[dns.name.Name]:
    """The owners of the NSEC3 records that deny ``name`` (NXDOMAIN) or its type (NODATA).

    NODATA: the record matching the name, if the chain has one (RFC 5155 §7.2.3-§7.2.4);
    otherwise, as for NXDOMAIN, a closest encloser proof (the record matching the closest
    encloser, the one covering the next closer name), and for NXDOMAIN also the record
    covering the wildcard at the closest encloser (§7.2.1-§7.2.2, §7.2.5).
    """
    params, chain = _params(zone), _chain(zone)
    if not chain:
        return []
    owners = dict(chain)
    if exists and _hash(name, params) in owners:
        return [owners[_hash(name, params)]]
    encloser, next_closer = name.parent(), name
    while _hash(encloser, params) not in owners and encloser != zone.origin:
        encloser, next_closer = encloser.parent(), encloser
    proof = [owners.get(_hash(encloser, params)), covering_owner(zone, next_closer)]
    if not exists:
        proof.append(covering_owner(zone, dns.name.from_text("*", encloser)))
    return list(dict.fromkeys(owner for owner in proof if owner is not None))


def covering_owner(zone: dns.zone.Zone, name: dns.name.Name) -> dns.name.Name:
    """The owner of the NSEC3 record whose span holds the hash of ``name`` (not itself in
    the chain); the last record's span wraps around to the first."""
    chain, digest = _chain(zone), _hash(name, _params(zone))
    before = [owner for hashed, owner in chain if hashed < digest]
    return before[-1] if before else chain[-1][1]


def owner_for(zone: dns.zone.Zone, name: dns.name.Name) -> dns.name.Name:
    """The NSEC3 owner name that stands for ``name`` in ``zone`` (whether or not it exists)."""
    return _owner(_hash(name, _params(zone)), _origin(zone))


def _chain_types(
    zone: dns.zone.Zone, params: Nsec3Params
) -> dict[dns.name.Name, set[dns.rdatatype.RdataType]]:
    """Each name in the chain and the types its NSEC3 lists; empty for empty non-terminals."""
    origin = _origin(zone)
    types: dict[dns.name.Name, set[dns.rdatatype.RdataType]] = {}
    for name, signed in signed_names(zone):
        node_types = {r.rdtype for r in zone.nodes[name].rdatasets}
        if params.opt_out and _is_cut(zone, name) and dns.rdatatype.DS not in node_types:
            continue  # RFC 5155 §7.1: an unsigned delegation may be left to the opt-out span
        types[name] = node_types | ({dns.rdatatype.RRSIG} if signed else set())
    for name in list(types):
        while name != origin:  # RFC 5155 §7.1: empty non-terminals get a record too
            name = name.parent()
            types.setdefault(name, set())
    return types


def _chain(zone: dns.zone.Zone) -> list[tuple[bytes, dns.name.Name]]:
    """The zone's NSEC3 owner names with their hashes, in hash order."""
    return sorted(
        (base64.b32hexdecode(owner.labels[0], casefold=True), owner)
        for owner, node in zone.nodes.items()
        if node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.NSEC3) is not None
    )


def _params(zone: dns.zone.Zone) -> Nsec3Params:
    rdataset = zone.find_rdataset(_origin(zone), dns.rdatatype.NSEC3PARAM)
    record = rdataset[0]
    assert isinstance(record, NSEC3PARAM)
    return Nsec3Params(salt=record.salt, iterations=record.iterations)


def _hash(name: dns.name.Name, params: Nsec3Params) -> bytes:
    text = dns.dnssec.nsec3_hash(name, params.salt, params.iterations, NSEC3Hash.SHA1)
    return base64.b32hexdecode(text)


def _label(digest: bytes) -> str:
    return base64.b32hexencode(digest).decode("ascii").lower()


def _owner(digest: bytes, origin: dns.name.Name) -> dns.name.Name:
    return dns.name.from_text(_label(digest), origin)


def _origin(zone: dns.zone.Zone) -> dns.name.Name:
    assert zone.origin is not None  # the loopback zones are built with one
    return zone.origin


def _is_cut(zone: dns.zone.Zone, name: dns.name.Name) -> bool:
    node = zone.nodes[name]
    has_ns = node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.NS) is not None
    return name != zone.origin and has_ns


def _below_cut(zone: dns.zone.Zone, name: dns.name.Name) -> bool:
    ancestor = name
    while ancestor != zone.origin:
        ancestor = ancestor.parent()
        if ancestor in zone.nodes and _is_cut(zone, ancestor):
            return True
    return False
