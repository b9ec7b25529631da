"""The closing line of a report: what was judged, the verdict in its colour, a sentence."""

from __future__ import annotations

from rich.text import Text

from ..model.findings import Verdict
from .sanitize import terminal_safe

VERDICT_STYLE = {
    Verdict.PASS: "bold green",
    Verdict.WARN: "bold yellow",
    Verdict.FAIL: "bold red",
    Verdict.INCONCLUSIVE: "bold magenta",
    Verdict.UNTESTED: "dim",
}


def verdict_line(subject: str, verdict: Verdict, sentence: str) -> Text:
    line = Text(f"{terminal_safe(subject)}: ")
    line.append(verdict.value.upper(), style=VERDICT_STYLE[verdict])
    line.append(f" — {sentence}")
    return line
