"""Hostile SMTP servers: every misbehaviour ends as a precise fact, in time, in bounded memory.

Each scripted loopback server is run through `probe_smtp` directly (127.0.0.2, port 0,
`timeout=1.0`, `deadline=3.0`) or through the whole checker (`tests/harness.py`). Every
probe is timed with `time.monotonic()` and must return within its deadline plus one second:
a hang guard, not a speed claim. Memory is measured with `tracemalloc` while a server in a
*child process* floods 20 MiB, so that only the client's allocations are counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import ssl
import subprocess
import sys
import time
import tracemalloc
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import pytest

from starttls_check.demo.loopback.pki import chain_pem, make_ca, make_leaf
from starttls_check.demo.loopback.smtp_server import (
    LoopbackSmtpServer,
    Script,
    ServerConnection,
    server_tls_context,
)
from starttls_check.model.findings import Verdict
from starttls_check.model.report import DomainReport
from starttls_check.model.session import DefectKind, ErrorKind, Phase, ProbeError, SessionFacts
from starttls_check.render import FORMATS, render
from starttls_check.smtp.sansio import (
    MAX_LINE_BYTES,
    MAX_REPLY_LINES,
    RemoteProtocolError,
    ReplyReader,
)
from starttls_check.smtp.session import MAX_EVIDENCE_BYTES, SessionSettings, probe_smtp

from .harness import mail_world, run

T = TypeVar("T")
MX = "mx.example.test"
ADDRESS = "127.0.0.2"
MiB = 1 << 20
SETTINGS = SessionSettings(
    ehlo_name="client.test", timeout=1.0, deadline=3.0, checked_at=datetime.now(UTC)
)
MARGIN = 1.0  # the hang guard: a probe returns within its deadline plus this
HUNG = 10.0  # past deadline + HUNG we stop waiting and fail instead of hanging the suite
PROJECT_ROOT = Path(__file__).resolve().parents[1]
TLS_ALERT_HANDSHAKE_FAILURE = b"\x15\x03\x03\x00\x02\x02\x28"  # fatal, handshake_failure
EHLO_WITH_STARTTLS = b"250-mx.example.test\r\n250 STARTTLS\r\n"


# --- running a probe against a script ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class Probed:
    """What a probe found, and how long it took by the monotonic clock."""

    facts: SessionFacts
    elapsed: float
    settings: SessionSettings

    @property
    def error(self) -> ProbeError:
        assert self.facts.error is not None, self.transcript()
        return self.facts.error

    def transcript(self) -> str:
        return "\n".join(
            f"{e.at_ms:8.1f} {e.direction:8} {e.text!r}" for e in self.facts.transcript
        )


async def timed_probe(port: int, settings: SessionSettings = SETTINGS) -> Probed:
    """`probe_smtp` to ADDRESS:port, failing (not hanging) if it outlives its deadline."""
    started = time.monotonic()
    try:
        async with asyncio.timeout(settings.deadline + HUNG):
            outcome = await probe_smtp(ADDRESS, port, MX, settings)
    except TimeoutError:
        pytest.fail(f"probe_smtp hung: still running {settings.deadline + HUNG:g} s later")
    elapsed = time.monotonic() - started
    assert elapsed <= settings.deadline + MARGIN, f"took {elapsed:.2f} s, deadline {settings}"
    return Probed(outcome.facts, elapsed, settings)


async def probe_script_async(script: Script, settings: SessionSettings = SETTINGS) -> Probed:
    async with LoopbackSmtpServer(script, host=ADDRESS) as server:
        probed = await timed_probe(server.port, settings)
    server.raise_errors()  # an exception in the script fails the test, not a client timeout
    return probed


def probe(
    script: Script, *, timeout: float = SETTINGS.timeout, deadline: float = SETTINGS.deadline
) -> Probed:
    settings = replace(SETTINGS, timeout=timeout, deadline=deadline)
    return run(probe_script_async(script, settings))


def assert_error(probed: Probed, phase: Phase, kind: ErrorKind, *details: str) -> None:
    error = probed.error
    assert (error.phase, error.kind) == (phase, kind), (error, probed.transcript())
    for detail in details:
        assert detail in error.detail, (error, probed.transcript())


# --- server building blocks -------------------------------------------------------------


async def greet_and_offer_starttls(conn: ServerConnection) -> None:
    """220, EHLO answered with STARTTLS, STARTTLS read: the next move is the server's."""
    await conn.send(b"220 mx.example.test ESMTP\r\n")
    assert await conn.read_line() == b"EHLO client.test\r\n"
    await conn.send(EHLO_WITH_STARTTLS)
    assert await conn.read_line() == b"STARTTLS\r\n"


