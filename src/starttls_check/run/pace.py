"""Politeness for bulk runs: sessions per address, new connections per second, and a
shared slow-down after a server says "not now".

Mail servers rate-limit and blocklist clients that knock too often. Three rules:

- at most `per_address` sessions open at once to one address (1, as for a single check);
- at most `rate` new connections per second to one address, and `overall` in all
  (`--max-rate`); a connection's start is booked ahead, so waiting is exact without a lock;
- a 421 or 454 (a transient reply, RFC 5321 §4.2.1) from an address doubles the gap
  between connections to that address, whichever domain saw it, up to `MAX_GAP`; a
  session that goes through resets it.

State exists only for addresses in use or still slowed down, so a run over a million
addresses keeps as many entries as it has sessions in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

SLOW_GAP = 1.0  # seconds between connections after a first transient reply
MAX_GAP = 60.0
SWEEP_AT = 4096  # idle slowed-down addresses kept before the oldest past their gap go


@dataclass(slots=True)
class _Address:
    slots: asyncio.Semaphore
    users: int = 0
    next_start: float = 0.0  # monotonic time before which no new connection starts
    slowed: float = 0.0  # extra gap after transient replies; 0 when none


class Pace:
    """Slots and connection pacing for every address of one run."""

    def __init__(
        self,
        *,
        per_address: int = 1,
        rate: float | None = None,
        overall: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._per_address = per_address
        self._gap = 1.0 / rate if rate else 0.0
        self._overall_gap = 1.0 / overall if overall else 0.0
        self._next_overall = 0.0
        self._clock = clock
        self._addresses: dict[str, _Address] = {}

    @contextlib.asynccontextmanager
    async def slot(self, address: str) -> AsyncIterator[None]:
        """Hold one of the address's session slots."""
        state = self._addresses.get(address)
        if state is None:
            if len(self._addresses) >= SWEEP_AT:
                self._sweep()
            state = self._addresses[address] = _Address(asyncio.Semaphore(self._per_address))
        state.users += 1
        try:
            async with state.slots:
                yield
        finally:
            state.users -= 1
            if not state.users and not state.slowed and state.next_start <= self._clock():
                del self._addresses[address]

    async def connect(self, address: str) -> None:
        """Wait until a new connection to `address` may start (hold its slot first)."""
        state = self._addresses[address]
        now = self._clock()
        start = max(now, state.next_start, self._next_overall)
        state.next_start = start + self._gap + state.slowed
        if self._overall_gap:
            self._next_overall = start + self._overall_gap
        if start > now:
            await asyncio.sleep(start - now)

    def answered(self, address: str, *, transient: bool) -> None:
        """A session to `address` ended: on a transient reply, slow every later one down."""
        state = self._addresses.get(address)
        if state is None:
            return
        if transient:
            state.slowed = min(max(state.slowed * 2, SLOW_GAP), MAX_GAP)
            state.next_start = max(state.next_start, self._clock() + state.slowed)
        elif state.slowed:  # it answers again: back to the usual pace at once
            state.slowed = 0.0
            state.next_start = min(state.next_start, self._clock() + self._gap)

    def _sweep(self) -> None:
        now = self._clock()
        idle = [a for a, s in self._addresses.items() if not s.users and s.next_start <= now]
        for address in idle:
            del self._addresses[address]

    def slowed(self, address: str) -> float:
        """The extra gap now applied to `address` (0 when none)."""
        state = self._addresses.get(address)
        return state.slowed if state is not None else 0.0

    def __len__(self) -> int:
        return len(self._addresses)
