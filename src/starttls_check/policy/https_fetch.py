"""Fetch an MTA-STS policy over HTTPS (RFC 8461 §3.3): the I/O edge.

One connection to an address our own resolver returned (never a name), TLS with SNI
`mta-sts.<domain>`, the served chain captured (judged offline later, as for an MX), then one
`GET /.well-known/mta-sts.txt` whose HTTP/1.1 response is read here, bounded in every
dimension: headers, body, and time per phase (connect, handshake, response head, body).
A policy is a few hundred bytes of text/plain, so no HTTP library is needed, and a hand
parser lets every way a server can misbehave become a `FetchFailure` with a reason instead
of an exception. Our own bugs (a name instead of an address, a bad host) still raise.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
import ssl
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from functools import cache
from typing import TypeVar

from ..tls.client import peer_chain_der
from ..tls.wording import describe
from .mta_sts import POLICY_PATH, FetchFailure, FetchResult

__all__ = ["FetchFailure", "FetchResult", "fetch_policy", "policy_context"]

T = TypeVar("T")

MAX_HEAD = 16 * 1024  # status line and headers together
MAX_INTERIM = 5  # 1xx responses skipped before the real one
_CLOSE_GRACE = 0.5  # seconds for a polite TLS close after a complete response
_HOST = re.compile(r"(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)*")
_STATUS_LINE = re.compile(rb"HTTP/1\.[01] ([0-9]{3})(?: ([^\r\n]*))?")
_TOKEN = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]{1,8})[ \t]*(?:;[^\r\n]*)?")


class _Failure(Exception):
    """A server-caused failure, raised inside this module and returned as data."""

    def __init__(self, kind: FetchFailure, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


@dataclass(slots=True)
class _Progress:
    """The facts gathered so far, kept when a later phase fails."""

    status: int | None = None
    content_type: str | None = None
    body: str | None = None
    tls_version: str | None = None
    chain_der: tuple[bytes, ...] = ()


@dataclass(frozen=True, slots=True)
class _Head:
    status: int
    reason: str
    headers: tuple[tuple[str, str], ...] = field(default=())

    def get(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key == name]


@cache
def policy_context() -> ssl.SSLContext:
    """Facts-gathering like `tls.fact_gathering_context()`, but TLS 1.2 or later only: an
    HTTPS policy host has no legacy excuse, and senders' HTTP clients require it."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False  # judged offline, with every problem named
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["http/1.1"])
    return context


async def fetch_policy(
    address: str,
    port: int,
    host: str,
    *,
    timeout: float,  # noqa: ASYNC109 - per phase, not overall: a caller's deadline can't say that
    max_bytes: int = 65536,
) -> FetchResult:
    """GET the policy from `address`:`port` for `host`; never raises for what the server does.

    `timeout` bounds each phase. The served chain is kept, not judged: whether senders
    accept it is decided with the rest (judge/mta_sts.py), and the HTTP facts are gathered
    past any certificate so the policy can still be linted.
    """
    ipaddress.ip_address(address)  # ValueError: the caller passed a name (never resolve here)
    if not _HOST.fullmatch(host):
        raise ValueError(f"not a host name: {host!r}")
    started = time.monotonic()
    progress = _Progress()
    failure: _Failure | None = None
    try:
        await _fetch(progress, address, port, host, timeout, max_bytes)
    except _Failure as exc:
        failure = exc
    return FetchResult(
        host=host,
        address=address,
        port=port,
        failure=failure.kind if failure else None,
        reason=failure.reason if failure else "",
        status=progress.status,
        content_type=progress.content_type,
        body=progress.body,
        tls_version=progress.tls_version,
        chain_der=progress.chain_der,
        elapsed_ms=round((time.monotonic() - started) * 1000, 1),
    )


async def _fetch(
    progress: _Progress,
    address: str,
    port: int,
    host: str,
    seconds: float,
    max_bytes: int,
) -> None:
    sock = await _connect(address, port, seconds)
    reader, writer = await _handshake(sock, host, seconds)
    complete = False
    try:
        ssl_object = writer.get_extra_info("ssl_object")
        assert isinstance(ssl_object, ssl.SSLObject)
        progress.tls_version = ssl_object.version()
        progress.chain_der = peer_chain_der(ssl_object)
        await _phase(_send_request(writer, host), seconds, "sending the request")
        head = await _phase(_read_response_head(reader), seconds, "waiting for the response")
        progress.status = head.status
        progress.content_type = next(iter(head.get("content-type")), None)
        _check_head(head)
        body = await _phase(_read_body(reader, head, max_bytes), seconds, "reading the body")
        progress.body = body.decode("utf-8", errors="replace")
        complete = True
    finally:
        await _close(writer, graceful=complete)


