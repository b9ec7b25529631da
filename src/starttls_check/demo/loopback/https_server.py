"""A loopback HTTPS server for MTA-STS policy tests: one request per connection.

A *handler* answers each request: with an :class:`HttpResponse` (or a plain
``(status, headers, body)`` tuple), framed by Content-Length, chunked, or by closing; or
with a :class:`RawResponse` whose bytes go out exactly as given, for the misbehaviour a
well-formed response cannot show (a bad status line, a lying Content-Length, a stall).
Handlers may be plain functions or coroutines. Standard library only, like the SMTP
server, so it ships inside the package.
"""

from __future__ import annotations

import asyncio
import http
import inspect
import ssl
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, TypeAlias

from .server_base import StreamLoopbackServer

_MAX_REQUEST = 65536  # request line and headers


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpRequest:
    """One request as the client sent it."""

    method: str
    path: str
    version: str
    headers: tuple[tuple[str, str], ...]  # names in lower case, in order
    server_name: str | None  # the SNI the client sent, if the server could see it

    def header(self, name: str) -> str | None:
        """The first value of header `name` (case-insensitive), or None."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key == wanted), None)


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpResponse:
    """A response the server frames itself (unless the headers already frame it)."""

    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    framing: Literal["length", "chunked", "close"] = "length"
    chunk_size: int = 4096
    delay: float = 0.0  # seconds before anything is sent: a slow server


@dataclass(frozen=True, slots=True, kw_only=True)
class RawResponse:
    """Bytes sent as they are, then optionally a stall before the connection closes."""

    data: bytes
    delay: float = 0.0  # seconds before the bytes
    hold: float = 0.0  # seconds to keep the connection open afterwards


Headers: TypeAlias = Sequence[tuple[str, str]] | Mapping[str, str]
Reply: TypeAlias = HttpResponse | RawResponse | tuple[int, Headers, bytes]
Handler: TypeAlias = Callable[[HttpRequest], Reply | Awaitable[Reply]]


class LoopbackHttpsServer(StreamLoopbackServer):
    """Serves `handler` on ``host`` (any loopback address), ``port`` (0: a free one).

    ``tls_context`` comes from :func:`~.smtp_server.server_tls_context`; None serves plain
    HTTP (a server that does not speak TLS). If the context has no ``sni_callback`` the
    server installs one, to record the name each client asked for. Requests received are
    in :attr:`requests`; handler exceptions are recorded for :meth:`raise_errors`.
    """

    def __init__(
        self,
        handler: Handler,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        tls_context: ssl.SSLContext | None,
    ) -> None:
        super().__init__()
        self._handler = handler
        self.host = host
        """The address we listen on."""
        self._requested_port = port
        self._tls_context = tls_context
        self.requests: list[HttpRequest] = []
        """Every request read so far, in order."""
        self._server_names: dict[int, str | None] = {}

    async def start(self) -> None:
        """Start listening."""
        if self._tls_context is not None and self._tls_context.sni_callback is None:
            self._tls_context.sni_callback = self._note_server_name
        self._server = await asyncio.start_server(
            self._serve, self.host, self._requested_port, ssl=self._tls_context
        )
        self._listening(self._server)

    def _note_server_name(
        self, ssl_object: ssl.SSLObject, server_name: str | None, _: ssl.SSLContext
    ) -> None:
        self._server_names[id(ssl_object)] = server_name

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self._session(self._answer(reader, writer), writer)

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            return  # not an HTTP request we can answer: just close
        ssl_object = writer.get_extra_info("ssl_object")
        request = _parse_request(head, self._server_names.pop(id(ssl_object), None))
        if request is None:
            return
        self.requests.append(request)
        reply = self._handler(request)
        if inspect.isawaitable(reply):
            reply = await reply
        await _send(writer, reply)


def _parse_request(head: bytes, server_name: str | None) -> HttpRequest | None:
    request_line, *lines = head.decode("latin-1").split("\r\n")
    parts = request_line.split(" ")
    if len(parts) != 3:
        return None
    headers = []
    for line in lines:
        name, colon, value = line.partition(":")
        if colon:
            headers.append((name.strip().lower(), value.strip()))
    method, path, version = parts
    return HttpRequest(
        method=method, path=path, version=version, headers=tuple(headers), server_name=server_name
    )


async def _send(writer: asyncio.StreamWriter, reply: Reply) -> None:
    if isinstance(reply, tuple):
        status, headers, body = reply
        pairs = tuple(headers.items()) if isinstance(headers, Mapping) else tuple(headers)
        reply = HttpResponse(status=status, headers=pairs, body=body)
    if isinstance(reply, RawResponse):
        await asyncio.sleep(reply.delay)
        writer.write(reply.data)
        await writer.drain()
        await asyncio.sleep(reply.hold)
        return
    await asyncio.sleep(reply.delay)
    writer.write(encode_response(reply))
    await writer.drain()


def encode_response(response: HttpResponse) -> bytes:
    """The bytes of `response`, adding the framing and `Connection: close` headers unless
    the response sets them itself (so a test can make them lie)."""
    try:
        phrase = http.HTTPStatus(response.status).phrase
    except ValueError:
        phrase = "Whatever"
    headers = list(response.headers)
    names = {name.lower() for name, _ in headers}
    body = response.body
    if response.framing == "chunked":
        if "transfer-encoding" not in names:
            headers.append(("Transfer-Encoding", "chunked"))
        body = _chunked(body, response.chunk_size)
    elif response.framing == "length" and "content-length" not in names:
        headers.append(("Content-Length", str(len(body))))
    if "connection" not in names:
        headers.append(("Connection", "close"))
    head = f"HTTP/1.1 {response.status} {phrase}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers)
    return head.encode("latin-1") + b"\r\n" + body


def _chunked(body: bytes, size: int) -> bytes:
    pieces = [body[i : i + size] for i in range(0, len(body), size)]
    framed = b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces)
    return framed + b"0\r\n\r\n"
