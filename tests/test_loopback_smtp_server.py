"""The scripted loopback SMTP server, driven by a plain asyncio client over real sockets."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import socket
import ssl
import time
import warnings
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import trustme

from starttls_check.demo.loopback.smtp_server import (
    LoopbackSmtpServer,
    ServerConnection,
    server_tls_context,
    standard_session,
)

HOSTNAME = "mx.example.test"
Client = Callable[[LoopbackSmtpServer], Awaitable[None]]


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def tls_context(ca: trustme.CA) -> ssl.SSLContext:
    leaf = ca.issue_cert(HOSTNAME)
    chain = b"".join(blob.bytes() for blob in leaf.cert_chain_pems)
    return server_tls_context(chain, leaf.private_key_pem.bytes())


def client_context(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ca.configure_trust(ctx)
    return ctx


def serve(script: Any, client: Client, host: str = "127.0.0.1") -> LoopbackSmtpServer:
    """Run ``client`` against a fresh server, then surface any script exception."""
    server = LoopbackSmtpServer(script, host=host)

    async def main() -> None:
        async with server:
            await asyncio.wait_for(client(server), timeout=10)

    asyncio.run(main())
    server.raise_errors()
    return server


class SmtpClient:
    """Just enough of a client to drive the server; waits for each reply."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def connect(cls, server: LoopbackSmtpServer) -> SmtpClient:
        return cls(*await asyncio.open_connection(server.host, server.port))

    async def reply(self) -> list[str]:
        lines = []
        while True:
            line = (await self.reader.readline()).decode()
            assert line.endswith("\r\n"), line
            lines.append(line[:-2])
            if line[3] == " ":
                return lines

    async def command(self, text: str) -> list[str]:
        self.writer.write(text.encode() + b"\r\n")
        await self.writer.drain()
        return await self.reply()

    async def close(self) -> None:
        self.writer.close()
        # The server may have reset or closed first; either is fine here.
        with contextlib.suppress(ConnectionError, ssl.SSLError):
            await self.writer.wait_closed()


def session(tls_context: ssl.SSLContext | None, **options: Any) -> Any:
    return functools.partial(
        standard_session, hostname=HOSTNAME, tls_context=tls_context, **options
    )


def test_standard_session_with_starttls(ca: trustme.CA, tls_context: ssl.SSLContext) -> None:
    async def client(server: LoopbackSmtpServer) -> None:
        smtp = await SmtpClient.connect(server)
        assert await smtp.reply() == [f"220 {HOSTNAME} ESMTP"]
        assert await smtp.command("EHLO client.test") == [
            f"250-{HOSTNAME}",
            "250-PIPELINING",
            "250-SIZE 10240000",
            "250-8BITMIME",
            "250 STARTTLS",
        ]
        assert await smtp.command("STARTTLS") == ["220 2.0.0 Ready to start TLS"]
        await smtp.writer.start_tls(client_context(ca), server_hostname=HOSTNAME)
        assert smtp.writer.get_extra_info("ssl_object").version() == "TLSv1.3"
        after = await smtp.command("EHLO client.test")
        assert after[-1] == "250 8BITMIME"
        assert not any("STARTTLS" in line for line in after)
        assert await smtp.command("STARTTLS") == ["502 5.5.2 Command not recognized"]
        assert await smtp.command("NOOP") == ["250 2.0.0 OK"]
        assert await smtp.command("RSET") == ["250 2.0.0 OK"]
        assert await smtp.command("QUIT") == ["221 2.0.0 Bye"]
        assert await smtp.reader.read() == b""
        await smtp.close()

    serve(session(tls_context), client)


def test_without_starttls_offer(tls_context: ssl.SSLContext) -> None:
    async def client(server: LoopbackSmtpServer) -> None:
        smtp = await SmtpClient.connect(server)
        assert await smtp.reply() == ["220 custom banner"]
        ehlo = await smtp.command("EHLO client.test")
        assert ehlo == [f"250-{HOSTNAME}", "250 X-ONLY"]
        assert await smtp.command("STARTTLS") == ["502 5.5.2 Command not recognized"]
        assert await smtp.command("HELO client.test") == [f"250 {HOSTNAME}"]
        assert await smtp.command("MAIL FROM:<a@b.test>") == ["502 5.5.2 Command not recognized"]
        assert await smtp.command("QUIT") == ["221 2.0.0 Bye"]
        await smtp.close()

    options = {"offer_starttls": False, "banner": "custom banner", "ehlo_extensions": ("X-ONLY",)}
    serve(session(tls_context, **options), client)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"starttls_reply": "454 4.7.0 Not now"}, ["454 4.7.0 Not now"]),
        ({}, ["454 4.7.0 TLS not available due to temporary reason"]),  # no tls_context
    ],
)
def test_starttls_refused_continues_in_clear(options: Any, expected: list[str]) -> None:
    async def client(server: LoopbackSmtpServer) -> None:
        smtp = await SmtpClient.connect(server)
        await smtp.reply()
        assert (await smtp.command("EHLO client.test"))[-1] == "250 STARTTLS"
        assert await smtp.command("STARTTLS") == expected
        assert await smtp.command("NOOP") == ["250 2.0.0 OK"]
        await smtp.close()

    context = None if not options else ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    serve(session(context, **options), client)


