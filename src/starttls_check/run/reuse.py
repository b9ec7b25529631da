"""Sessions shared across the domains of one bulk run.

One provider's MX serves thousands of domains. What a session to (address, port, protocol,
SNI name, EHLO name) observes is the same whichever domain led there, so the run opens it
once and hands its facts to every domain whose MX leads there; each domain is still judged
with its own MX name and policy. Domains asking while the first session is still open wait
for it instead of knocking again. At most `size` finished sessions are kept (least recently
used dropped), so memory stays bounded however many addresses a run meets.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ..model.choices import MailProtocol
from .check import AddressSessions

DEFAULT_SIZE = 2048  # finished sessions kept; a few kilobytes each (chain, transcript)


@dataclass(frozen=True, slots=True)
class SessionKey:
    """What makes two sessions the same session."""

    address: str
    port: int
    protocol: MailProtocol
    server_name: str | None  # SNI
    ehlo_name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SharedSession:
    """One address's sessions, and the target they were opened for."""

    owner: str  # the target (canonical form) for which the session was opened
    sessions: AddressSessions


class SessionCache:
    """Finished sessions by key, and sessions being opened."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self._size = size
        self._done: OrderedDict[SessionKey, SharedSession] = OrderedDict()
        self._opening: dict[SessionKey, asyncio.Future[SharedSession]] = {}
        self.opened = 0  # sessions this run opened itself
        self.reused = 0  # times a session was handed to another target

    async def fetch(
        self, key: SessionKey, owner: str, open_session: Callable[[], Awaitable[SharedSession]]
    ) -> SharedSession:
        """The session for `key`: kept, being opened by another target, or opened now."""
        while True:
            kept = self._done.get(key)
            if kept is not None:
                self._done.move_to_end(key)
                return self._handed(kept, owner)
            opening = self._opening.get(key)
            if opening is None:
                break
            try:
                return self._handed(await asyncio.shield(opening), owner)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if not opening.cancelled() or (task is not None and task.cancelling()):
                    raise  # we were cancelled, not the opener: go on asking otherwise
        future: asyncio.Future[SharedSession] = asyncio.get_running_loop().create_future()
        self._opening[key] = future
        try:
            shared = await open_session()
        except BaseException:
            future.cancel()
            raise
        finally:
            del self._opening[key]
        self.opened += 1
        future.set_result(shared)
        if self._size > 0:
            self._done[key] = shared
            while len(self._done) > self._size:
                self._done.popitem(last=False)
        return shared

    def _handed(self, shared: SharedSession, owner: str) -> SharedSession:
        if shared.owner != owner:
            self.reused += 1
        return shared
