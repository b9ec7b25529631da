"""JSON Lines: one object per line, each written as soon as it is known.

A run writes a `run` record, then one line per domain report (exactly the shape of the
JSON report's `reports[]` items) or per unusable input line (`input-error`), then a
`summary` record. Lines are described by `schema/jsonl.schema.json`. Pure ASCII, as the
JSON report is.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from .. import __version__
from ..judge.gate import gated_verdict
from ..judge.tally import Tally
from ..model.bulk import JSONL_SCHEMA, JSONL_SCHEMA_VERSION, InputProblem
from ..model.report import DomainReport
from ..model.serialize import to_jsonable


def line(record: Mapping[str, Any]) -> str:
    """One record as one line of JSON, newline included."""
    return json.dumps(record, ensure_ascii=True, separators=(",", ":")) + "\n"


def run_record(started_at: datetime) -> dict[str, Any]:
    """The first line of every run (a resumed file holds one per run)."""
    return {
        "record": "run",
        "schema": JSONL_SCHEMA,
        "schema_version": JSONL_SCHEMA_VERSION,
        "tool": {"name": "starttls-check", "version": __version__},
        "started_at": started_at.isoformat(),
    }


def input_error_record(problem: InputProblem) -> dict[str, Any]:
    return {"record": "input-error", **to_jsonable(problem)}


def summary_record(
    *,
    finished_at: datetime,
    exit_code: int,
    counts: Mapping[str, int],
    tally: Tally | None = None,
) -> dict[str, Any]:
    """The last line: what this run did, and with `--summary` the aggregate shares."""
    record: dict[str, Any] = {
        "record": "summary",
        "finished_at": finished_at.isoformat(),
        "exit_code": exit_code,
        **counts,
    }
    if tally is not None:
        record["aggregate"] = tally.as_json()
    return record


def render_jsonl(reports: Sequence[DomainReport], generated_at: datetime) -> str:
    """A whole run's reports as JSON Lines, for `--format jsonl` outside bulk runs."""
    from ..judge.gate import exit_code

    lines = [line(run_record(generated_at))]
    lines += [line(to_jsonable(r)) for r in reports]
    code = int(exit_code(gated_verdict(r) for r in reports))
    counts = {"domains": len(reports), "input_errors": 0, "skipped": 0}
    lines.append(line(summary_record(finished_at=generated_at, exit_code=code, counts=counts)))
    return "".join(lines)