async def read_tls_record(conn: ServerConnection) -> bytes:
    """One whole TLS record (the client's ClientHello).

    `ServerConnection` reads lines only, and a TLS record need not contain a line feed,
    so this reads the stream underneath; `read_line` here would be flaky.
    """
    reader = conn._reader
    header = await reader.readexactly(5)
    return header + await reader.readexactly(int.from_bytes(header[3:5], "big"))


async def until_client_leaves(conn: ServerConnection) -> None:
    with contextlib.suppress(ConnectionError):
        while await conn._reader.read(65536):
            pass


async def drip(conn: ServerConnection, data: bytes, over: float) -> None:
    """Send `data` one byte at a time, spread over `over` seconds."""
    for i in range(len(data)):
        await conn.send(data[i : i + 1])
        await asyncio.sleep(over / len(data))


def tls_context() -> ssl.SSLContext:
    ca = make_ca("hostile test CA")
    leaf = make_leaf([MX], ca)
    return server_tls_context(chain_pem(leaf, ca), leaf.key_pem)


def foreign_client_hello() -> bytes:
    """A genuine ClientHello, made by a client-side SSLObject over memory BIOs."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname="client.test")
    with contextlib.suppress(ssl.SSLWantReadError):
        tls.do_handshake()
    hello = outgoing.read()
    assert hello[:1] == b"\x16"  # a handshake record
    assert hello[5:6] == b"\x01"  # holding a ClientHello
    return hello


# --- the hostile scripts ------------------------------------------------------------------


async def drip_greeting_forever(conn: ServerConnection) -> None:
    for byte in itertools.chain(b"220 ", itertools.repeat(ord("x"))):
        await conn.send(bytes([byte]))
        await asyncio.sleep(0.2)


async def steady_but_slow(conn: ServerConnection) -> None:
    """Every reply completes within the 1 s reply timeout; the session never does."""
    await drip(conn, b"220 mx ESMTP\r\n", over=0.75)
    assert await conn.read_line() == b"EHLO client.test\r\n"
    await drip(conn, EHLO_WITH_STARTTLS, over=0.75)
    assert await conn.read_line() == b"STARTTLS\r\n"
    await drip(conn, b"220 2.0.0 go ahead\r\n", over=0.75)
    await until_client_leaves(conn)


async def endless_greeting(conn: ServerConnection) -> None:
    block = b"".join(b"220-line %03d of a greeting that never ends\r\n" % i for i in range(100))
    while True:
        await conn.send(block)
        await asyncio.sleep(0)  # drain() need not yield; let the client run


async def ehlo_10k_lines(conn: ServerConnection) -> None:
    await conn.send(b"220 mx.example.test ESMTP\r\n")
    assert await conn.read_line() == b"EHLO client.test\r\n"
    lines = b"".join(b"250-X-EXTENSION-%05d\r\n" % i for i in range(10_000))
    await conn.send(b"250-mx.example.test\r\n" + lines + b"250 STARTTLS\r\n")
    await until_client_leaves(conn)


def long_line(*, crlf: bool) -> Script:
    async def script(conn: ServerConnection) -> None:
        await conn.send(b"220-" + b"x" * MiB + (b"\r\n" if crlf else b""))
        await until_client_leaves(conn)

    return script


def hostile_bytes_session(context: ssl.SSLContext) -> Script:
    """NUL, invalid UTF-8, valid UTF-8, ESC and BEL in the banner and in both EHLO replies."""

    async def script(conn: ServerConnection) -> None:
        await conn.send(HOSTILE_BANNER)
        assert await conn.read_line() == b"EHLO client.test\r\n"
        await conn.send(HOSTILE_EHLO)
        assert await conn.read_line() == b"STARTTLS\r\n"
        await conn.send(b"220 2.0.0 go ahead\r\n")
        await conn.start_tls(context)
        assert await conn.read_line() == b"EHLO client.test\r\n"
        await conn.send(b"250-mx.example.test\r\n250 X-\xff\x00TLS\r\n")
        assert await conn.read_line() == b"QUIT\r\n"
        await conn.send(b"221 2.0.0 bye\r\n")

    return script


HOSTILE_BANNER = b"220 mx.example.test \x00\xff\xfe t\xc3\xa9st \x1b[2J\x07 ESMTP\r\n"
HOSTILE_BANNER_TEXT = "mx.example.test \x00\\xff\\xfe t\u00e9st \x1b[2J\x07 ESMTP"
HOSTILE_EHLO = b"250-mx.example.test \x00\x80\r\n250-X-\xe9\x00\r\n250 STARTTLS\r\n"


async def alert_after_client_hello(conn: ServerConnection) -> None:
    await greet_and_offer_starttls(conn)
    await conn.send(b"220 2.0.0 go ahead\r\n")
    await read_tls_record(conn)
    await conn.send(TLS_ALERT_HANDSHAKE_FAILURE)
    await until_client_leaves(conn)


async def client_hello_from_the_server(conn: ServerConnection) -> None:
    await greet_and_offer_starttls(conn)
    await conn.send(b"220 2.0.0 go ahead\r\n")
    await read_tls_record(conn)
    await conn.send(foreign_client_hello())  # the server acts as a TLS client
    await until_client_leaves(conn)


async def reset_on_accept(conn: ServerConnection) -> None:
    conn.abort()


async def half_close_after_greeting(conn: ServerConnection) -> None:
    await conn.send(b"220 mx.example.test ESMTP\r\n")
    conn._writer.write_eof()  # shutdown(SHUT_WR): FIN sent, reading goes on
    await until_client_leaves(conn)


def partial_then_close(before: bytes, partial: bytes) -> Script:
    async def script(conn: ServerConnection) -> None:
        if before:
            await conn.send(before)
            assert await conn.read_line() == b"EHLO client.test\r\n"
        await conn.send(partial)
        conn.close()

    return script


def code_change(greeting: bytes, reply: bytes) -> Script:
    async def script(conn: ServerConnection) -> None:
        await conn.send(greeting)
        if reply:
            assert await conn.read_line() == b"EHLO client.test\r\n"
            await conn.send(reply)
        await until_client_leaves(conn)

    return script


# --- slow servers: the reply timeout and the session deadline ----------------------------


@pytest.mark.parametrize(
    ("timeout", "deadline", "limit"),
    [(1.0, 3.0, 1.0), (5.0, 1.5, 1.5)],
    ids=["reply-timeout-first", "deadline-first"],
)
def test_drip_fed_greeting_times_out_in_the_greeting(
    timeout: float, deadline: float, limit: float
) -> None:
    """One byte every 0.2 s forever: each byte is progress, but no reply ever completes.

    The per-reply timeout bounds a whole reply, not the silence between bytes, so a drip
    cannot keep it alive; whichever limit is shorter ends the session, and says so.
    """
    probed = probe(drip_greeting_forever, timeout=timeout, deadline=deadline)
    assert_error(probed, Phase.GREETING, ErrorKind.TIMEOUT, f"{limit:g} s")
    assert limit - 0.05 <= probed.elapsed <= limit + MARGIN
    assert probed.facts.greeting is None


def test_steady_but_slow_server_is_stopped_by_the_session_deadline() -> None:
    """Each reply arrives within the reply timeout (1 s); the deadline (2 s) still holds."""
    probed = probe(steady_but_slow, timeout=1.0, deadline=2.0)
    assert_error(probed, Phase.STARTTLS, ErrorKind.TIMEOUT, "2 s")
    assert probed.facts.ehlo_reply is not None  # replies did complete: progress was made
    assert 1.95 <= probed.elapsed <= 2.0 + MARGIN


def test_deadline_detail_says_it_was_the_session_deadline() -> None:
    probed = probe(steady_but_slow, timeout=1.0, deadline=2.0)
    assert "deadline" in probed.error.detail
    assert "no progress" not in probed.error.detail


# --- endless and oversized replies ---------------------------------------------------------


def test_greeting_that_never_ends_is_a_protocol_error_not_a_timeout() -> None:
    probed = probe(endless_greeting)
    assert_error(
        probed, Phase.GREETING, ErrorKind.PROTOCOL, f"reply longer than {MAX_REPLY_LINES} lines"
    )
    assert probed.elapsed < SETTINGS.timeout  # the bound, not a clock, ended it


def test_ehlo_reply_of_10000_lines_is_a_protocol_error() -> None:
    probed = probe(ehlo_10k_lines)
    assert_error(
        probed, Phase.EHLO, ErrorKind.PROTOCOL, f"reply longer than {MAX_REPLY_LINES} lines"
    )
    assert probed.facts.ehlo_reply is None
    assert probed.elapsed < SETTINGS.timeout


@pytest.mark.parametrize("crlf", [True, False], ids=["with-crlf", "no-crlf"])
def test_one_mib_line_is_a_protocol_error(crlf: bool) -> None:
    probed = probe(long_line(crlf=crlf))
    assert_error(
        probed, Phase.GREETING, ErrorKind.PROTOCOL, f"line longer than {MAX_LINE_BYTES} bytes"
    )
    assert probed.elapsed < SETTINGS.timeout


# --- memory: a 20 MiB flood from a server in a child process ----------------------------

FLOOD_MODES = ("long-lines-crlf", "one-endless-line", "endless-greeting")
FLOOD_TOTAL = 20 * MiB
ENDLESS_LINE = b"220-a greeting that never ends\r\n"  # 32 bytes
PEAK_LIMIT = 4 * MiB  # MAX_LINE_BYTES and one 256 KiB read chunk, with room to spare


def flood_chunks(mode: str) -> Iterator[bytes]:
    """20 MiB in 1 MiB writes: lines of 1 MiB, one line that never ends, or endless lines."""
    if mode == "long-lines-crlf":
        return itertools.repeat(b"220-" + b"x" * (MiB - 6) + b"\r\n", 20)
    if mode == "one-endless-line":
        return itertools.chain([b"220-"], itertools.repeat(b"x" * MiB, 20))
    if mode == "endless-greeting":
        return itertools.repeat(ENDLESS_LINE * (MiB // len(ENDLESS_LINE)), 20)
    raise ValueError(mode)


def flood_server_main(mode: str) -> None:
    """Child-process entry point: print the port, serve one flood, print the bytes sent."""
    asyncio.run(_flood_server(mode))


async def _flood_server(mode: str) -> None:
    finished = asyncio.Event()
    sent = 0

    async def script(conn: ServerConnection) -> None:
        nonlocal sent
        try:
            for chunk in flood_chunks(mode):
                await conn.send(chunk)
                sent += len(chunk)
            await until_client_leaves(conn)
        finally:
            finished.set()

    async with LoopbackSmtpServer(script, host=ADDRESS) as server:
        sys.stdout.write(f"{server.port}\n")
        sys.stdout.flush()
        async with asyncio.timeout(20):
            await finished.wait()
    server.raise_errors()
    sys.stdout.write(f"{sent}\n")


@contextlib.contextmanager
def flood_server(mode: str) -> Iterator[tuple[int, Callable[[], int]]]:
    """A flood server in a child process: (its port, a function returning bytes it sent)."""
    code = (
        "import sys; from tests.test_hostile_servers import flood_server_main as m; m(sys.argv[1])"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code, mode],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        port_line = child.stdout.readline()
        if not port_line:
            _, err = child.communicate(timeout=30)
            pytest.fail(f"flood server did not start:\n{err}")

        def bytes_sent() -> int:
            out, err = child.communicate(timeout=30)
            assert child.returncode == 0, err
            return int(out)

        yield int(port_line), bytes_sent
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


async def traced_probe(port: int) -> tuple[Probed, int]:
    """The probe, and the peak of memory allocated while it ran (this process only)."""
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    baseline, _ = tracemalloc.get_traced_memory()
    try:
        probed = await timed_probe(port)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        if not was_tracing:
            tracemalloc.stop()
    return probed, peak - baseline


@pytest.mark.parametrize(
    ("mode", "detail"),
    [
        ("long-lines-crlf", f"line longer than {MAX_LINE_BYTES} bytes"),
        ("one-endless-line", f"line longer than {MAX_LINE_BYTES} bytes"),
        ("endless-greeting", f"reply longer than {MAX_REPLY_LINES} lines"),
    ],
)
def test_flood_of_20_mib_ends_in_a_protocol_error_in_bounded_memory(mode: str, detail: str) -> None:
    with flood_server(mode) as (port, bytes_sent):
        probed, peak = run(traced_probe(port))
        sent = bytes_sent()
    assert_error(probed, Phase.GREETING, ErrorKind.PROTOCOL, detail)
    assert probed.elapsed < SETTINGS.timeout
    assert peak < PEAK_LIMIT, f"peak {peak / MiB:.1f} MiB while the server pushed {sent} B"
    assert sent < FLOOD_TOTAL  # the client hung up: it did not swallow the flood


def rechunk(chunks: Iterable[bytes], size: int) -> Iterator[bytes]:
    for chunk in chunks:
        for start in range(0, len(chunk), size):
            yield chunk[start : start + size]


@pytest.mark.parametrize("chunk", [1, 1000, 256 * 1024])
@pytest.mark.parametrize("mode", FLOOD_MODES)
def test_reply_reader_holds_at_most_one_reply_and_one_chunk(mode: str, chunk: int) -> None:
    """The same floods fed to a `ReplyReader` directly, whatever the read size."""
    reader, held = ReplyReader(), [0]

    def feed_everything() -> None:
        for piece in rechunk(flood_chunks(mode), chunk):
            try:
                reader.feed(piece)
            finally:
                held.append(reader.buffered_bytes)

    with pytest.raises(RemoteProtocolError):
        feed_everything()
    # One line too long, or one reply's lines plus the one that broke the bound.
    bound = (
        MAX_LINE_BYTES if mode != "endless-greeting" else len(ENDLESS_LINE) * (MAX_REPLY_LINES + 1)
    )
    assert max(held) <= bound + chunk


# --- hostile bytes ---------------------------------------------------------------------------


def test_nul_and_8bit_bytes_are_kept_escaped_and_the_session_completes() -> None:
    probed = probe(hostile_bytes_session(tls_context()))
    facts = probed.facts
    assert facts.error is None, probed.transcript()
    assert facts.greeting is not None
    assert facts.greeting.lines == (HOSTILE_BANNER_TEXT,)
    assert facts.ehlo_reply is not None
    assert facts.ehlo_reply.lines[0] == "mx.example.test \x00\\x80"
    assert facts.capabilities == ("X-\\xe9\x00", "STARTTLS")
    assert facts.tls is not None
    assert facts.capabilities_after_tls == ("X-\\xff\x00TLS",)


def test_hostile_bytes_in_a_rejection_reach_every_format_neutralised() -> None:
    """The banner text ends up in a finding's message: every renderer must defuse it."""

    async def rejecting(conn: ServerConnection) -> None:
        await conn.send(
            b"554 mx\x00.example\xff t\xc3\xa9st \x1b]0;owned\x07 \xe2\x80\xae [b]x[/]\r\n"
        )
        assert await conn.read_line() == b"QUIT\r\n"
        await conn.send(b"221 bye\r\n")

    async def go() -> DomainReport:
        async with mail_world(MX_ZONE, {ADDRESS: rejecting}) as world:
            return await world.check("example.test", timeout=1.0)

    report = run(go())
    assert [f.code for f in report.all_findings()] == ["smtp.greeting-rejected"]
    for output_format in FORMATS:
        text = render(output_format, [report], generated_at=datetime.now(UTC))
        raw = {c for c in text if c not in "\n\t" and (c < " " or "\x7f" <= c <= "\x9f")}
        assert not raw, (output_format, raw)
        assert "\u202e" not in text, output_format
        if output_format == "json":
            greeting = json.loads(text)["reports"][0]["hosts"][0]["facts"]["greeting"]
            assert greeting["lines"][0].startswith("mx\x00.example\\xff t\u00e9st \x1b]0;")
        if output_format == "junit":
            ET.fromstring(text)  # noqa: S314 - our own output, parsed to prove it is XML


