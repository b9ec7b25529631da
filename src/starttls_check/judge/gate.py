"""From verdicts to the process's exit code. Pure, and independent of the output format."""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum

from ..model.findings import Severity, Verdict
from ..model.report import DomainReport


class ExitCode(IntEnum):
    """The documented exit codes (README, 'Exit codes'). A contract: never renumber."""

    OK = 0  # pass or warn
    FAIL = 1  # at least one domain fails
    USAGE = 2  # bad arguments
    INCONCLUSIVE = 3  # could not be tested from here (DNS unreachable, every connection timed out)


def exit_code(verdicts: Iterable[Verdict]) -> ExitCode:
    """A definite failure outranks an inconclusive result, which outranks success."""
    seen = set(verdicts)
    if Verdict.FAIL in seen:
        return ExitCode.FAIL
    if Verdict.INCONCLUSIVE in seen:
        return ExitCode.INCONCLUSIVE
    return ExitCode.OK


def gated_verdict(report: DomainReport) -> Verdict:
    """The domain's verdict as the gate sees it: with `fail_on = warn`, a warning fails."""
    if report.verdict is Verdict.WARN and report.policy.fail_on is Severity.WARN:
        return Verdict.FAIL
    return report.verdict


def gate(reports: Iterable[DomainReport]) -> ExitCode:
    """The exit code for a run: each domain judged under its own policy."""
    return exit_code(gated_verdict(r) for r in reports)
