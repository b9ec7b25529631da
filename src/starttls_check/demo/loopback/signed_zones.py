"""Signed zones for tests and the demo: keys, signing, DS in the parent, broken cases.

Everything is made fresh in memory with dnspython's signer (ECDSA P-256, algorithm 13,
RFC 6605) and served by :class:`~.dns_server.LoopbackDnsServer`. :func:`build_signed_tree`
builds one small tree under ``test.`` with a child for each outcome a validator must tell
apart: secure, insecure (no DS), tampered data, an expired signature, a DS that matches
no key, and a DS of an algorithm nobody implements; and children signed with NSEC3
(RFC 5155), with and without opt-out, each with an unsigned delegation below it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

import dns.dnssec
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.DNSKEY
import dns.rrset
import dns.zone
from cryptography.hazmat.primitives.asymmetric import ec
from dns.dnssectypes import Algorithm
from dns.rdtypes.ANY.DS import DS
from dns.rdtypes.dnskeybase import Flag

from .nsec3_chain import Nsec3Params, add_nsec3_chain, owner_for, signed_names

PARENT = "test."
"""The signed parent zone; its key is the trust anchor."""

TTL = 3600
SIGNATURE_LIFETIME = timedelta(days=30)
CLOCK_SKEW = timedelta(hours=1)  # inception a little in the past, as signers do

_SOA = "@ {ttl} IN SOA ns.test. hostmaster.test. 1 3600 600 86400 300\n@ NS ns.test.\n"
_CHILD_DATA = (
    "@ MX 10 mx",
    "mx A 127.0.0.1",
    "mx AAAA ::1",
    "alias CNAME mx",
    f"_25._tcp.mx TLSA 3 1 1 {'ab' * 32}",
)
_NSEC3_CHILDREN: dict[str, Nsec3Params] = {
    # A salt and a few iterations, so that a validator that ignores them fails.
    "nsec3": Nsec3Params(salt=b"\xab\xcd", iterations=5),
    "optout": Nsec3Params(opt_out=True),
    "costly": Nsec3Params(iterations=150),  # over RFC 9276's limit: insecure
    "forged3": Nsec3Params(),
}
INSECURE_GRANDCHILDREN = ("insecure.nsec3.test.", "insecure.optout.test.", "insecure.costly.test.")
"""Unsigned zones delegated from NSEC3 zones: listed in the chain without the DS bit, left
to an opt-out span, and behind records too costly to check."""


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A private key and its DNSKEY record."""

    private: ec.EllipticCurvePrivateKey
    dnskey: dns.rdtypes.ANY.DNSKEY.DNSKEY


@dataclass(frozen=True, slots=True, kw_only=True)
class ZoneKeys:
    """A key-signing key (SEP flag; signs the DNSKEY set) and a zone-signing key."""

    ksk: SigningKey
    zsk: SigningKey


@dataclass(frozen=True, slots=True, kw_only=True)
class SignedTree:
    """Zones ready for the loopback server, and the anchor that makes them checkable."""

    zones: tuple[dns.zone.Zone, ...]
    anchor: str
    """The DS of ``test.``'s key-signing key, in zone-file syntax."""
    keys: Mapping[str, ZoneKeys]
    """The keys of each signed zone, by origin."""


def generate_key(*, ksk: bool) -> SigningKey:
    """A fresh ECDSAP256SHA256 key; ``ksk`` sets the SEP flag (RFC 4034 §2.1.1)."""
    private = ec.generate_private_key(ec.SECP256R1())
    flags = Flag.ZONE | (Flag.SEP if ksk else 0)
    dnskey = dns.dnssec.make_dnskey(private.public_key(), Algorithm.ECDSAP256SHA256, flags)
    return SigningKey(private, dnskey)


def generate_zone_keys() -> ZoneKeys:
    """A KSK and a ZSK."""
    return ZoneKeys(ksk=generate_key(ksk=True), zsk=generate_key(ksk=False))


def make_zone(origin: str, *records: str) -> dns.zone.Zone:
    """A zone with an SOA and NS at the apex plus ``records`` (zone-file lines)."""
    text = _SOA.format(ttl=TTL) + "\n".join(records) + "\n"
    return dns.zone.from_text(text, origin=origin, relativize=False)


def sign(
    zone: dns.zone.Zone, keys: ZoneKeys, *, now: datetime, nsec3: Nsec3Params | None = None
) -> None:
    """Sign in place, valid from shortly before ``now`` for 30 days: with NSEC, or with an
    NSEC3 chain of the given parameters."""
    inception, expiration = now - CLOCK_SKEW, now + SIGNATURE_LIFETIME
    if nsec3 is None:
        dns.dnssec.sign_zone(
            zone,
            keys=[(keys.ksk.private, keys.ksk.dnskey), (keys.zsk.private, keys.zsk.dnskey)],
            dnskey_ttl=TTL,
            inception=inception,
            expiration=expiration,
        )
        return
    origin = zone.origin
    assert origin is not None
    add_rdata(zone, origin.to_text(), keys.ksk.dnskey, keys.zsk.dnskey)
    add_nsec3_chain(zone, nsec3, ttl=zone.get_soa().minimum)
    for name, kinds in list(signed_names(zone)):
        for kind in kinds:
            # As dnspython's signer does: the KSK signs the DNSKEY set, the ZSK the rest.
            key = keys.ksk if kind == dns.rdatatype.DNSKEY else keys.zsk
            resign(
                zone,
                name.to_text(),
                dns.rdatatype.to_text(kind),
                key,
                inception=inception,
                expiration=expiration,
            )


def make_ds(name: str, key: SigningKey) -> DS:
    """The SHA-256 DS record of a key (RFC 4509)."""
    return dns.dnssec.make_ds(name, key.dnskey, "SHA256")


