"""Several SMTP servers on distinct loopback addresses sharing one port.

The checker uses one SMTP port for every MX, as senders do; giving each server its own
address (127.0.0.2, 127.0.0.3, ...) on a common port lets DNS point MX names at them
exactly as on the internet.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping

from .smtp_server import LoopbackSmtpServer, Script

_ATTEMPTS = 5  # the port chosen on the first address may be taken on another one


@contextlib.asynccontextmanager
async def servers_on_shared_port(
    scripts: Mapping[str, Script], *, preferred_port: int = 0
) -> AsyncIterator[int]:
    """Start one server per address (all on one free port); yield the port; stop them.

    `preferred_port` is tried first (a stable port lets two runs be compared), then any.

    Script errors are raised after the servers stop, so a broken server fails the test
    that used it rather than showing up only as a client-side timeout.
    """
    for attempt in range(_ATTEMPTS):
        servers: list[LoopbackSmtpServer] = []
        port = preferred_port if attempt == 0 else 0
        try:
            for address, script in scripts.items():
                servers.append(LoopbackSmtpServer(script, host=address, port=port))
                await servers[-1].start()
                port = servers[-1].port
        except OSError:
            await asyncio.gather(*(s.stop() for s in servers))
            if attempt == _ATTEMPTS - 1:
                raise
            continue
        try:
            yield port or unused_port()
        finally:
            await asyncio.gather(*(s.stop() for s in servers))
        for server in servers:
            server.raise_errors()
        return


def unused_port() -> int:
    """A port nothing listens on right now (for 'connection refused' cases)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
