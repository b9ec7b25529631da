"""The lines that say how domains fared: one verdict line per domain, the closing count
over many domains, and `-q`, which prints the verdict lines alone.

`-q` output is for people skimming many domains and for scripts reading line by line: one
line per domain, `DOMAIN: VERDICT — why`, never wrapped, in the order the domains were given.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from rich.text import Text

from ..model.findings import Verdict
from ..model.report import DomainReport
from .columns import VERDICT_STYLE
from .sanitize import terminal_safe
from .summary import verdict_sentence
from .terminal import render_to_text

# Always counted, even at zero ("0 fail" is news); any other verdict, when some domain has it.
_ALWAYS_COUNTED = (Verdict.PASS, Verdict.WARN, Verdict.FAIL, Verdict.INCONCLUSIVE)


def verdict_line(report: DomainReport) -> Text:
    """`example.com: PASS — mail to this domain travels encrypted, …`"""
    line = Text(f"{terminal_safe(report.ascii_domain)}: ")
    line.append(report.verdict.value.upper(), style=VERDICT_STYLE.get(report.verdict, "bold"))
    line.append(f" — {verdict_sentence(report)}")
    return line


def count_line(reports: Sequence[DomainReport]) -> Text:
    """`3 pass · 1 warn · 0 fail · 0 inconclusive`, in the order the verdicts are defined."""
    counts = Counter(report.verdict for report in reports)
    line = Text()
    for verdict in Verdict:
        if counts[verdict] or verdict in _ALWAYS_COUNTED:
            line.append(" · " if line.plain else "")
            style = VERDICT_STYLE.get(verdict, "bold") if counts[verdict] else "dim"
            line.append(f"{counts[verdict]} {verdict.value}", style=style)
    return line


def render_quiet(reports: Sequence[DomainReport], *, color: bool, width: int = 100) -> str:
    """`-q`: each domain's verdict line and nothing else."""
    lines = [verdict_line(report) for report in reports]
    return render_to_text(lines, color=color, width=width, soft_wrap=True)
