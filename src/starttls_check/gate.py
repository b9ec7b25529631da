"""From verdicts to the process's exit code. Pure, and independent of the output format."""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum

from .model import Verdict


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
