"""What every loopback server shares: a port once started, recorded errors, `async with`.

An exception inside a server's handler would otherwise show up only as a client-side
timeout; the servers record them and tests call `raise_errors()` on teardown.
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Self


class LoopbackServer:
    """Base for the loopback DNS and SMTP servers; subclasses implement start and stop."""

    def __init__(self) -> None:
        self._port = 0
        self._errors: list[BaseException] = []

    @property
    def port(self) -> int:
        """The listening port; valid after :meth:`start`."""
        if not self._port:
            raise RuntimeError("server not started")
        return self._port

    @property
    def errors(self) -> tuple[BaseException, ...]:
        """Exceptions raised inside the server's handlers so far."""
        return tuple(self._errors)

    def raise_errors(self) -> None:
        """Re-raise the first handler exception, if any."""
        if self._errors:
            raise self._errors[0]

    async def start(self) -> None:
        raise NotImplementedError

    async def stop(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


class StreamLoopbackServer(LoopbackServer):
    """A TCP server whose connections each run in a task; stopping cancels them promptly."""

    def __init__(self) -> None:
        super().__init__()
        self._server: asyncio.Server | None = None
        self._sessions: set[asyncio.Task[None]] = set()
        self._stopping = False

    def _listening(self, server: asyncio.Server) -> None:
        self._server = server
        self._port = server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening, cancel handlers still running and close their connections."""
        if self._server is None:
            return
        self._server.close()
        self._stopping = True
        for task in self._sessions:
            task.cancel()
        await asyncio.gather(*self._sessions, return_exceptions=True)
        await self._server.wait_closed()
        self._server, self._stopping = None, False
