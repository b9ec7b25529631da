"""`starttls-check --demo`: real servers on loopback, the real checker, the real report.

A DNS server and several SMTP servers with STARTTLS start in-process, each SMTP server on
its own loopback address (127.0.0.2, 127.0.0.3, ...) and one shared port, so the checker
sees a world of MX hosts exactly as it would on the internet, certificates from a
throw-away demo CA included. Nothing leaves the machine.
"""

from __future__ import annotations

import asyncio
import dataclasses
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

from .certs import TrustStore
from .check import CheckSettings, check_domains_async
from .dnsclient import Nameserver
from .loopback.dns_server import LoopbackDnsServer
from .loopback.pki import Issued, chain_pem, make_ca, make_leaf
from .loopback.shared_port import servers_on_shared_port
from .loopback.smtp_server import Script, server_tls_context, standard_session
from .model import DomainReport

DEMO_PORT = 2525  # stable when free; the demo CA and keys are new on every run, though
DEMO_DOMAINS = ("good.test", "mixed.test", "plain.test", "expired.test", "wrongname.test")


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoHost:
    """One demo MX: its name, loopback address, and how its server behaves."""

    name: str
    address: str
    starttls: bool = True
    certificate_names: tuple[str, ...] | None = None  # None: the MX name
    expired: bool = False


DEMO_HOSTS = (
    DemoHost(name="mx.good.test", address="127.0.0.2"),
    DemoHost(name="mx1.mixed.test", address="127.0.0.3"),
    DemoHost(name="mx2.mixed.test", address="127.0.0.4", starttls=False),
    DemoHost(name="mx.plain.test", address="127.0.0.5", starttls=False),
    DemoHost(name="mx.expired.test", address="127.0.0.6", expired=True),
    DemoHost(name="mx.wrongname.test", address="127.0.0.7", certificate_names=("mail.other.test",)),
)

DEMO_ZONE = (
    """
$TTL 300
test. IN SOA ns.test. hostmaster.test. 1 3600 600 86400 300
test. IN NS ns.test.
good.test. IN MX 10 mx.good.test.
mixed.test. IN MX 10 mx1.mixed.test.
mixed.test. IN MX 20 mx2.mixed.test.
plain.test. IN MX 10 mx.plain.test.
expired.test. IN MX 10 mx.expired.test.
wrongname.test. IN MX 10 mx.wrongname.test.
"""
    + "".join(
        f'{d}. IN TXT "v=spf1 mx -all"\n'
        f'_dmarc.{d}. IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@{d}"\n'
        f'_smtp._tls.{d}. IN TXT "v=TLSRPTv1; rua=mailto:tlsrpt@{d}"\n'
        for d in ("good.test", "mixed.test", "plain.test", "expired.test", "wrongname.test")
    )
    + "".join(f"{h.name}. IN A {h.address}\n" for h in DEMO_HOSTS)
)


def run_demo(settings: CheckSettings) -> tuple[DomainReport, ...]:
    """Start the demo world, check its domains with `settings` (policy, timeouts, EHLO
    name; the world supplies name server, port and trust), stop it; return the reports."""
    return asyncio.run(_demo(settings))


async def _demo(settings: CheckSettings) -> tuple[DomainReport, ...]:
    ca = make_ca("starttls-check demo CA")
    async with (
        LoopbackDnsServer({"test.": DEMO_ZONE}) as dns_server,
        servers_on_shared_port(_scripts(ca), preferred_port=DEMO_PORT) as port,
    ):
        world = dataclasses.replace(
            settings,
            nameservers=(Nameserver(host=dns_server.host, port=dns_server.port),),
            port=port,
            trust_store=TrustStore([ca.cert]),
        )
        reports = await check_domains_async(DEMO_DOMAINS, world)
    dns_server.raise_errors()
    return reports


def _tls_context(host: DemoHost, ca: Issued) -> ssl.SSLContext:
    now = datetime.now(UTC)
    names = host.certificate_names or (host.name,)
    if host.expired:
        before, after = now - timedelta(days=120), now - timedelta(days=30)
        leaf = make_leaf(names, ca, not_before=before, not_after=after)
    else:
        leaf = make_leaf(names, ca)
    return server_tls_context(chain_pem(leaf, ca), leaf.key_pem)


def _scripts(ca: Issued) -> dict[str, Script]:
    return {
        host.address: partial(
            standard_session,
            hostname=host.name,
            tls_context=_tls_context(host, ca),
            offer_starttls=host.starttls,
        )
        for host in DEMO_HOSTS
    }
