"""Signatures over RRsets and DS digests over keys (RFC 4034 §3, §5; RFC 4035 §5.2-5.3).

Pure: judges records already received. dnspython does the cryptography; this module
decides which signatures may count and says, in one line, why none did.
"""

from __future__ import annotations

from datetime import UTC, datetime

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
from dns.rdtypes.ANY.RRSIG import RRSIG
from dns.rdtypes.dnskeybase import Flag

from .verdict import bogus

# RFC 8624 §3.1: MUST NOT validate; such signatures count as unsupported, like unknown ones.
UNUSABLE_ALGORITHMS = frozenset({Algorithm.RSAMD5, Algorithm.DSA, Algorithm.DSANSEC3SHA1})

USABLE_DIGESTS = frozenset({DSDigest.SHA1, DSDigest.SHA256, DSDigest.SHA384})


def signatures(
    section: list[dns.rrset.RRset], message: dns.message.Message, rrset: dns.rrset.RRset
) -> dns.rrset.RRset | None:
    """The RRSIGs covering ``rrset`` in the same section of ``message``."""
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


def verify_section(
    message: dns.message.Message,
    rdtype: dns.rdatatype.RdataType,
    zone: dns.name.Name,
    keys: dns.rrset.RRset,
    now: float,
) -> list[dns.rrset.RRset]:
    """The authority section's ``rdtype`` RRsets in ``zone``, each validated; else BOGUS."""
    found = []
    for rrset in message.authority:
        if rrset.rdtype == rdtype and rrset.name.is_subdomain(zone):
            verify_signed(rrset, signatures(message.authority, message, rrset), zone, keys, now)
            found.append(rrset)
    return found


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
    """Whether ``ds`` is the digest of ``key`` (RFC 4034 §5.1.4), by an algorithm we allow."""
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
