"""A small mail world on loopback for end-to-end tests: one DNS server, SMTP servers on
127.0.0.N sharing one port, a test CA, and the settings that point the checker at them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from starttls_check.demo.loopback.dns_server import LoopbackDnsServer
from starttls_check.demo.loopback.pki import Issued, chain_pem, make_ca, make_leaf
from starttls_check.demo.loopback.shared_port import servers_on_shared_port
from starttls_check.demo.loopback.smtp_server import Script, server_tls_context, standard_session
from starttls_check.model.report import DomainReport
from starttls_check.model.settings import Nameserver, Timeouts
from starttls_check.run.check import CheckSettings, check_domain_async
from starttls_check.tls.certs import TrustStore

T = TypeVar("T")
SOA = "test. 300 IN SOA ns.test. hostmaster.test. 1 3600 600 86400 300\ntest. 300 IN NS ns.test.\n"


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on a fresh event loop (no pytest-asyncio here)."""
    return asyncio.run(coro)


@dataclass
class World:
    """What a test needs to point the checker at the world."""

    dns: LoopbackDnsServer
    port: int
    ca: Issued

    def settings(self, **overrides: Any) -> CheckSettings:
        values: dict[str, Any] = {
            "nameservers": (Nameserver(host=self.dns.host, port=self.dns.port),),
            "port": self.port,
            "timeouts": Timeouts.per_phase(3.0),
            "ehlo_name": "client.test",
            "trust_store": TrustStore([self.ca.cert]),
            "retries": 0,  # tests of retrying ask for it
            "policy_checks": False,  # the core's tests; tests of DANE, MTA-STS etc. ask for it
            "injection_probe": False,  # one session per address; tests of the probe ask for it
            "retry_backoff": 0.05,
        }
        if "timeout" in overrides:  # tests speak of one per-phase number, as --timeout does
            overrides["timeouts"] = Timeouts.per_phase(overrides.pop("timeout"))
        values.update(overrides)
        return CheckSettings(**values)

    async def check(self, domain: str, **overrides: Any) -> DomainReport:
        return await check_domain_async(domain, self.settings(**overrides))


def good_script(name: str, ca: Issued, **session: Any) -> Script:
    """A well-behaved server for `name` with a valid certificate from `ca`."""
    leaf = make_leaf([name], ca)
    context = server_tls_context(chain_pem(leaf, ca), leaf.key_pem)
    return partial(standard_session, hostname=name, tls_context=context, **session)


@contextlib.asynccontextmanager
async def mail_world(
    zone: str, servers: Mapping[str, Script], *, ca: Issued | None = None, **dns_knobs: Any
) -> AsyncIterator[World]:
    """DNS for zone `test.` (records after the SOA) and one SMTP server per address."""
    ca = ca or make_ca("test CA")
    async with LoopbackDnsServer({"test.": SOA + zone}, **dns_knobs) as dns:
        async with servers_on_shared_port(servers) as port:
            yield World(dns=dns, port=port, ca=ca)
        dns.raise_errors()
