"""`starttls-check --demo`: real servers on loopback, the real checker, the real report.

A DNS server and several SMTP servers with STARTTLS start in-process, each SMTP server on
its own loopback address (127.0.0.2, 127.0.0.3, ...) and one shared port, so the checker
sees a world of MX hosts exactly as it would on the internet, certificates from a
throw-away demo CA included. `test.` is DNSSEC-signed, and secure.test (a signed child
zone) publishes everything: DANE TLSA records, an MTA-STS policy served over HTTPS on
127.0.0.9, TLS-RPT, SPF and DMARC. nsec3.test is signed with NSEC3 (RFC 5155) instead of
NSEC, as most signed zones are, and publishes DANE too. Nothing leaves the machine.
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

import dns.zone
from cryptography.hazmat.primitives.serialization import Encoding

from ..dns.anchors import TrustAnchors, parse_trust_anchors
from ..model.report import DomainReport
from ..model.settings import Nameserver
from ..policy.dane import spki_sha256
from ..run.check import CheckSettings, check_domains_async
from ..tls.certs import TrustStore
from .loopback import signed_zones
from .loopback.dns_server import LoopbackDnsServer
from .loopback.https_server import HttpResponse, LoopbackHttpsServer
from .loopback.nsec3_chain import Nsec3Params
from .loopback.pki import Issued, chain_pem, make_ca, make_leaf
from .loopback.shared_port import servers_on_shared_port
from .loopback.smtp_server import Script, server_tls_context, standard_session

DEMO_PORT = 2525  # stable when free; the demo CA and keys are new on every run, though
DEMO_DOMAINS = (
    "secure.test",
    "good.test",
    "mixed.test",
    "plain.test",
    "expired.test",
    "wrongname.test",
    "nsec3.test",
)
SECURE_MX, MTA_STS_ADDRESS = "mx.secure.test", "127.0.0.9"
NSEC3_DOMAIN, NSEC3_MX = "nsec3.test", "mx.nsec3.test"
SIGNED_CHILDREN = ("secure.test", NSEC3_DOMAIN)
"""Zones of their own below `test.`; the other domains' records are in `test.`."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoHost:
    """One demo MX: its name, loopback address, and how its server behaves."""

    name: str
    address: str
    starttls: bool = True
    certificate_names: tuple[str, ...] | None = None  # None: the MX name
    expired: bool = False


DEMO_HOSTS = (
    DemoHost(name=SECURE_MX, address="127.0.0.8"),
    DemoHost(name="mx.good.test", address="127.0.0.2"),
    DemoHost(name="mx1.mixed.test", address="127.0.0.3"),
    DemoHost(name="mx2.mixed.test", address="127.0.0.4", starttls=False),
    DemoHost(name="mx.plain.test", address="127.0.0.5", starttls=False),
    DemoHost(name="mx.expired.test", address="127.0.0.6", expired=True),
    DemoHost(name="mx.wrongname.test", address="127.0.0.7", certificate_names=("mail.other.test",)),
    DemoHost(name=NSEC3_MX, address="127.0.0.10"),
)

# The `test.` zone: every demo domain but the signed child zones.
DEMO_RECORDS = (
    "good.test. MX 10 mx.good.test.",
    "mixed.test. MX 10 mx1.mixed.test.",
    "mixed.test. MX 20 mx2.mixed.test.",
    "plain.test. MX 10 mx.plain.test.",
    "expired.test. MX 10 mx.expired.test.",
    "wrongname.test. MX 10 mx.wrongname.test.",
    *(f"{h.name}. A {h.address}" for h in DEMO_HOSTS if h.name not in (SECURE_MX, NSEC3_MX)),
    *(
        line
        for d in DEMO_DOMAINS
        if d not in SIGNED_CHILDREN
        for line in (
            f'{d}. TXT "v=spf1 mx -all"',
            f'_dmarc.{d}. TXT "v=DMARC1; p=reject; rua=mailto:dmarc@{d}"',
            f'_smtp._tls.{d}. TXT "v=TLSRPTv1; rua=mailto:tlsrpt@{d}"',
        )
    ),
)
MTA_STS_POLICY = b"version: STSv1\r\nmode: enforce\r\nmx: mx.secure.test\r\nmax_age: 86400\r\n"


def run_demo(settings: CheckSettings) -> tuple[DomainReport, ...]:
    """Start the demo world, check its domains with `settings` (policy, timeouts, EHLO
    name; the world supplies name server, port, trust store and anchors), stop it."""
    return asyncio.run(_demo(settings))