# --- TLS misbehaviour ---------------------------------------------------------------------


def test_tls_alert_mid_handshake_is_a_handshake_failure() -> None:
    probed = probe(alert_after_client_hello)
    assert_error(probed, Phase.HANDSHAKE, ErrorKind.TLS, "alert handshake failure")
    assert probed.facts.injected_plaintext is None  # the alert came after our ClientHello
    assert probed.elapsed < SETTINGS.timeout


def test_tls_alert_glued_to_the_220_is_plaintext_evidence_not_tls() -> None:
    """The alert arrives with the 220, before our ClientHello: it is discarded as evidence,
    and the handshake the server then performs succeeds."""
    context = tls_context()

    async def script(conn: ServerConnection) -> None:
        await greet_and_offer_starttls(conn)
        await conn.send(b"220 2.0.0 go ahead\r\n" + TLS_ALERT_HANDSHAKE_FAILURE)
        await conn.start_tls(context)
        assert await conn.read_line() == b"EHLO client.test\r\n"
        await conn.send(b"250 mx.example.test\r\n")
        assert await conn.read_line() == b"QUIT\r\n"
        await conn.send(b"221 bye\r\n")

    probed = probe(script)
    assert probed.facts.error is None, probed.transcript()
    assert probed.facts.injected_plaintext == TLS_ALERT_HANDSHAKE_FAILURE.decode("latin-1")
    assert probed.facts.tls is not None


