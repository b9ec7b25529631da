"""A domain's findings under its table: what weighs on the verdict first, each with its
hint; then the advisories (`judge.counting.is_advisory`: SPF, DMARC, TLS-RPT and the
like), one short line each, since they never change whether mail travels encrypted. `-v` gives the
advisories their hints too; `--explain CODE` gives any code's long form.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from ..judge.counting import is_advisory
from ..model.findings import SEVERITY_RANK, Finding, Severity
from .sanitize import terminal_safe

_SEVERITY_STYLE = {Severity.INFO: "cyan", Severity.WARN: "yellow", Severity.FAIL: "red"}
_SEVERITY_MARK = {Severity.INFO: "i", Severity.WARN: "!", Severity.FAIL: "✗"}
_HINT_LIMIT = 2000  # the longest catalogue hint is about 600 characters
ADVISORY_HEADING = "Advisories (not part of the verdict; --explain CODE for the fix):"


@dataclass(frozen=True, slots=True)
class _Group:
    """Findings with one code and message: a problem shared by addresses reads once."""

    code: str
    severity: Severity
    message: str
    waived: bool
    subjects: tuple[str, ...]
    hint: str | None  # under the code's first group only


def findings_lines(
    findings: Sequence[Finding], *, domain: str, advisories: bool = True, verbose: bool = False
) -> list[RenderableType]:
    """Transport findings with hints, then advisories (compact unless `verbose`; left out
    when `advisories` is false)."""
    parts: list[RenderableType] = []
    if transport := [f for f in findings if not is_advisory(f)]:
        parts.append(_full(_groups(transport)))
    if advisories and (advisory := [f for f in findings if is_advisory(f)]):
        parts.append(Text(ADVISORY_HEADING, style="dim"))
        groups = _groups(advisory)
        parts.append(_full(groups) if verbose else _compact(groups, domain))
    return parts


def _groups(findings: Sequence[Finding]) -> list[_Group]:
    # Worst first; waived last: what needs doing comes before what is known and accepted.
    ordered = sorted(findings, key=lambda f: (f.waived, -SEVERITY_RANK[f.severity]))
    subjects: dict[tuple[str, Severity, str, bool], list[str]] = {}
    hints: dict[tuple[str, Severity, str, bool], str] = {}
    for f in ordered:
        key = (f.code, f.severity, f.message, f.waived)
        subjects.setdefault(key, []).append(str(f.subject))
        hints.setdefault(key, f.hint)
    # Each hint once, under its first group: hints name the domain or MX, so one code's
    # hint can differ between MX hosts, and each different one is shown.
    shown: set[str] = set()
    groups = []
    for key, names in subjects.items():
        hint: str | None = hints[key]
        if hint in shown:
            hint = None
        else:
            shown.add(hints[key])
        groups.append(_Group(*key, tuple(dict.fromkeys(names)), hint))
    return groups


def _mark(group: _Group) -> Text:
    if group.waived:
        return Text("-", style="dim")
    return Text(_SEVERITY_MARK[group.severity], style=_SEVERITY_STYLE[group.severity])


def _head(group: _Group) -> Text:
    body = Text(f"{group.code} ", style="bold")
    if group.waived:
        body.append("(waived) ", style="italic")
    return body


def _full(groups: Sequence[_Group]) -> Table:
    """Code, subjects, message and hint, each on its own line, indented under the mark."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=1, no_wrap=True)
    grid.add_column(ratio=1)
    for group in groups:
        body = _head(group)
        body.append(terminal_safe(", ".join(group.subjects), limit=400), style="dim")
        body.append("\n" + terminal_safe(group.message))
        if group.hint is not None:  # hints may name the domain and MX: escaped too
            body.append("\n→ " + terminal_safe(group.hint, limit=_HINT_LIMIT), style="dim")
        grid.add_row(_mark(group), body)
    return grid


def _compact(groups: Sequence[_Group], domain: str) -> Table:
    """One line per group: the code and the message, cut at the edge of the terminal; the
    subject only when it is not the domain itself."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=1, no_wrap=True)
    grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
    for group in groups:
        body = _head(group)
        if others := [s for s in group.subjects if s != domain]:
            body.append(terminal_safe(", ".join(others), limit=400) + " ", style="dim")
        body.append(terminal_safe(group.message))
        grid.add_row(_mark(group), body)
    return grid
