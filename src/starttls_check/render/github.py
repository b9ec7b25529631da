"""GitHub Actions workflow commands: one annotation per finding, one summary per domain.

The runner reads stdout line by line and treats a line starting with `::` as a command,
so server text must never start a line: it goes through `terminal_safe` (newlines and
other controls become visible escapes; the log viewer also renders ANSI) and is then
escaped as GitHub's toolkit does (`escapeData`/`escapeProperty` in @actions/core), so a
banner with `%0A::error::` stays literal text inside our own annotation.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from enum import StrEnum

from ..judge.counting import fails_run
from ..model.findings import Finding, Severity, Verdict
from ..model.report import DomainReport
from .sanitize import terminal_safe


class Level(StrEnum):
    """The workflow command an annotation uses."""

    ERROR = "error"
    WARNING = "warning"
    NOTICE = "notice"


_NOT_TESTED = (Verdict.UNTESTED, Verdict.INCONCLUSIVE)
ANNOTATION_LIMIT = 2000  # our own messages run long; server text inside them is capped already
# GitHub's escaping for workflow commands; server text has been through terminal_safe.
_DATA_ESCAPES = {"%": "%25", "\r": "%0D", "\n": "%0A"}
_DATA = str.maketrans(_DATA_ESCAPES)
_PROPERTY = str.maketrans({**_DATA_ESCAPES, ":": "%3A", ",": "%2C"})


def escape_data(text: str) -> str:
    """A command's message: server text made visible, then GitHub's data escaping."""
    return terminal_safe(text, limit=ANNOTATION_LIMIT).translate(_DATA)


def escape_property(text: str) -> str:
    """A command property value (`title=`): data escaping plus `:` and `,`."""
    return terminal_safe(text).translate(_PROPERTY)


def command(level: Level, title: str, message: str) -> str:
    """One workflow command line, without its newline."""
    return f"::{level} title={escape_property(title)}::{escape_data(message)}"


def level_of(f: Finding, fail_on: Severity, host_verdict: Verdict | None) -> Level:
    """`error` for what fails the run, `warning` below it, `notice` for information;
    advisory findings (SPF, DMARC, TLS-RPT) never fail it, so they are never errors.

    On an address that was not tested (no route, timeout) nothing is an error: the
    network decided there, not the server, and the verdict says so.
    """
    if fails_run(f, fail_on) and host_verdict not in _NOT_TESTED:
        return Level.ERROR
    return Level.NOTICE if f.severity is Severity.INFO else Level.WARNING


def _findings(report: DomainReport) -> Iterator[tuple[Finding, Verdict | None]]:
    """Every finding with its address's verdict (None for domain-level findings)."""
    yield from ((f, None) for f in report.findings)
    yield from ((f, h.verdict) for h in report.hosts for f in h.findings)


def render_github(reports: Sequence[DomainReport]) -> str:
    """Annotations for every non-waived finding, then one summary notice per domain."""
    lines: list[str] = []
    summaries: list[str] = []
    for report in reports:
        levels = dict.fromkeys(Level, 0)
        waived = 0
        for f, verdict in _findings(report):
            if f.waived:  # accepted by the owner (--allow): counted in the summary only
                waived += 1
                continue
            level = level_of(f, report.policy.fail_on, verdict)
            levels[level] += 1
            lines.append(command(level, f"starttls-check {f.code}", f"{f.subject}: {f.message}"))
        summary = (
            f"verdict {report.verdict} (fails on {report.policy.fail_on}): "
            f"errors {levels[Level.ERROR]}, warnings {levels[Level.WARNING]}, "
            f"notices {levels[Level.NOTICE]}, waived {waived}"
        )
        summaries.append(command(Level.NOTICE, f"starttls-check {report.domain}", summary))
    return "".join(line + "\n" for line in lines + summaries)
