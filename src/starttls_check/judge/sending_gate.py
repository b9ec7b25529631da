"""The exit code of a sending-side run (`--headers`, `--postfix-config`, `--receive`):
the same codes and the same `--fail-on` rule as a domain check."""

from __future__ import annotations

from ..model.findings import Severity, Verdict
from ..model.sending import HeaderReport, PostfixReport, ReceiveReport
from .gate import ExitCode, exit_code

SendingReport = HeaderReport | PostfixReport | ReceiveReport


def sending_gate(report: SendingReport, fail_on: Severity = Severity.FAIL) -> ExitCode:
    """0 pass or warn, 1 fail (or warn under `--fail-on warn`), 3 inconclusive."""
    verdict = report.verdict
    if verdict is Verdict.WARN and fail_on is Severity.WARN:
        verdict = Verdict.FAIL
    return exit_code([verdict])
