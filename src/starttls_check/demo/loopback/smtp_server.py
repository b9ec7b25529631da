"""A scripted SMTP server on loopback with real STARTTLS.

Each accepted connection runs a *script*: a coroutine that drives the dialogue through a
:class:`ServerConnection`. :func:`standard_session` is the well-behaved script; tests
write their own for misbehaviour (split replies, plaintext injected after ``220``,
endless lines, resets). Standard library only, so it ships inside the package.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import struct
import tempfile
import warnings
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from .server_base import StreamLoopbackServer

Script = Callable[["ServerConnection"], Awaitable[None]]
"""What runs for each accepted connection."""

_STREAM_LIMIT = 65536  # bounds buffering of an endless line, whatever read_line's limit


class LineTooLongError(Exception):
    """The peer sent a line longer than the limit given to ``read_line``."""


class ServerConnection:
    """The server side of one accepted connection, as seen by a script."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self.tls_active = False
        """Whether :meth:`start_tls` has completed on this connection."""

    @property
    def peer(self) -> tuple[Any, ...]:
        """The client's socket address, ``(host, port, ...)``."""
        peer: tuple[Any, ...] = self._writer.get_extra_info("peername")
        return peer

    async def send(self, data: bytes) -> None:
        """Write ``data`` and wait until the transport buffer drains."""
        self._writer.write(data)
        await self._writer.drain()

    async def read_line(self, limit: int = 4096) -> bytes | None:
        """Return one line including its LF (or CRLF); ``None`` at end of stream.

        An unterminated fragment before end of stream is discarded. Raises
        :class:`LineTooLongError` past ``limit`` bytes (at most 64 KiB is buffered).
        """
        try:
            line = await self._reader.readuntil(b"\n")
        except asyncio.IncompleteReadError:
            return None
        except asyncio.LimitOverrunError as exc:
            raise LineTooLongError(f"line longer than {_STREAM_LIMIT} bytes") from exc
        if len(line) > limit:
            raise LineTooLongError(f"line of {len(line)} bytes, limit {limit}")
        return line

    async def start_tls(
        self, ctx: ssl.SSLContext, *, handshake_timeout: float = 10.0, keep_buffered: bool = False
    ) -> None:
        """Upgrade to TLS as the server.

        RFC 3207 §4.2: whatever the client sent after STARTTLS, before the handshake, is
        discarded; `StreamWriter.start_tls` would otherwise hand it to the next
        `read_line` as if it had come over TLS. `keep_buffered=True` keeps it, which is the
        CVE-2011-0411 bug, for servers that must be vulnerable on purpose.
        """
        if not keep_buffered:
            # StreamReader has no public way to drop its buffer; this server is ours.
            self._reader._buffer.clear()  # type: ignore[attr-defined]
        await self._writer.start_tls(ctx, ssl_handshake_timeout=handshake_timeout)
        self.tls_active = True

    def close(self) -> None:
        """Close politely (FIN, or TLS close_notify then FIN)."""
        self._writer.close()

    def abort(self) -> None:
        """Reset the connection: SO_LINGER 0 makes close() send RST, not FIN."""
        sock = self._writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self._writer.transport.abort()


