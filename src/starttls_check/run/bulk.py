"""Many domains in one run, streamed: reports come out as each domain is done.

Targets are taken from an iterator lazily, with at most `window` domains in flight, and
nothing is kept of a domain once its report is handed on; memory does not grow with the
input. The run shares what domains have in common: DNS answers (dns/cache.py) and sessions
to the same (address, port, protocol, SNI, EHLO name) (reuse.py), and paces connections
politely (pace.py). Each domain is judged exactly as `check_domain` judges it.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..checks.session import transient_reply
from ..dns.cache import DEFAULT_SIZE as DNS_CACHE_SIZE
from ..dns.cache import CachingDnsClient
from ..dns.targets import ProbeTarget, Target, is_hostname
from ..judge.gathered import GatheredHost
from ..model.bulk import InputProblem
from ..model.dns import TlsaLookup
from ..model.report import DomainReport
from ..model.session import SessionFacts, SessionOutcome
from ..smtp.session import SessionSettings, probe_smtp
from ..tls.certs import TrustStore
from ..tls.trust_store import load_trust_store
from .check import CheckSettings, _Run, canonical_target
from .pace import Pace
from .reuse import DEFAULT_SIZE as SESSION_CACHE_SIZE
from .reuse import SessionCache, SessionKey, SharedSession

DEFAULT_WINDOW = 256  # domains in flight: enough to keep 64 sessions busy behind DNS waits

Item = str | Target | InputProblem
_TARGET: contextvars.ContextVar[str] = contextvars.ContextVar("target")


@dataclass(frozen=True, slots=True, kw_only=True)
class BulkSettings:
    """How a bulk run paces and shares; the checking itself is `CheckSettings`'."""

    window: int = DEFAULT_WINDOW
    session_cache: int = SESSION_CACHE_SIZE  # 0: every domain opens its own sessions
    dns_cache: int = DNS_CACHE_SIZE
    max_rate: float | None = None  # new connections per second to one address
    max_rate_overall: float | None = None  # and in all
    chunk: int = 200  # targets per task on a Dask cluster: enough to share sessions


def target_key(item: str | Target) -> str:
    """The canonical form a report of this target is keyed by (`DomainReport.ascii_domain`)."""
    if isinstance(item, str):
        from ..dns.names import to_ascii_domain

        return canonical_target(Target(text=item, domain=item), to_ascii_domain(item))
    if item.domain is not None:
        from ..dns.names import to_ascii_domain

        return canonical_target(item, to_ascii_domain(item.domain))
    return canonical_target(item, item.name)


class BulkRun(_Run):
    """A run whose domains share DNS answers, sessions and politeness."""

    def __init__(self, settings: CheckSettings, store: TrustStore, bulk: BulkSettings) -> None:
        super().__init__(settings, store)
        self.dns = CachingDnsClient(
            settings.nameservers, timeout=settings.timeouts.dns, size=bulk.dns_cache
        )
        self.sessions = SessionCache(bulk.session_cache)
        self.pace = Pace(
            per_address=settings.per_address, rate=bulk.max_rate, overall=bulk.max_rate_overall
        )

    async def check(self, wanted: str | Target) -> DomainReport:
        _TARGET.set(target_key(wanted))  # whose sessions these are, for `reused_from`
        return await super().check(wanted)

    async def probe(
        self, target: ProbeTarget, checked_at: datetime, tlsa: TlsaLookup | None = None
    ) -> GatheredHost:
        server_name = target.mx if is_hostname(target.mx) else None
        key = SessionKey(
            target.address,
            target.port,
            self.settings.protocol,
            server_name,
            self.settings.ehlo_name,
        )
        owner = _TARGET.get()
        shared = await self.sessions.fetch(
            key, owner, lambda: self.open_session(target, server_name, checked_at, owner)
        )
        reused_from = shared.owner if shared.owner != owner else None
        return shared.sessions.gathered(target, tlsa, reused_from)

    async def open_session(
        self, target: ProbeTarget, server_name: str | None, checked_at: datetime, owner: str
    ) -> SharedSession:
        """As `_Run.probe` opens them (probes included), paced (`address_slot`)."""
        found = await self.address_sessions(target, server_name, checked_at)
        return SharedSession(owner=owner, sessions=found)

    def address_slot(self, address: str) -> AbstractAsyncContextManager[Any]:
        return self.pace.slot(address)

    async def attempt(
        self, target: ProbeTarget, server_name: str | None, settings: SessionSettings
    ) -> tuple[SessionOutcome, tuple[SessionFacts, ...]]:
        """One session, paced, retried after a transient reply; the reply slows down every
        later connection to the address, whichever domain makes it."""
        earlier: list[SessionFacts] = []
        for attempt in range(self.settings.retries + 1):
            await self.pace.connect(target.address)
            outcome = await probe_smtp(target.address, target.port, server_name, settings)
            transient = transient_reply(outcome.facts) is not None
            self.pace.answered(target.address, transient=transient)
            if attempt == self.settings.retries or not transient:
                break
            earlier.append(outcome.facts)
            await asyncio.sleep(self.settings.retry_backoff * 2**attempt)
        return outcome, tuple(earlier)


async def stream_items(
    items: Iterable[Item] | AsyncIterable[Item],
    settings: CheckSettings,
    bulk: BulkSettings | None = None,
    *,
    run: BulkRun | None = None,
) -> AsyncIterator[DomainReport | InputProblem]:
    """Reports as domains finish, input problems as they are read; `window` in flight."""
    bulk = bulk or BulkSettings()
    if run is None:
        store = settings.trust_store or load_trust_store(
            settings.ca_files, use_system=settings.use_system_trust
        )
        run = BulkRun(settings, store, bulk)
    source = _aiter(items)
    pending: set[asyncio.Task[DomainReport]] = set()
    # The next item is read as a task of its own and raced against the domains in flight:
    # a pipe that stays open must not hold back reports that are already done.
    reading: asyncio.Task[Item] | None = None
    exhausted = False
    try:
        while pending or not exhausted:
            if not exhausted and reading is None and len(pending) < max(1, bulk.window):
                reading = asyncio.ensure_future(anext(source))
            waiting: set[asyncio.Future[Any]] = set(pending)
            if reading is not None:
                waiting.add(reading)
            done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            if reading is not None and reading in done:
                done.discard(reading)
                try:
                    item = reading.result()
                except StopAsyncIteration:
                    exhausted = True
                else:
                    if isinstance(item, InputProblem):
                        yield item
                    else:
                        pending.add(asyncio.create_task(run.check(item)))
                reading = None
            for task in done:
                pending.discard(task)
                yield task.result()
    finally:
        if reading is not None:
            reading.cancel()
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


async def check_stream(
    targets: Iterable[str | Target] | AsyncIterable[str | Target],
    settings: CheckSettings,
    bulk: BulkSettings | None = None,
) -> AsyncIterator[DomainReport]:
    """Check many domains, yielding each report as soon as its domain is done (in the
    order they finish, not the order given). Targets are read lazily."""
    async for item in stream_items(targets, settings, bulk):
        if isinstance(item, DomainReport):
            yield item


async def _aiter(items: Iterable[Item] | AsyncIterable[Item]) -> AsyncIterator[Item]:
    if isinstance(items, AsyncIterable):
        async for item in items:
            yield item
    else:
        for item in items:
            yield item