def test_greeting_delay_and_overlong_line(tls_context: ssl.SSLContext) -> None:
    async def client(server: LoopbackSmtpServer) -> None:
        started = time.monotonic()
        smtp = await SmtpClient.connect(server)
        await smtp.reply()
        assert time.monotonic() - started >= 0.2
        smtp.writer.write(b"NOOP " + b"x" * 5000 + b"\r\n")
        assert await smtp.reader.read() == b""  # closed, no reply
        await smtp.close()

    serve(session(tls_context, greeting_delay=0.2), client)


def test_client_rejecting_certificate_is_not_a_server_error(tls_context: ssl.SSLContext) -> None:
    async def client(server: LoopbackSmtpServer) -> None:
        smtp = await SmtpClient.connect(server)
        await smtp.reply()
        await smtp.command("STARTTLS")
        with pytest.raises(ssl.SSLCertVerificationError):
            await smtp.writer.start_tls(client_context(trustme.CA()), server_hostname=HOSTNAME)
        smtp.writer.transport.abort()

    server = serve(session(tls_context), client)
    assert server.errors == ()


def test_tls10_only_server(ca: trustme.CA) -> None:
    leaf = ca.issue_cert(HOSTNAME)
    chain = b"".join(blob.bytes() for blob in leaf.cert_chain_pems)
    legacy = ssl.TLSVersion.TLSv1
    server_ctx = server_tls_context(chain, leaf.private_key_pem.bytes(), maximum_version=legacy)
    ctx = client_context(ca)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = legacy
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")

    async def client(server: LoopbackSmtpServer) -> None:
        smtp = await SmtpClient.connect(server)
        await smtp.reply()
        await smtp.command("STARTTLS")
        await smtp.writer.start_tls(ctx, server_hostname=HOSTNAME)
        assert smtp.writer.get_extra_info("ssl_object").version() == "TLSv1"
        assert await smtp.command("QUIT") == ["221 2.0.0 Bye"]
        await smtp.close()

    serve(session(server_ctx), client)


def test_custom_script_sees_lines_and_can_reset() -> None:
    seen: list[Any] = []

    async def script(conn: ServerConnection) -> None:
        seen.append(conn.peer[0])
        await conn.send(b"220-split")
        await conn.send(b" reply\r\n220 done\r\n")
        seen.append(await conn.read_line())
        seen.append(await conn.read_line())
        conn.abort()

    async def client(server: LoopbackSmtpServer) -> None:
        smtp = await SmtpClient.connect(server)
        assert await smtp.reply() == ["220-split reply", "220 done"]
        smtp.writer.write(b"bare LF\nCRLF\r\n")
        with pytest.raises(ConnectionResetError):
            await smtp.reader.read()
        await smtp.close()

    serve(script, client)
    assert seen == ["127.0.0.1", b"bare LF\n", b"CRLF\r\n"]


def test_script_exception_is_recorded_and_raised() -> None:
    async def script(conn: ServerConnection) -> None:
        await conn.send(b"220 hi\r\n")
        raise RuntimeError("script bug")

    async def client(server: LoopbackSmtpServer) -> None:
        smtp = await SmtpClient.connect(server)
        await smtp.reply()
        assert await smtp.reader.read() == b""  # the server still closes the connection
        await smtp.close()

    with pytest.raises(RuntimeError, match="script bug"):
        serve(script, client)


def test_stop_cancels_stuck_scripts_promptly() -> None:
    async def script(conn: ServerConnection) -> None:
        await conn.send(b"220 hi\r\n")
        await asyncio.Event().wait()  # a server that never answers again

    async def client(server: LoopbackSmtpServer) -> None:
        smtp = await SmtpClient.connect(server)
        await smtp.reply()
        started = time.monotonic()
        await server.stop()
        assert time.monotonic() - started < 1
        assert await smtp.reader.read() == b""
        await smtp.close()

    serve(script, client)


def ipv6_loopback_available() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not ipv6_loopback_available(), reason="cannot bind ::1")
def test_ipv6_loopback(ca: trustme.CA, tls_context: ssl.SSLContext) -> None:
    async def client(server: LoopbackSmtpServer) -> None:
        smtp = await SmtpClient.connect(server)
        assert smtp.writer.get_extra_info("peername")[0] == "::1"
        await smtp.reply()
        await smtp.command("STARTTLS")
        await smtp.writer.start_tls(client_context(ca), server_hostname=HOSTNAME)
        assert await smtp.command("QUIT") == ["221 2.0.0 Bye"]
        await smtp.close()

    serve(session(tls_context), client, host="::1")