def test_server_sending_its_own_client_hello_is_a_handshake_failure() -> None:
    probed = probe(client_hello_from_the_server)
    assert_error(probed, Phase.HANDSHAKE, ErrorKind.TLS, "unexpected message")
    assert probed.elapsed < SETTINGS.timeout


# --- connections that end badly ------------------------------------------------------------


def test_reset_on_accept_ends_the_greeting_promptly() -> None:
    probed = probe(reset_on_accept)
    assert probed.error.phase is Phase.GREETING
    assert probed.error.kind in (ErrorKind.RESET, ErrorKind.CLOSED)
    assert "reset" in probed.error.detail.lower()
    assert probed.elapsed < SETTINGS.timeout


def test_reset_on_accept_is_kind_reset() -> None:
    assert_error(probe(reset_on_accept), Phase.GREETING, ErrorKind.RESET)


def test_half_close_after_greeting_is_closed_during_ehlo() -> None:
    probed = probe(half_close_after_greeting)
    assert_error(probed, Phase.EHLO, ErrorKind.CLOSED, "closed by the server")
    assert probed.facts.greeting is not None
    assert probed.facts.greeting.code == 220
    assert probed.elapsed < SETTINGS.timeout


@pytest.mark.parametrize(
    ("before", "partial", "phase"),
    [
        (b"", b"220-mx.exa", Phase.GREETING),
        (b"220 mx ESMTP\r\n", b"250-mx", Phase.EHLO),
        (b"220 mx ESMTP\r\n", b"250-mx\r\n250-PIPELINING\r\n", Phase.EHLO),
    ],
    ids=["greeting-mid-line", "ehlo-mid-line", "ehlo-mid-reply"],
)
def test_close_after_a_partial_reply_is_closed(before: bytes, partial: bytes, phase: Phase) -> None:
    probed = probe(partial_then_close(before, partial))
    assert_error(probed, phase, ErrorKind.CLOSED, "closed by the server")
    assert probed.facts.ehlo_reply is None
    assert probed.elapsed < SETTINGS.timeout