async def _demo(settings: CheckSettings) -> tuple[DomainReport, ...]:
    ca = make_ca("starttls-check demo CA")
    leaves = {host.name: _leaf(host, ca) for host in DEMO_HOSTS}
    policy_leaf = make_leaf(["mta-sts.secure.test"], ca)
    web_context = server_tls_context(chain_pem(policy_leaf, ca), policy_leaf.key_pem)
    policy = HttpResponse(
        status=200, headers=(("Content-Type", "text/plain"),), body=MTA_STS_POLICY
    )
    async with (
        servers_on_shared_port(_scripts(leaves, ca), preferred_port=DEMO_PORT) as port,
        LoopbackHttpsServer(lambda _: policy, MTA_STS_ADDRESS, tls_context=web_context) as web,
    ):
        # The TLSA owner names the SMTP port, so the zones are signed once it is known.
        spki, nsec3_spki = (
            spki_sha256(leaves[mx].cert.public_bytes(Encoding.DER)) or ""
            for mx in (SECURE_MX, NSEC3_MX)
        )
        zones, anchors = _signed_zones(port, spki, nsec3_spki)
        async with LoopbackDnsServer(zones) as dns_server:
            world = dataclasses.replace(
                settings,
                nameservers=(Nameserver(host=dns_server.host, port=dns_server.port),),
                port=port,
                trust_store=TrustStore([ca.cert]),
                trust_anchors=anchors,
                mta_sts_port=web.port,
            )
            reports = await check_domains_async(DEMO_DOMAINS, world)
        dns_server.raise_errors()
    web.raise_errors()
    return reports


def _secure_zone(port: int, spki: str) -> tuple[str, ...]:
    """secure.test.: DANE for its MX on the demo port, MTA-STS, TLS-RPT, SPF, DMARC."""
    return (
        "@ MX 10 mx",
        "mx A 127.0.0.8",
        f"_{port}._tcp.mx TLSA 3 1 1 {spki}",
        '_mta-sts TXT "v=STSv1; id=demo1;"',
        f"mta-sts A {MTA_STS_ADDRESS}",
        '@ TXT "v=spf1 mx -all"',
        '_dmarc TXT "v=DMARC1; p=reject; rua=mailto:dmarc@secure.test"',
        '_smtp._tls TXT "v=TLSRPTv1; rua=mailto:tlsrpt@secure.test"',
    )


def _nsec3_zone(port: int, spki: str) -> tuple[str, ...]:
    """nsec3.test.: DANE for its MX, TLS-RPT, SPF, DMARC; its denials are NSEC3 proofs."""
    return (
        "@ MX 10 mx",
        "mx A 127.0.0.10",
        f"_{port}._tcp.mx TLSA 3 1 1 {spki}",
        '@ TXT "v=spf1 mx -all"',
        '_dmarc TXT "v=DMARC1; p=reject; rua=mailto:dmarc@nsec3.test"',
        '_smtp._tls TXT "v=TLSRPTv1; rua=mailto:tlsrpt@nsec3.test"',
    )


def _signed_zones(
    port: int, spki: str, nsec3_spki: str
) -> tuple[tuple[dns.zone.Zone, ...], TrustAnchors]:
    """`test.` and its children secure.test. and nsec3.test., all signed (nsec3.test. with
    RFC 9276's NSEC3 parameters: no salt, no extra iterations); the anchor is `test.`'s key."""
    now = datetime.now(UTC)
    cuts = (f"{child}. NS ns.test." for child in SIGNED_CHILDREN)
    parent = signed_zones.make_zone("test.", *cuts, *DEMO_RECORDS)
    child = signed_zones.make_zone("secure.test.", *_secure_zone(port, spki))
    hashed = signed_zones.make_zone("nsec3.test.", *_nsec3_zone(port, nsec3_spki))
    parent_keys, child_keys = signed_zones.generate_zone_keys(), signed_zones.generate_zone_keys()
    hashed_keys = signed_zones.generate_zone_keys()
    signed_zones.sign(child, child_keys, now=now)
    signed_zones.sign(hashed, hashed_keys, now=now, nsec3=Nsec3Params())
    for origin, keys in (("secure.test.", child_keys), ("nsec3.test.", hashed_keys)):
        signed_zones.add_rdata(parent, origin, signed_zones.make_ds(origin, keys.ksk))
    signed_zones.sign(parent, parent_keys, now=now)
    anchors = parse_trust_anchors(signed_zones.anchor_text("test.", parent_keys.ksk))
    return (parent, child, hashed), anchors


def _leaf(host: DemoHost, ca: Issued) -> Issued:
    now = datetime.now(UTC)
    names = host.certificate_names or (host.name,)
    if host.expired:
        before, after = now - timedelta(days=120), now - timedelta(days=30)
        return make_leaf(names, ca, not_before=before, not_after=after)
    return make_leaf(names, ca)


def _scripts(leaves: dict[str, Issued], ca: Issued) -> dict[str, Script]:
    contexts = {
        name: server_tls_context(chain_pem(leaf, ca), leaf.key_pem) for name, leaf in leaves.items()
    }
    return {
        host.address: partial(
            standard_session,
            hostname=host.name,
            tls_context=contexts[host.name],
            offer_starttls=host.starttls,
        )
        for host in DEMO_HOSTS
    }