class LoopbackSmtpServer(StreamLoopbackServer):
    """Listens on ``host`` (any loopback address), ``port`` (0: a free one); runs ``script``.

    Exceptions escaping a script, other than the client going away, are recorded;
    call :meth:`raise_errors` on teardown.
    """

    def __init__(self, script: Script, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__()
        self._script = script
        self._requested_port = port  # 0: any free port; else share a port across addresses
        self.host = host
        """The address we listen on."""

    async def start(self) -> None:
        """Start listening."""
        self._server = await asyncio.start_server(
            self._serve, self.host, self._requested_port, limit=_STREAM_LIMIT
        )
        self._listening(self._server)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self._session(self._script(ServerConnection(reader, writer)), writer)


async def standard_session(
    conn: ServerConnection,
    *,
    hostname: str,
    tls_context: ssl.SSLContext | None,
    offer_starttls: bool = True,
    greeting_delay: float = 0.0,
    banner: str | None = None,
    ehlo_extensions: tuple[str, ...] = ("PIPELINING", "SIZE 10240000", "8BITMIME"),
    starttls_reply: str = "220 2.0.0 Ready to start TLS",
) -> None:
    """A minimal well-behaved SMTP server dialogue (RFC 5321, RFC 3207).

    ``banner`` replaces the greeting text after ``220 ``. STARTTLS offered without a
    ``tls_context`` answers 454, like a server whose certificate failed to load. A
    ``starttls_reply`` not starting with ``2`` is sent and the session goes on in clear.
    """
    if greeting_delay:
        await asyncio.sleep(greeting_delay)
    await _reply(conn, f"220 {banner if banner is not None else f'{hostname} ESMTP'}")
    while True:
        try:
            line = await conn.read_line()
        except LineTooLongError:
            return  # RFC 5321 §4.5.3.1.4 allows 500; closing keeps the server simple
        if line is None:
            return
        verb = line.split(maxsplit=1)[0].upper() if line.strip() else b""
        starttls_here = offer_starttls and not conn.tls_active
        if verb == b"EHLO":
            starttls = ("STARTTLS",) if starttls_here else ()
            await conn.send(_multiline(250, (hostname, *ehlo_extensions, *starttls)))
        elif verb == b"HELO":
            await _reply(conn, f"250 {hostname}")
        elif verb == b"STARTTLS" and starttls_here:
            if tls_context is None:
                await _reply(conn, "454 4.7.0 TLS not available due to temporary reason")
                continue
            await _reply(conn, starttls_reply)
            if starttls_reply.startswith("2"):
                await conn.start_tls(tls_context)
        elif verb in (b"NOOP", b"RSET"):
            await _reply(conn, "250 2.0.0 OK")
        elif verb == b"QUIT":
            await _reply(conn, "221 2.0.0 Bye")
            conn.close()
            return
        else:
            await _reply(conn, "502 5.5.2 Command not recognized")


def server_tls_context(
    cert_chain_pem: bytes,
    key_pem: bytes,
    *,
    minimum_version: ssl.TLSVersion | None = None,
    maximum_version: ssl.TLSVersion | None = None,
    ciphers: str | None = None,
) -> ssl.SSLContext:
    """A server context serving ``cert_chain_pem`` (leaf first) with ``key_pem``.

    Below TLS 1.2, OpenSSL 3 needs security level 0 for its ciphers and signatures,
    so that is the default cipher string when either bound is TLS 1.0 or 1.1; a legacy
    ``maximum_version`` alone also lowers the minimum to TLS 1.0.
    """
    legacy = {ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1}
    if maximum_version in legacy and minimum_version is None:
        # The system floor is TLS 1.2 here: a lower ceiling alone leaves no protocol.
        minimum_version = ssl.TLSVersion.TLSv1
    # Setting TLSv1/TLSv1_1 warns, and the test suite turns warnings into errors.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        if ciphers is None and {minimum_version, maximum_version} & legacy:
            ciphers = "DEFAULT:@SECLEVEL=0"
        if ciphers is not None:
            ctx.set_ciphers(ciphers)
        if minimum_version is not None:
            ctx.minimum_version = minimum_version
        if maximum_version is not None:
            ctx.maximum_version = maximum_version
    # load_cert_chain only reads files; mkdtemp makes the directory private (0700).
    with tempfile.TemporaryDirectory(prefix="starttls-check-") as tmp:
        cert_file, key_file = Path(tmp, "chain.pem"), Path(tmp, "key.pem")
        cert_file.write_bytes(cert_chain_pem)
        key_file.touch(mode=0o600)
        key_file.write_bytes(key_pem)
        ctx.load_cert_chain(cert_file, key_file)
    return ctx


def _multiline(code: int, lines: tuple[str, ...]) -> bytes:
    # RFC 5321 §4.2.1: "250-" on every line but the last, which has "250 ".
    *head, last = lines
    return b"".join(_encode(f"{code}-{text}") for text in head) + _encode(f"{code} {last}")


def _encode(text: str) -> bytes:
    return text.encode("utf-8") + b"\r\n"


async def _reply(conn: ServerConnection, text: str) -> None:
    await conn.send(_encode(text))