def test_close_right_after_starttls_220_says_the_server_closed() -> None:
    async def script(conn: ServerConnection) -> None:
        await greet_and_offer_starttls(conn)
        await conn.send(b"220 2.0.0 go ahead\r\n")
        conn.close()

    probed = probe(script)
    assert probed.error.phase is Phase.HANDSHAKE
    assert "closed" in probed.error.detail


@pytest.mark.parametrize(
    ("script", "whose", "code"),
    [
        (code_change(b"220-a\r\n250 b\r\n", b""), "greeting", 250),
        (code_change(b"220 mx\r\n", b"250-a\r\n354 b\r\n"), "EHLO", 354),
    ],
    ids=["greeting", "ehlo"],
)
def test_reply_code_changing_mid_reply_takes_the_last_lines_code(
    script: Script, whose: str, code: int
) -> None:
    """As Postfix's client does (smtp_chat.c): the last line's code is the reply's; the
    change is a defect on record, not a protocol error."""
    probed = probe(script)
    assert probed.facts.error is None, probed.transcript()  # QUIT unanswered: work was done
    reply = probed.facts.greeting if whose == "greeting" else probed.facts.ehlo_reply
    assert reply is not None
    assert reply.code == code
    (defect,) = probed.facts.reply_defects
    assert (defect.reply, defect.kind, defect.lines) == (whose, DefectKind.MIXED_CODES, (1,))


