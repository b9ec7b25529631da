"""Records of a bulk run besides the domain reports: a line of input that is not a target."""

from __future__ import annotations

from dataclasses import dataclass

JSONL_SCHEMA = "starttls-check/jsonl"  # the `schema` of the `run` record that opens a run
JSONL_SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class InputProblem:
    """A line of `--input` that names no target: reported with its number, then skipped."""

    line: int  # 1-based, as an editor counts
    text: str  # the line as read (bounded)
    problem: str