async def _phase(awaitable: Awaitable[T], seconds: float, what: str) -> T:
    """One phase under its own deadline; what breaks mid-stream becomes a failure."""
    try:
        async with asyncio.timeout(seconds):
            return await awaitable
    except TimeoutError:
        raise _Failure(FetchFailure.TIMEOUT, f"{what}: no progress in {seconds:g} s") from None
    except ssl.SSLError as exc:
        raise _Failure(FetchFailure.TLS, f"{what}: TLS error: {_describe(exc)}") from None
    except OSError as exc:  # reset, broken pipe: the response was cut short
        raise _Failure(FetchFailure.MALFORMED, f"{what}: {_describe(exc)}") from None


async def _connect(address: str, port: int, seconds: float) -> socket.socket:
    family = socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        async with asyncio.timeout(seconds):
            await asyncio.get_running_loop().sock_connect(sock, (address, port))
    except TimeoutError:
        sock.close()
        reason = f"connecting to {address} port {port}: no answer in {seconds:g} s"
        raise _Failure(FetchFailure.TIMEOUT, reason) from None
    except OSError as exc:
        sock.close()
        reason = f"connecting to {address} port {port}: {_describe(exc)}"
        raise _Failure(FetchFailure.CONNECT, reason) from None
    return sock


async def _handshake(
    sock: socket.socket, host: str, seconds: float
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """TLS from the first byte, over the connected socket: nothing read before the
    handshake can be mistaken for a response (the STARTTLS injection class)."""
    try:
        async with asyncio.timeout(seconds):
            return await asyncio.open_connection(
                sock=sock, ssl=policy_context(), server_hostname=host, limit=MAX_HEAD
            )
    except TimeoutError:
        sock.close()
        reason = f"TLS handshake: not finished in {seconds:g} s"
        raise _Failure(FetchFailure.TIMEOUT, reason) from None
    except (ssl.SSLError, OSError, EOFError) as exc:
        sock.close()
        raise _Failure(FetchFailure.TLS, f"TLS handshake: {_describe(exc)}") from None


async def _send_request(writer: asyncio.StreamWriter, host: str) -> None:
    # Accept-Encoding: without it any content coding would be acceptable (RFC 9110
    # §12.5.3), and a compressed policy is one more thing to get wrong.
    request = (
        f"GET {POLICY_PATH} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: starttls-check\r\n"
        "Accept: text/plain\r\nAccept-Encoding: identity\r\nConnection: close\r\n\r\n"
    )
    writer.write(request.encode("ascii"))
    await writer.drain()


async def _read_response_head(reader: asyncio.StreamReader) -> _Head:
    """The final response's head, skipping interim 1xx responses (RFC 9110 §15.2)."""
    for _ in range(MAX_INTERIM + 1):
        head = _parse_head(await _read_lines(reader, MAX_HEAD, "response headers"))
        if not 100 <= head.status < 200:
            return head
    raise _Failure(FetchFailure.MALFORMED, f"more than {MAX_INTERIM} interim 1xx responses")


async def _read_lines(reader: asyncio.StreamReader, budget: int, what: str) -> list[bytes]:
    """Lines up to an empty one (CRLF or bare LF endings), at most `budget` bytes in all."""
    lines: list[bytes] = []
    used = 0
    while True:
        try:
            line = await reader.readuntil(b"\n")
        except asyncio.IncompleteReadError as exc:
            said = "nothing" if not (lines or exc.partial) else f"{used + len(exc.partial)} bytes"
            raise _Failure(FetchFailure.MALFORMED, f"{what}: closed after {said}") from None
        except asyncio.LimitOverrunError:
            raise _Failure(FetchFailure.MALFORMED, f"{what}: over {budget} bytes") from None
        used += len(line)
        if used > budget:
            raise _Failure(FetchFailure.MALFORMED, f"{what}: over {budget} bytes")
        line = line.removesuffix(b"\n").removesuffix(b"\r")
        if not line:
            return lines
        lines.append(line)


def _parse_head(lines: list[bytes]) -> _Head:
    if not lines:
        raise _Failure(FetchFailure.MALFORMED, "an empty line instead of a status line")
    match = _STATUS_LINE.fullmatch(lines[0])
    if match is None:
        shown = _show(lines[0])
        raise _Failure(FetchFailure.MALFORMED, f"not an HTTP/1.x status line: {shown}")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if line[:1] in (b" ", b"\t") or not colon or not _TOKEN.fullmatch(name):
            raise _Failure(FetchFailure.MALFORMED, f"not a header line: {_show(line)}")
        headers.append((name.decode("ascii").lower(), value.strip(b" \t").decode("latin-1")))
    reason = (match.group(2) or b"").decode("latin-1")
    return _Head(status=int(match.group(1)), reason=reason, headers=tuple(headers))


def _check_head(head: _Head) -> None:
    """Status and media type as RFC 8461 §3.3 requires them; no redirects, ever."""
    if 300 <= head.status < 400:
        location = next(iter(head.get("location")), None)
        where = f" to {_show(location.encode('latin-1'))}" if location else ""
        reason = f"HTTP {head.status} redirect{where}; senders must not follow redirects"
        raise _Failure(FetchFailure.REDIRECT, reason)
    if head.status != 200:
        reason = f"HTTP {head.status} {_show(head.reason.encode('latin-1'), quote=False)}"
        raise _Failure(FetchFailure.HTTP_STATUS, reason.rstrip())
    content_type = next(iter(head.get("content-type")), None)
    if content_type is None:
        raise _Failure(FetchFailure.CONTENT_TYPE, "no Content-Type header; it must be text/plain")
    if content_type.partition(";")[0].strip().lower() != "text/plain":
        shown = _show(content_type.encode("latin-1"))
        raise _Failure(FetchFailure.CONTENT_TYPE, f"Content-Type is {shown}, not text/plain")
    codings = [c for v in head.get("content-encoding") for c in _list(v) if c != "identity"]
    if codings:
        reason = f"Content-Encoding {', '.join(codings)} although only identity was accepted"
        raise _Failure(FetchFailure.MALFORMED, reason)


async def _read_body(reader: asyncio.StreamReader, head: _Head, max_bytes: int) -> bytes:
    """The body, framed as RFC 9112 §6.3 says: chunked, Content-Length, or until close."""
    transfer = [c for v in head.get("transfer-encoding") for c in _list(v)]
    if transfer:
        if transfer != ["chunked"]:
            reason = f"unsupported Transfer-Encoding {', '.join(transfer)}"
            raise _Failure(FetchFailure.MALFORMED, reason)
        return await _read_chunked(reader, max_bytes)
    lengths = {v.strip() for v in head.get("content-length")}
    if not lengths:
        return await _read_until_close(reader, max_bytes)
    if len(lengths) > 1 or not all(v.isdigit() and v.isascii() for v in lengths):
        reason = f"bad Content-Length {', '.join(sorted(lengths))}"
        raise _Failure(FetchFailure.MALFORMED, reason)
    length = int(lengths.pop())
    if length > max_bytes:
        raise _Failure(FetchFailure.TOO_LARGE, f"Content-Length {length} > {max_bytes} bytes")
    return await _read_exactly(reader, length, f"body of {length} bytes")


async def _read_exactly(reader: asyncio.StreamReader, size: int, what: str) -> bytes:
    try:
        return await reader.readexactly(size)
    except asyncio.IncompleteReadError as exc:
        reason = f"{what}: closed after {len(exc.partial)} bytes"
        raise _Failure(FetchFailure.MALFORMED, reason) from None


async def _read_until_close(reader: asyncio.StreamReader, max_bytes: int) -> bytes:
    body = bytearray()
    while chunk := await reader.read(max_bytes + 1 - len(body)):
        body += chunk
        if len(body) > max_bytes:  # one byte over the limit tells us it is over
            raise _Failure(FetchFailure.TOO_LARGE, f"body over {max_bytes} bytes")
    return bytes(body)


async def _read_chunked(reader: asyncio.StreamReader, max_bytes: int) -> bytes:
    body = bytearray()
    while True:
        size_line = await _read_chunk_line(reader)
        match = _CHUNK_SIZE.fullmatch(size_line)
        if match is None:
            raise _Failure(FetchFailure.MALFORMED, f"bad chunk size line {_show(size_line)}")
        size = int(match.group(1), 16)
        if size == 0:
            await _read_lines(reader, MAX_HEAD, "chunked trailer")
            return bytes(body)
        if len(body) + size > max_bytes:
            raise _Failure(FetchFailure.TOO_LARGE, f"chunked body over {max_bytes} bytes")
        body += await _read_exactly(reader, size, f"chunk of {size} bytes")
        if await _read_chunk_line(reader):
            raise _Failure(FetchFailure.MALFORMED, "chunk data longer than its size")


async def _read_chunk_line(reader: asyncio.StreamReader) -> bytes:
    try:
        line = await reader.readuntil(b"\n")
    except asyncio.IncompleteReadError:
        raise _Failure(FetchFailure.MALFORMED, "chunked body cut short") from None
    except asyncio.LimitOverrunError:
        raise _Failure(FetchFailure.MALFORMED, "chunk size line too long") from None
    return line.removesuffix(b"\n").removesuffix(b"\r")


async def _close(writer: asyncio.StreamWriter, *, graceful: bool) -> None:
    """After a complete response, a polite TLS close; after a failure, a reset: a server
    that stalls would otherwise hold the close_notify exchange for its whole timeout."""
    if not graceful:
        writer.transport.abort()
        return
    writer.close()
    try:
        async with asyncio.timeout(_CLOSE_GRACE):
            await writer.wait_closed()
    except (TimeoutError, OSError, ssl.SSLError):
        writer.transport.abort()


def _list(value: str) -> list[str]:
    return [item.strip().lower() for item in value.split(",") if item.strip()]


def _describe(exc: BaseException) -> str:
    return describe(exc)[:200]


def _show(data: bytes, *, quote: bool = True, limit: int = 80) -> str:
    """Server bytes for a message: decoded losslessly, capped, control characters escaped."""
    text = data[:limit].decode("latin-1") + ("..." if len(data) > limit else "")
    return repr(text) if quote else repr(text)[1:-1]