# --- plaintext after the 220 to STARTTLS ---------------------------------------------------


def injector(junk: bytes, *, then_tls: ssl.SSLContext | None) -> Script:
    """220 and `junk` in one write; then a real TLS session, or nothing."""

    async def script(conn: ServerConnection) -> None:
        await greet_and_offer_starttls(conn)
        await conn.send(b"220 2.0.0 go ahead\r\n" + junk)
        if then_tls is None:
            await until_client_leaves(conn)
            return
        await conn.start_tls(then_tls)
        assert await conn.read_line() == b"EHLO client.test\r\n"
        await conn.send(b"250-mx.example.test\r\n250 SIZE 1000\r\n")
        assert await conn.read_line() == b"QUIT\r\n"
        await conn.send(b"221 bye\r\n")

    return script


def assert_handshake_succeeded_or_failed_as_tls(probed: Probed) -> None:
    """Junk that arrived with the 220 is discarded; junk arriving later is fed to TLS and
    fails it. Either is right; what is not is waiting for the deadline."""
    if probed.facts.tls is not None:
        assert probed.facts.error is None, probed.transcript()
        assert probed.facts.capabilities_after_tls == ("SIZE 1000",)
    else:
        assert_error(probed, Phase.HANDSHAKE, ErrorKind.TLS)


