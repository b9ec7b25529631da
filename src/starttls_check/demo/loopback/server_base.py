"""What every loopback server shares: a port once started, recorded errors, `async with`.

An exception inside a server's handler would otherwise show up only as a client-side
timeout; the servers record them and tests call `raise_errors()` on teardown.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable
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


# The client going away mid-session is expected (it gave up, rejected our certificate, or
# the test closed it); anything else escaping a handler is a bug worth surfacing.
CLIENT_GONE = (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError)
CLOSE_GRACE = 1.0  # seconds a TLS close_notify may take before we abort instead


async def close_writer(writer: asyncio.StreamWriter, grace: float) -> None:
    """Close politely (TLS close_notify, then FIN), or reset after `grace` seconds."""
    writer.close()
    try:
        async with asyncio.timeout(grace):
            await writer.wait_closed()
    except (TimeoutError, *CLIENT_GONE):
        writer.transport.abort()


class StreamLoopbackServer(LoopbackServer):
    """A TCP server whose connections each run in a task; stopping cancels them promptly."""

    def __init__(self) -> None:
        super().__init__()
        self._server: asyncio.Server | None = None
        self._sessions: set[asyncio.Task[None]] = set()
        self._stopping = False

    async def _session(self, work: Awaitable[None], writer: asyncio.StreamWriter) -> None:
        """Run one connection's handler: record its errors, then close the connection.

        The task stays registered until the connection is closed, so that stop() also waits
        for (and cancels) a close still waiting for the client's close_notify.
        """
        task = asyncio.current_task()
        assert task is not None
        self._sessions.add(task)
        try:
            await work
        except CLIENT_GONE:
            pass
        except asyncio.CancelledError:
            # Ours from stop(): end normally, because on 3.11 start_server's done callback
            # calls task.exception() on a cancelled task and logs an error.
            if not self._stopping:
                raise
        except Exception as exc:  # recorded, then surfaced by raise_errors()
            self._errors.append(exc)
        finally:
            try:
                await close_writer(writer, 0 if self._stopping else CLOSE_GRACE)
            except asyncio.CancelledError:
                writer.transport.abort()
                if not self._stopping:
                    raise
            finally:
                self._sessions.discard(task)

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
