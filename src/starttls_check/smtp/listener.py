"""The receive mode's listener: accepts clients, at most `MAX_SESSIONS` at a time, until N
sessions have ended or its deadline passes.

A connection beyond the limit is told `421` (RFC 5321 §3.8: the server may close after
sending 421) and closed at once, before anything it sends is read; it is counted, not
reported as a client. An exception inside a session is a bug of ours: asyncio would only
log it, so the listener collects it and raises it when the run ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..model.sending import ReceivedClient, listen_text
from .receive_record import Record
from .receiver import ReceiverProtocol

MAX_SESSIONS = 20


@dataclass(frozen=True, slots=True, kw_only=True)
class Received:
    """What the listener saw: where it listened, each session, the connections refused."""

    listen: str  # the bound address and port, `[ADDRESS]:PORT` for IPv6
    clients: tuple[ReceivedClient, ...]  # in the order the sessions ended
    refused: int  # connections turned away with 421 (over MAX_SESSIONS)


class _Refuse(asyncio.Protocol):
    """A connection over the limit: 421, then closed, nothing read."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        transport.write(b"421 4.7.0 too many sessions, try again later\r\n")
        transport.close()


async def receive(
    address: str,
    port: int,
    context: ssl.SSLContext,
    *,
    hostname: str,
    clients: int,
    deadline: float,
    idle: float = 60.0,
    sessions: int = MAX_SESSIONS,
    on_listening: Callable[[str, int], None] | None = None,
) -> Received:
    """Listen on `address:port` until `clients` sessions ended or `deadline` seconds
    passed, with at most `sessions` at once."""
    loop = asyncio.get_running_loop()
    finished: list[ReceivedClient] = []
    enough = asyncio.Event()
    active: set[ReceiverProtocol] = set()
    refused = 0
    errors: list[BaseException] = []

    def done(protocol: ReceiverProtocol, record: Record) -> None:
        active.discard(protocol)
        if len(finished) < clients:
            finished.append(record.facts())
        if len(finished) >= clients:
            enough.set()

    def session() -> asyncio.BaseProtocol:
        nonlocal refused
        if len(active) >= sessions:
            refused += 1
            return _Refuse()
        protocol = ReceiverProtocol(context, hostname, idle, done)
        active.add(protocol)
        return protocol

    def collect(_loop: asyncio.AbstractEventLoop, details: dict[str, Any]) -> None:
        exception = details.get("exception")
        errors.append(exception or RuntimeError(details.get("message", "?")))

    previous = loop.get_exception_handler()
    loop.set_exception_handler(collect)
    try:
        server = await loop.create_server(session, address, port)
        bound = server.sockets[0].getsockname()
        if on_listening is not None:
            on_listening(str(bound[0]), int(bound[1]))
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(enough.wait(), deadline)
        finally:
            server.close()
            for protocol in list(active):
                protocol.stop()
            await server.wait_closed()
    finally:
        loop.set_exception_handler(previous)
    if errors:
        raise errors[0]
    return Received(
        listen=listen_text(str(bound[0]), int(bound[1])), clients=tuple(finished), refused=refused
    )