def test_forged_replies_after_starttls_220_are_capped_evidence() -> None:
    forged = b"250 forged reply\r\n" * 256  # 4.5 KiB of complete, well-formed replies
    probed = probe(injector(forged, then_tls=tls_context()))
    evidence = probed.facts.injected_plaintext
    assert evidence is not None
    assert len(evidence) == MAX_EVIDENCE_BYTES
    assert forged.decode("latin-1").startswith(evidence)
    assert_handshake_succeeded_or_failed_as_tls(probed)


@pytest.mark.parametrize("then", ["tls", "nothing"])
def test_64_kib_of_junk_after_starttls_220_is_capped_evidence_and_ends_fast(then: str) -> None:
    junk = b"J" * (64 * 1024)
    probed = probe(injector(junk, then_tls=tls_context() if then == "tls" else None))
    evidence = probed.facts.injected_plaintext
    assert evidence is not None
    assert evidence == "J" * MAX_EVIDENCE_BYTES
    assert probed.elapsed < SETTINGS.timeout + MARGIN  # not the 3 s deadline
    if then == "tls":
        assert_handshake_succeeded_or_failed_as_tls(probed)
    else:
        assert probed.error.phase is Phase.HANDSHAKE
        assert probed.error.kind is not ErrorKind.TIMEOUT, probed.error


def test_non_smtp_junk_line_after_starttls_220_is_kept_as_evidence() -> None:
    probed = probe(injector(b"HELLO FROM THE MIDDLE\r\n", then_tls=tls_context()))
    assert probed.facts.injected_plaintext == "HELLO FROM THE MIDDLE\r\n"


# --- replies nobody asked for ---------------------------------------------------------------


def test_reply_sent_before_ehlo_is_not_taken_as_its_answer() -> None:
    async def pregreet(conn: ServerConnection) -> None:
        await conn.send(b"220 mx.example.test ESMTP\r\n250 forged\r\n")
        await conn.read_line()
        await conn.send(EHLO_WITH_STARTTLS)
        await until_client_leaves(conn)

    probed = probe(pregreet)
    if probed.facts.error is not None:
        assert probed.facts.error.kind is ErrorKind.PROTOCOL
    else:
        assert probed.facts.starttls_offered is True


async def with_loop_lag(work: Awaitable[T]) -> tuple[T, float]:
    """`work`'s result and the longest the event loop was blocked meanwhile."""
    lag = 0.0

    async def ticker() -> None:
        nonlocal lag
        while True:
            before = time.monotonic()
            await asyncio.sleep(0.01)
            lag = max(lag, time.monotonic() - before - 0.01)

    task = asyncio.create_task(ticker())
    try:
        result = await work
    finally:
        task.cancel()
    return result, lag


def test_many_tiny_replies_do_not_block_the_event_loop() -> None:
    async def tiny_replies(conn: ServerConnection) -> None:
        await conn.send(b"220 mx.example.test ESMTP\r\n" + b"250\r\n" * 13_107)
        await until_client_leaves(conn)

    _, lag = run(with_loop_lag(probe_script_async(tiny_replies)))
    assert lag < 0.25


