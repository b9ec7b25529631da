"""A run-wide DNS cache for bulk runs: bounded, honouring TTLs, one question in flight.

Thousands of domains whose MX point at one provider ask the same A, AAAA and TLSA
questions; without a cache each domain asks again. Answers (positive, and denials for
their SOA's negative TTL, RFC 2308 §5) are kept as the facts they became until their TTL
runs out, at most `size` of them, the least recently used forgotten first; a kept answer
costs no parsing at all. Identical questions asked at the same moment share one query: the
first 50 domains of a run would otherwise all miss the cache together.

Whole responses (`fetch_message`, the DNSSEC walk's questions) are cached here too, for the
smallest TTL they carry (the SOA's for a denial), under the same bound.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import dns.message
import dns.name
import dns.rdatatype

from ..model.settings import Nameserver
from .client import DnsAnswer, DnsClient, DnsMessage

DEFAULT_SIZE = 4096  # answers kept (a kilobyte or two each, the response included)
T = TypeVar("T")


class CachingDnsClient(DnsClient):
    """A `DnsClient` whose answers are shared by every domain of one run."""

    def __init__(
        self, nameservers: tuple[Nameserver, ...], *, timeout: float, size: int = DEFAULT_SIZE
    ) -> None:
        super().__init__(nameservers, timeout=timeout)
        self._size = max(1, size)
        self._asking: dict[tuple[object, ...], asyncio.Future[Any]] = {}
        self._answers: OrderedDict[tuple[object, ...], tuple[float, DnsAnswer]] = OrderedDict()
        self._messages: OrderedDict[tuple[object, ...], tuple[float, DnsMessage]] = OrderedDict()

    async def query(self, name: str, rdtype: str) -> DnsAnswer:
        """As `DnsClient.query`, but each question asked once while its answer lives."""
        key = ("query", name.lower(), rdtype)
        kept = self._answers.get(key)
        if kept is not None and kept[0] > time.monotonic():
            self._answers.move_to_end(key)
            return kept[1]
        answer, ttl = await self._once(key, lambda: self._ask(name, rdtype))
        if ttl > 0:
            _keep(self._answers, key, (time.monotonic() + ttl, answer), self._size)
        return answer

    async def fetch_message(
        self, name: dns.name.Name, rdtype: dns.rdatatype.RdataType, *, dnssec: bool = False
    ) -> DnsMessage:
        """As `DnsClient.fetch_message`, with answers kept for their smallest TTL."""
        key = ("message", name, rdtype, dnssec)
        kept = self._messages.get(key)
        if kept is not None and kept[0] > time.monotonic():
            self._messages.move_to_end(key)
            return kept[1]
        outcome = await self._once(
            key, lambda: super(CachingDnsClient, self).fetch_message(name, rdtype, dnssec=dnssec)
        )
        ttl = _smallest_ttl(outcome.message) if outcome.message is not None else None
        if ttl:
            _keep(self._messages, key, (time.monotonic() + ttl, outcome), self._size)
        return outcome

    async def _once(self, key: tuple[object, ...], ask: Callable[[], Awaitable[T]]) -> T:
        """Ask, or wait for the same question already being asked. Should the asker be
        cancelled, a waiter asks itself rather than inherit the cancellation."""
        while (asking := self._asking.get(key)) is not None:
            try:
                shared: T = await asyncio.shield(asking)
                return shared
            except asyncio.CancelledError:
                if not asking.cancelled() or _being_cancelled():
                    raise
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._asking[key] = future
        try:
            answer = await ask()
        except BaseException:
            future.cancel()
            raise
        else:
            future.set_result(answer)
            return answer
        finally:
            del self._asking[key]


def _keep(
    kept: OrderedDict[tuple[object, ...], T], key: tuple[object, ...], value: T, size: int
) -> None:
    """Remember `value` as the newest entry, forgetting the oldest beyond `size`."""
    kept[key] = value
    kept.move_to_end(key)
    while len(kept) > size:
        kept.popitem(last=False)


def _being_cancelled() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def _smallest_ttl(message: dns.message.Message) -> int:
    """How long a whole response may be kept: its shortest-lived record set; nothing
    (0) when it holds none, or when the server said anything but OK."""
    ttls = [rrset.ttl for section in (message.answer, message.authority) for rrset in section]
    return min(ttls) if ttls else 0
