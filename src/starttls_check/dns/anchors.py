"""DNSSEC trust anchors: the IANA root's, or DS/DNSKEY records from a file (`--trust-anchor`).

Parsing only: no queries. The validator (dns/dnssec.py) starts its walk from these."""

from __future__ import annotations

from dataclasses import dataclass

import dns.exception
import dns.name
import dns.rdatatype
import dns.zonefile
from dns.rdtypes.ANY.DNSKEY import DNSKEY
from dns.rdtypes.ANY.DS import DS
from dns.rdtypes.dnskeybase import Flag

from .signatures import usable_algorithm, usable_ds
from .verdict import one_line

ROOT_ANCHORS_TEXT = """\
; The IANA root zone trust anchors, from https://data.iana.org/root-anchors/root-anchors.xml
; (RSASHA256, SHA-256 digests). KSK-2017 has signed the root since the 2018 rollover;
; KSK-2024 was published for the next rollover. Both are trusted, as IANA advises.
. IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D
. IN DS 38696 8 2 683D2D0ACB8C9B712A1948B27F741219298D0A450D612C483AF444A4C0FB2B16
"""


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


def parse_trust_anchors(text: str) -> TrustAnchors:
    """DS or DNSKEY records in zone-file syntax; ``ValueError`` with one line if unusable."""
    try:
        rrsets = dns.zonefile.read_rrsets(text, rdclass=None, default_ttl=0)
    except (dns.exception.DNSException, ValueError) as exc:
        raise ValueError(f"trust anchors: {one_line(exc)}") from exc
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
    if not usable_ds(ds):
        raise ValueError(
            f"trust anchors: {zone} DS {ds.key_tag}: algorithm {ds.algorithm} or digest "
            f"type {ds.digest_type} is not supported"
        )
    return ds


def _usable_anchor_key(zone: dns.name.Name, key: DNSKEY) -> DNSKEY:
    if not key.flags & Flag.ZONE or key.flags & Flag.REVOKE or key.protocol != 3:
        raise ValueError(f"trust anchors: {zone} DNSKEY {key.key_id()} is not a usable zone key")
    if not usable_algorithm(key.algorithm):
        raise ValueError(f"trust anchors: {zone} DNSKEY algorithm {key.algorithm} not supported")
    return key


# Last in the module: parsing needs the helpers above.
ROOT_ANCHORS = parse_trust_anchors(ROOT_ANCHORS_TEXT)
