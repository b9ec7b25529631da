"""The transcript is what was received: every line the server sent, byte for byte.

A scripted loopback server (real STARTTLS, trustme certificate) records each write; the
received lines of the transcript, turned back into bytes with `wire_bytes`, must equal
everything it wrote, in clear text and inside TLS alike. `-v` and the JSON show the same
lines, escaped for the terminal, never rebuilt from the parsed reply.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from datetime import UTC, datetime

import pytest

from starttls_check.demo.loopback.pki import chain_pem, make_ca, make_leaf
from starttls_check.demo.loopback.smtp_server import Script, ServerConnection, server_tls_context
from starttls_check.model.report import DomainReport
from starttls_check.model.session import Direction, wire_bytes, wire_text
from starttls_check.render import render
from starttls_check.render.transcript import render_transcript

from .harness import mail_world, run

MX = "mx.example.test"
ADDRESS = "127.0.0.2"
MX_ZONE = f"example.test. IN MX 10 {MX}.\n{MX}. IN A {ADDRESS}\n"
GAP = 0.05  # between the pieces of one reply: each goes out in its own TCP segment

# Each reply as the pieces the server writes: greeting, EHLO, STARTTLS, EHLO in TLS, QUIT.
Replies = tuple[tuple[bytes, ...], ...]
CASES: dict[str, Replies] = {
    "split": (
        (b"220 mx.exa", b"mple.test ES", b"MTP\r\n"),
        (b"250-mx.example.test\r\n250-SIZ", b"E 10240000\r", b"\n250 STARTTLS\r\n"),
        (b"220 2.0.0 ", b"go ahead\r\n"),
        (b"250-mx.example.test\r\n", b"250 SIZE 10240000\r\n"),
        (b"221 ", b"bye\r\n"),
    ),
    "bare-lf": (
        (b"220-mx.example.test\n220 ESMTP\r\r\n",),
        (b"250-mx.example.test\n250-SIZE 10240000\n250 STARTTLS\n",),
        (b"220 go ahead\n",),
        (b"250-mx.example.test\n250 SIZE 10240000\r\n",),
        (b"221 bye\n",),
    ),
    "mixed-code": (
        (b"220 mx.example.test ESMTP\r\n",),
        (b"250-mx.example.test\r\n251-SIZE 10240000\r\n\r\n250 STARTTLS\r\n",),
        (b"220 go ahead\r\n",),
        (b"250-mx.example.test\r\n252-PIPELINING\r\n250 SIZE 10240000\r\n",),
        (b"221 bye\r\n",),
    ),
    "8-bit": (
        (b"220 mx t\xc3\xa9st \xff\xfe \x00 \x1b[2J \\x41 back\\slash\r\n",),
        (b"250-mx.example.test \x80\r\n250-X-\xe9\xe9\r\n250 STARTTLS\r\n",),
        (b"220 \xe2\x80\xae go ahead\r\n",),
        (b"250-mx.example.test\r\n250 SIZE 10240000 \xc3\r\n",),
        (b"221 \x07bye\r\n",),
    ),
}


def recording_server(context: ssl.SSLContext, replies: Replies, sent: list[bytes]) -> Script:
    """Plays `replies` in order around a real STARTTLS, recording every byte it writes."""
    greeting, ehlo, go_ahead, ehlo_tls, bye = replies

    async def say(conn: ServerConnection, pieces: tuple[bytes, ...]) -> None:
        for index, piece in enumerate(pieces):
            if index:
                await asyncio.sleep(GAP)
            sent.append(piece)
            await conn.send(piece)

    async def script(conn: ServerConnection) -> None:
        await say(conn, greeting)
        assert await conn.read_line() == b"EHLO client.test\r\n"
        await say(conn, ehlo)
        assert await conn.read_line() == b"STARTTLS\r\n"
        await say(conn, go_ahead)
        await conn.start_tls(context)
        assert await conn.read_line() == b"EHLO client.test\r\n"
        await say(conn, ehlo_tls)
        assert await conn.read_line() == b"QUIT\r\n"
        await say(conn, bye)

    return script


def check(replies: Replies) -> tuple[DomainReport, bytes]:
    """The whole checker against the server; the report and every byte the server sent."""
    ca = make_ca("transcript test CA")
    leaf = make_leaf([MX], ca)
    context = server_tls_context(chain_pem(leaf, ca), leaf.key_pem)
    sent: list[bytes] = []
    script = recording_server(context, replies, sent)

    async def go() -> DomainReport:
        async with mail_world(MX_ZONE, {ADDRESS: script}, ca=ca) as world:
            return await world.check("example.test", timeout=2.0)

    report = run(go())
    return report, b"".join(sent)


def received(report: DomainReport) -> list[str]:
    return [e.text for e in report.hosts[0].facts.transcript if e.direction is Direction.RECEIVED]


@pytest.mark.parametrize("case", list(CASES))
def test_received_lines_are_exactly_what_the_server_sent(case: str) -> None:
    report, sent = check(CASES[case])
    facts = report.hosts[0].facts
    assert facts.error is None, facts.transcript
    assert facts.tls is not None  # the lines inside TLS are compared too
    lines = received(report)
    assert b"".join(wire_bytes(text) for text in lines) == sent
    assert len(lines) == sent.count(b"\n")  # one entry per line, however it was split


def test_a_mixed_code_line_is_shown_with_the_code_it_came_with() -> None:
    report, _ = check(CASES["mixed-code"])
    assert "251-SIZE 10240000" in received(report)
    assert "252-PIPELINING" in received(report)
    verbose = render_transcript([report], color=False, width=200)
    assert "<- 251-SIZE 10240000\n" in verbose
    assert "<- 250-SIZE 10240000" not in verbose  # not rebuilt from the parsed reply
    document = json.loads(render("json", [report], generated_at=datetime.now(UTC)))
    texts = [e["text"] for e in document["reports"][0]["hosts"][0]["facts"]["transcript"]]
    assert "251-SIZE 10240000" in texts
    assert "" in texts  # the empty line, as an empty line


def test_8bit_and_control_bytes_are_shown_escaped_and_unambiguous() -> None:
    report, _ = check(CASES["8-bit"])
    greeting = received(report)[0]
    assert greeting == "220 mx tést \\xff\\xfe \x00 \x1b[2J \\\\x41 back\\\\slash"
    for color in (False, True):
        verbose = render_transcript([report], color=color, width=200)
        assert "\x1b[2J" not in verbose
        assert "\x07" not in verbose
        assert "\u202e" not in verbose
        # A byte that is not UTF-8 and a backslash the server sent look different.
        assert "\\xff\\xfe \\x00 \\x1b[2J \\\\x41 back\\\\slash" in verbose


def test_bare_lf_endings_are_visible_in_the_terminal() -> None:
    report, _ = check(CASES["bare-lf"])
    verbose = render_transcript([report], color=False, width=200)
    assert "<- 220-mx.example.test\\x0a\n" in verbose
    assert "<- 220 ESMTP\\x0d\n" in verbose  # CR CR LF: one CR too many
    assert "<- 250 SIZE 10240000\n" in verbose  # CRLF, as usual: nothing shown


@pytest.mark.parametrize(
    "line",
    [b"250 ok\r\n", b"250 ok\n", b"\r\n", b"\n", b"\\\r\n", b"\\x41\\\\\r\n", b"\xff\\xff\r\r\n"],
)
def test_wire_text_and_wire_bytes_are_inverse(line: bytes) -> None:
    assert wire_bytes(wire_text(line)) == line
