"""The `--transcript` renderer: the golden dialogue, earlier attempts, hostile server text.

Regenerate the golden file only on purpose:
`UPDATE_GOLDEN=1 python -m pytest tests/test_transcript.py`.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from starttls_check.model.report import DomainReport
from starttls_check.model.session import Direction, Exchange, Reply, SessionFacts
from starttls_check.render.transcript import render_transcript

from .samples import HOSTILE, sample_report

GOLDEN = Path(__file__).parent / "golden"
R, S, E = Direction.RECEIVED, Direction.SENT, Direction.EVENT


def lines(*entries: tuple[float, Direction, str]) -> tuple[Exchange, ...]:
    return tuple(Exchange(at_ms=at, direction=d, text=text) for at, d, text in entries)


GOOD_SESSION = lines(
    (0.0, E, "connecting to 127.0.0.2 port 25"),
    (0.4, E, "connected"),
    (12.3, R, "220 mx1 ESMTP"),
    (12.5, S, "EHLO client.example.net"),
    (15.0, R, "250-mx1.example.test"),
    (15.0, R, "250-PIPELINING"),
    (15.0, R, "250 STARTTLS"),
    (15.2, S, "STARTTLS"),
    (16.8, R, "220 2.0.0 Ready to start TLS"),
    (16.9, E, "TLS handshake, SNI mx1.example.test"),
    (20.1, E, "TLS established: TLSv1.3, TLS_AES_256_GCM_SHA384, 1 cert(s)"),
    (20.2, S, "EHLO client.example.net"),
    (21.0, R, "250 mx1.example.test"),
    (21.1, S, "QUIT"),
    (21.9, R, "221 2.0.0 Bye"),
)
HOSTILE_SESSION = lines(
    (0.0, E, "connecting to 127.0.0.4 port 25"),
    (0.3, E, "connected"),
    (5.1, R, f"421 {HOSTILE}"),
    (5.2, S, "QUIT"),
)
BUSY_SESSION = lines(
    (0.0, E, "connecting to 127.0.0.4 port 25"),
    (0.3, E, "connected"),
    (2.0, R, "421 4.7.0 mx3 busy, try again later"),
    (2.1, S, "QUIT"),
)


def transcript_report() -> DomainReport:
    """sample_report() with dialogues: mx3 was busy once before its hostile final answer."""
    report = sample_report()
    mx1, mx2, mx3 = report.hosts
    earlier = SessionFacts(
        greeting=Reply(code=421, lines=("4.7.0 mx3 busy, try again later",)),
        transcript=BUSY_SESSION,
    )
    hosts = (
        replace(mx1, facts=replace(mx1.facts, transcript=GOOD_SESSION)),
        mx2,  # no transcript recorded: said so, and the chain is still shown
        replace(
            mx3, facts=replace(mx3.facts, transcript=HOSTILE_SESSION), earlier_attempts=(earlier,)
        ),
    )
    return replace(report, hosts=hosts)


def assert_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(text)
    assert text == path.read_text()


def test_transcript_golden() -> None:
    text = render_transcript([transcript_report()], color=False, width=100)
    assert_golden("transcript.txt", text)


def test_dialogue_lines_have_time_direction_and_text() -> None:
    text = render_transcript([transcript_report()], color=False)
    assert "=== mx1.example.test [127.0.0.2]:25 (pref 10) ===" in text
    assert "   12.3 ms  <- 220 mx1 ESMTP\n" in text
    assert "   12.5 ms  -> EHLO client.example.net\n" in text
    assert "   20.1 ms  ** TLS established: TLSv1.3" in text
    assert "valid for mx1.example.test" in text
    assert "NOT valid for mx2.example.test: expired, name-mismatch" in text
    assert "expired 3 days ago" in text
    assert "ab" * 32 in text


def test_earlier_attempts_come_first_and_are_labelled() -> None:
    text = render_transcript([transcript_report()], color=False)
    first = text.index("--- attempt 1 of 2 (temporary failure, retried) ---")
    busy = text.index("421 4.7.0 mx3 busy")
    final = text.index("--- attempt 2 of 2 (final) ---")
    assert text.index("=== mx3.example.test") < first < busy < final
    assert text.count("--- attempt") == 2  # hosts that were not retried carry no label


@pytest.mark.parametrize("color", [False, True])
def test_hostile_server_text_is_printed_inert(color: bool) -> None:
    text = render_transcript([transcript_report()], color=color)
    assert "\x1b[2J" not in text
    assert "\x1b]0;" not in text
    assert "\x07" not in text
    assert "\u202e" not in text
    assert "\x9b" not in text
    assert "\\x1b[2J\\x1b]0;owned\\x07" in text  # shown as escapes, for the reader to see
    assert "\\u202egnp.exe" in text
    assert "[bold red]x[/]" in text  # printed as text, never interpreted as markup


def test_colour_only_when_asked_for() -> None:
    plain = render_transcript([transcript_report()], color=False)
    colored = render_transcript([transcript_report()], color=True)
    assert "\x1b[" not in plain
    assert "\x1b[" in colored
    # Every escape in the coloured output is ours (SGR): none came from the server.
    assert "\x1b[2J" not in colored


def test_long_lines_wrap_under_their_column() -> None:
    long = "250-" + "X" * 150
    report = transcript_report()
    mx1 = report.hosts[0]
    facts = replace(mx1.facts, transcript=lines((1.0, R, long)))
    report = replace(report, hosts=(replace(mx1, facts=facts),))
    text = render_transcript([report], color=False, width=80)
    assert all(len(line) <= 80 for line in text.splitlines())
    first, second = [line for line in text.splitlines() if "XXX" in line][:2]
    assert first.startswith("    1.0 ms  <- 250-XXX")
    assert second.startswith(" " * 15 + "XXX")


def test_a_domain_without_hosts_says_so() -> None:
    report = replace(sample_report(), hosts=())
    assert "no address was probed" in render_transcript([report], color=False)


@pytest.mark.parametrize("color", [False, True])
def test_plaintext_discarded_before_tls_is_shown_inert(color: bool) -> None:
    report = transcript_report()
    mx1 = report.hosts[0]
    facts = replace(mx1.facts, injected_plaintext=f"250 {HOSTILE}\r\n")
    report = replace(report, hosts=(replace(mx1, facts=facts),))
    text = render_transcript([report], color=color)
    assert "bytes discarded: 250 \\x1b[2J" in text
    assert "\\x0d\\x0a" in text
    assert "\x1b[2J" not in text
    assert "\x07" not in text
