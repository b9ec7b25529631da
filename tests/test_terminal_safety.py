"""Every field the table and the transcript print that a server or DNS controls is inert:
the MX name, certificate subject, issuer and names, reply text, finding messages."""

from __future__ import annotations

import dataclasses
import re
from functools import partial

import pytest

from starttls_check.model import catalogue
from starttls_check.model.findings import Finding
from starttls_check.model.session import Direction, Exchange
from starttls_check.render.table import render_table
from starttls_check.render.transcript import render_transcript
from starttls_check.render.verdicts import render_quiet

from .samples import HOSTILE, sample_report

SGR = re.compile(r"\x1b\[[0-9;]*m")
RAW = ("\x1b", "\x07", "\u202e", "\x9b", "\x00")


def hostile_everywhere() -> object:
    report = sample_report()
    host = report.hosts[1]
    assert host.facts.tls is not None
    leaf = dataclasses.replace(
        host.facts.tls.chain[0],
        subject=f"CN={HOSTILE}",
        issuer=f"O={HOSTILE}\x00",
        san_dns=(HOSTILE, "mx2.example.test"),
    )
    tls = dataclasses.replace(host.facts.tls, chain=(leaf,))
    transcript = (Exchange(at_ms=1.0, direction=Direction.RECEIVED, text=f"220 {HOSTILE}"),)
    facts = dataclasses.replace(host.facts, tls=tls, transcript=transcript)
    finding = Finding(
        code="cert.name-mismatch",
        severity=host.findings[0].severity,
        subject=f"{HOSTILE} [127.0.0.3]:25",
        message=f"for {HOSTILE}",
        hint="x",
    )
    hostile_host = dataclasses.replace(host, mx=f"mx.{HOSTILE}", facts=facts, findings=(finding,))
    # A TXT record is the domain owner's text, or a spoofer's: shown on a one-line advisory.
    advisory = dataclasses.replace(
        catalogue.finding("spf.syntax", "example.test", f"bad SPF term {HOSTILE}"),
        hint=f"hint {HOSTILE}",
    )
    return dataclasses.replace(
        report, hosts=(report.hosts[0], hostile_host, report.hosts[2]), findings=(advisory,)
    )


RENDERERS = {
    "table": render_table,
    "table -v": partial(render_table, transcript=True),
    "transcript": render_transcript,
    "quiet": render_quiet,
}


@pytest.mark.parametrize("color", [False, True])
@pytest.mark.parametrize("width", [60, 80, 100])
@pytest.mark.parametrize("name", list(RENDERERS))
def test_no_server_text_acts_on_the_terminal(name: str, width: int, color: bool) -> None:
    reports = [hostile_everywhere(), hostile_everywhere()]  # two: the closing count too
    text = RENDERERS[name](reports, color=color, width=width)  # type: ignore[operator]
    if color:
        assert "\x1b[" in text  # colour really is on ...
        text = SGR.sub("", text)  # ... and only rich's own colour codes may remain
    for raw in RAW:
        assert raw not in text
    if name != "quiet":  # -q has the verdict lines alone: no server text to show
        assert "\\x1b[2J" in text  # shown, escaped
        assert "[bold red]x[/]" in text  # shown as text, not markup
