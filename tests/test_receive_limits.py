"""Receive mode's bounds against real sockets on loopback: a silent client, a client still
there when the run ends, overlong command lines (in clear text and inside TLS), more
sessions than the limit, and hostile client text in the table."""

from __future__ import annotations

import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Callable

import pytest

from starttls_check.model.findings import Severity, Verdict
from starttls_check.model.sending import CertificateKind
from starttls_check.render.receive_table import render_receive
from starttls_check.smtp.listener import MAX_SESSIONS
from starttls_check.smtp.receiver import MAX_LINE, READ_SIZE
from tests.test_receive import run_receiver

LONG = "x" * (MAX_LINE + 100)


def _no_tls_check() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _silent(after_ehlo: bool, received: list[bytes]) -> Callable[[int], None]:
    """Connect, read the greeting, (say EHLO,) then say nothing until the server closes;
    the server's last line goes to `received`."""

    def client(port: int) -> None:
        with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
            reader = sock.makefile("rb")
            assert reader.readline().startswith(b"220 ")
            if after_ehlo:
                sock.sendall(b"EHLO quiet.test\r\n")
                while not reader.readline().startswith(b"250 "):
                    pass
            last = b""
            while line := reader.readline():
                last = line
            received.append(last)

    return client


def test_a_silent_client_ends_on_the_idle_timeout() -> None:
    last: list[bytes] = []
    client = _silent(False, last)
    started = time.monotonic()
    report = run_receiver(client, CertificateKind.SELF_SIGNED, idle=1.0, deadline=30)
    assert time.monotonic() - started < 10
    (received,) = report.clients
    assert received.closed_by == "timeout"
    assert last == [b"421 4.4.2 idle timeout\r\n"]
    (found,) = received.findings
    assert found.code == "sender.idle-timeout"
    assert found.severity is Severity.WARN
    assert "sent nothing for 1.0 s after connecting; closed at the idle limit" in found.message
    assert received.verdict is Verdict.INCONCLUSIVE
    assert report.verdict is Verdict.INCONCLUSIVE


def test_a_client_silent_when_the_run_ends_is_inconclusive() -> None:
    last: list[bytes] = []
    client = _silent(True, last)
    report = run_receiver(client, CertificateKind.SELF_SIGNED, idle=60, deadline=1.5)
    (received,) = report.clients
    assert received.closed_by == "limit"
    assert received.ehlo == "quiet.test"
    assert last == [b"421 4.3.2 receive mode ending\r\n"]
    assert [f.code for f in received.findings] == ["sender.idle-timeout"]
    assert "after EHLO; still connected when the receive mode ended" in received.findings[0].message
    assert received.silent_ms >= 1000
    assert received.verdict is Verdict.INCONCLUSIVE


@pytest.mark.parametrize("over_tls", [False, True], ids=["clear-text", "tls"])
def test_an_overlong_command_line_is_refused(over_tls: bool) -> None:
    replies: list[tuple[int, bytes]] = []

    def client(port: int) -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            smtp.ehlo("long.test")
            if over_tls:
                smtp.starttls(context=_no_tls_check())
                smtp.ehlo("long.test")
            replies.append(smtp.docmd("MAIL", f"FROM:<{LONG}@long.test>"))
            with pytest.raises(smtplib.SMTPServerDisconnected):
                smtp.noop()

    report = run_receiver(client, CertificateKind.SELF_SIGNED)
    assert replies == [(500, b"5.5.2 line too long (more than 2048 bytes)")]
    (received,) = report.clients
    assert received.closed_by == "error"
    assert received.mail_from is None
    assert received.long_line is not None
    assert received.long_line >= MAX_LINE
    assert (received.tls_version is not None) is over_tls
    (found,) = (f for f in received.findings if f.code == "sender.line-too-long")
    assert found.severity is Severity.WARN
    assert "refusing it" in found.message


def test_an_endless_line_is_refused_after_one_bounded_read() -> None:
    answer: list[bytes] = []

    def client(port: int) -> None:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.recv(1000)
            try:
                sock.sendall(b"EHLO " + b"y" * (1 << 20))  # no line end at all
                answer.append(sock.recv(1000))
            except OSError:
                answer.append(b"reset")  # the server closed with the rest unread

    report = run_receiver(client, CertificateKind.SELF_SIGNED)
    (received,) = report.clients
    assert received.long_line is not None
    assert MAX_LINE <= received.long_line <= MAX_LINE + READ_SIZE
    assert answer in ([b"500 5.5.2 line too long (more than 2048 bytes)\r\n"], [b"reset"])


def test_sessions_over_the_limit_get_421_and_are_closed() -> None:
    held: list[socket.socket] = []
    extra: list[bytes] = []

    def client(port: int) -> None:
        try:
            for _ in range(MAX_SESSIONS):
                sock = socket.create_connection(("127.0.0.1", port), timeout=10)
                held.append(sock)
                assert sock.recv(1000).startswith(b"220 ")
            for _ in range(2):
                with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                    reply = sock.recv(1000)
                    extra.append(reply + sock.recv(1000))  # then end of file: closed
            held[0].sendall(b"QUIT\r\n")
            assert held[0].recv(1000).startswith(b"221 ")
            time.sleep(0.2)
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:  # the freed slot
                smtp.ehlo("after.test")
        finally:
            for sock in held:
                sock.close()

    report = run_receiver(client, CertificateKind.SELF_SIGNED, clients=MAX_SESSIONS + 1)
    assert extra == [b"421 4.7.0 too many sessions, try again later\r\n"] * 2
    assert report.refused_sessions == 2
    assert len(report.clients) == MAX_SESSIONS + 1
    assert "after.test" in {c.ehlo for c in report.clients}
    (found,) = report.findings
    assert found.code == "receive.sessions-refused"
    assert found.message == "2 connections refused with 421"


HOSTILE_EHLO = "\x1b[31mred[bold red]loud[/]"
HOSTILE_FROM = "<\x1b[2J[link=http://x.test]a@b.test[/link]>"


@pytest.mark.parametrize("color", [False, True], ids=["plain", "color"])
def test_hostile_client_text_is_escaped_in_the_table(color: bool) -> None:
    def client(port: int) -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            smtp.ehlo(HOSTILE_EHLO)
            smtp.docmd("MAIL", f"FROM:{HOSTILE_FROM}")

    report = run_receiver(client, CertificateKind.SELF_SIGNED)
    (received,) = report.clients
    assert received.ehlo == HOSTILE_EHLO
    assert received.mail_from == HOSTILE_FROM
    out = render_receive(report, color=color, width=200)
    assert "\x1b[2J" not in out
    assert "\x1b]8" not in out  # no hyperlink made from the markup
    plain = out if not color else _strip_styles(out)
    assert "\\x1b[31mred[bold red]loud[/]" in plain  # the table cell and the finding's subject
    assert plain.count("\\x1b[31mred[bold red]loud[/]") == 2
    assert "from <\\x1b[2J[link=http://x.test]a@b.test[/link]>" in plain


def _strip_styles(text: str) -> str:
    """The coloured table without rich's own SGR sequences (ESC [ digits ; m)."""
    import re

    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def test_the_listener_reports_where_it_is_bound() -> None:
    done = threading.Event()
    report = run_receiver(lambda _port: None, CertificateKind.SELF_SIGNED, deadline=0.5, done=done)
    assert done.is_set()
    assert report.listen.startswith("127.0.0.1:")
    assert report.listen != "127.0.0.1:0"
    assert [f.code for f in report.findings] == ["receive.no-clients"]