# --- twenty hostile servers at once, through the whole checker ----------------------------

MX_ZONE = f"example.test. IN MX 10 {MX}.\n{MX}. IN A {ADDRESS}\n"


@dataclass(frozen=True, slots=True)
class Expected:
    script: Callable[[ssl.SSLContext], Script]
    error: tuple[Phase, ErrorKind] | None
    code: str | None


HOSTILE = {
    "drip": Expected(
        lambda _: drip_greeting_forever, (Phase.GREETING, ErrorKind.TIMEOUT), "smtp.no-greeting"
    ),
    "endless": Expected(
        lambda _: endless_greeting, (Phase.GREETING, ErrorKind.PROTOCOL), "smtp.protocol-error"
    ),
    "ehlo-10k": Expected(
        lambda _: ehlo_10k_lines, (Phase.EHLO, ErrorKind.PROTOCOL), "smtp.protocol-error"
    ),
    "1mib-line": Expected(
        lambda _: long_line(crlf=False), (Phase.GREETING, ErrorKind.PROTOCOL), "smtp.protocol-error"
    ),
    "alert": Expected(
        lambda _: alert_after_client_hello, (Phase.HANDSHAKE, ErrorKind.TLS), "tls.handshake-failed"
    ),
    "client-hello": Expected(
        lambda _: client_hello_from_the_server,
        (Phase.HANDSHAKE, ErrorKind.TLS),
        "tls.handshake-failed",
    ),
    "half-close": Expected(
        lambda _: half_close_after_greeting, (Phase.EHLO, ErrorKind.CLOSED), "smtp.closed"
    ),
    "partial": Expected(
        lambda _: partial_then_close(b"220 mx\r\n", b"250-mx"),
        (Phase.EHLO, ErrorKind.CLOSED),
        "smtp.closed",
    ),
    "code-change": Expected(
        lambda _: code_change(b"220 mx\r\n", b"250-a\r\n354 b\r\n"),
        None,  # the last line's code decides (354, so EHLO failed), as in Postfix
        "smtp.malformed-reply",
    ),
    "hostile-bytes": Expected(hostile_bytes_session, None, None),
}


def test_twenty_hostile_servers_at_once_do_not_interfere() -> None:
    """Ten MX names with two addresses each, every pair running one hostile script."""
    ca = make_ca("hostile test CA")
    leaf = make_leaf([f"mx-{name}.many.test" for name in HOSTILE], ca)
    context = server_tls_context(chain_pem(leaf, ca), leaf.key_pem)
    zone, servers, started = "", {}, dict[str, float]()
    for i, (name, expected) in enumerate(HOSTILE.items()):
        mx = f"mx-{name}.many.test"
        zone += f"many.test. IN MX {10 + i} {mx}.\n"
        for address in (f"127.0.0.{40 + 2 * i}", f"127.0.0.{41 + 2 * i}"):
            zone += f"{mx}. IN A {address}\n"
            servers[address] = stamped(expected.script(context), address, started)

    async def go() -> tuple[DomainReport, float]:
        async with mail_world(zone, servers, ca=ca) as world:
            began = time.monotonic()
            report = await world.check("many.test", timeout=1.0)
            return report, time.monotonic() - began

    report, elapsed = run(go())
    assert elapsed <= 4 * 1.0 + MARGIN  # the session deadline (4 steps), plus the hang margin
    assert len(report.hosts) == 20
    assert sorted(started) == sorted(servers)  # one connection each: no retries, no strays
    assert max(started.values()) - min(started.values()) < 1.0  # all began together
    for host in report.hosts:
        expected = HOSTILE[host.mx.removeprefix("mx-").removesuffix(".many.test")]
        error = host.facts.error
        got = None if error is None else (error.phase, error.kind)
        assert got == expected.error, (host.mx, host.address, error)
        codes = [f.code for f in host.findings]
        if expected.code is None:
            assert host.verdict is Verdict.PASS, (host.address, codes)
            assert host.facts.greeting is not None
            assert host.facts.greeting.lines == (HOSTILE_BANNER_TEXT,)
        else:
            assert expected.code in codes, (host.mx, host.address, codes)


def stamped(script: Script, address: str, started: dict[str, float]) -> Script:
    async def wrapper(conn: ServerConnection) -> None:
        started[address] = time.monotonic()
        await script(conn)

    return wrapper