def add_rdata(zone: dns.zone.Zone, name: str, *rdatas: dns.rdata.Rdata) -> None:
    """Add records to an unsigned (or not yet signed) zone."""
    with zone.writer() as txn:
        for rdata in rdatas:
            txn.add(dns.name.from_text(name), TTL, rdata)


def tamper(zone: dns.zone.Zone, name: str, rdtype: str, *texts: str) -> None:
    """Replace a signed rrset's data and keep its old RRSIG: a forgery in transit."""
    owner, kind = dns.name.from_text(name), dns.rdatatype.from_text(rdtype)
    rdatas = [dns.rdata.from_text(dns.rdataclass.IN, kind, text) for text in texts]
    with zone.writer() as txn:
        txn.replace(owner, dns.rrset.from_rdata_list(owner, TTL, rdatas))


def resign(
    zone: dns.zone.Zone,
    name: str,
    rdtype: str,
    key: SigningKey,
    *,
    inception: datetime,
    expiration: datetime,
) -> None:
    """Replace the RRSIG of one rrset by one with the given validity (e.g. expired)."""
    owner, kind = dns.name.from_text(name), dns.rdatatype.from_text(rdtype)
    rrset = zone.find_rrset(owner, kind)
    assert zone.origin is not None
    rrsig = dns.dnssec.sign(
        rrset, key.private, zone.origin, key.dnskey, inception=inception, expiration=expiration
    )
    with zone.writer() as txn:
        txn.delete(owner, dns.rdatatype.RRSIG, kind)
        txn.add(owner, rrset.ttl, rrsig)


def anchor_text(name: str, key: SigningKey) -> str:
    """A trust anchor line: the DS of ``key`` as ``<name> 3600 IN DS …``."""
    return f"{name} {TTL} IN DS {make_ds(name, key).to_text()}\n"


def build_signed_tree(now: datetime) -> SignedTree:
    """``test.`` signed, with children that exercise each validation outcome.

    - ``example.test.``: signed, DS in the parent — secure;
    - ``unsigned.test.``: no keys and no DS — an insecure delegation;
    - ``tampered.test.``: ``mx.tampered.test. A`` changed after signing;
    - ``expired.test.``: ``mx.expired.test. A`` signed with an expiry a day before ``now``;
    - ``nokey.test.``: the parent's DS is of a key the child does not publish;
    - ``oddalg.test.``: the only DS names algorithm 253 (private), which nobody validates;
    - ``nsec3.test.``: NSEC3 with a salt and 5 iterations, no opt-out; its unsigned
      delegation ``insecure.nsec3.test.`` has an NSEC3 record without the DS bit;
    - ``optout.test.``: NSEC3 with opt-out; ``insecure.optout.test.`` has no record;
    - ``costly.test.``: NSEC3 with 150 iterations, more than validators spend, and the
      unsigned ``insecure.costly.test.`` below;
    - ``forged3.test.``: the NSEC3 record of ``mx.forged3.test.`` changed after signing.

    Every child has ``mx`` (A, AAAA), an MX to it, ``alias`` (CNAME to ``mx``) and a TLSA
    at ``_25._tcp.mx``; so do the unsigned zones below the NSEC3 children.
    """
    children = ("example", "unsigned", "tampered", "expired", "nokey", "oddalg", *_NSEC3_CHILDREN)
    parent = make_zone(PARENT, "ns A 127.0.0.1", *(f"{c} NS ns.test." for c in children))
    keys = {PARENT: generate_zone_keys()}
    zones = {PARENT: parent}
    for origin in INSECURE_GRANDCHILDREN:
        zones[origin] = make_zone(origin, *_CHILD_DATA)
    for child in children:
        origin = f"{child}.{PARENT}"
        nsec3 = _NSEC3_CHILDREN.get(child)
        cut = ("insecure NS ns.test.",) if f"insecure.{origin}" in zones else ()
        zones[origin] = make_zone(origin, *_CHILD_DATA, *cut)
        if child != "unsigned":
            keys[origin] = generate_zone_keys()
            sign(zones[origin], keys[origin], now=now, nsec3=nsec3)
    tamper(zones["tampered.test."], "mx.tampered.test.", "A", "127.0.0.66")
    forged3 = zones["forged3.test."]
    owner = owner_for(forged3, dns.name.from_text("mx.forged3.test."))
    # The record for mx, now claiming it has no AAAA: a forged denial with a stale RRSIG.
    (record,) = forged3.find_rdataset(owner, dns.rdatatype.NSEC3)
    tamper(forged3, owner.to_text(), "NSEC3", record.to_text().replace(" AAAA", ""))
    past = now - timedelta(days=1)
    expired = zones["expired.test."]
    zsk = keys["expired.test."].zsk
    resign(
        expired, "mx.expired.test.", "A", zsk, inception=past - SIGNATURE_LIFETIME, expiration=past
    )
    for origin, zone_keys in keys.items():
        if origin != PARENT:
            add_rdata(parent, origin, _parent_ds(origin, zone_keys))
    sign(parent, keys[PARENT], now=now)
    return SignedTree(
        zones=tuple(zones.values()), anchor=anchor_text(PARENT, keys[PARENT].ksk), keys=keys
    )


def _parent_ds(origin: str, keys: ZoneKeys) -> DS:
    if origin == "nokey.test.":
        return make_ds(origin, generate_key(ksk=True))  # a key the child never published
    ds = make_ds(origin, keys.ksk)
    if origin == "oddalg.test.":
        # Algorithm 253 (PRIVATEDNS) with no private name: nobody can validate it.
        text = f"{ds.key_tag} 253 2 {ds.digest.hex()}"
        return cast(DS, dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.DS, text))
    return ds
