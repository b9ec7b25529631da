"""Where a bulk run's records go as they come: stdout, JSONL files, the progress display,
the summary, the exit code. Nothing per domain is kept once written, except for formats
that are one document (json, junit, github, markdown), which need every report at the end.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from ..judge.gate import ExitCode, exit_code
from ..judge.tally import Tally, gated_verdict_of
from ..model.bulk import InputProblem
from ..model.findings import Verdict
from ..model.report import DomainReport
from ..render import jsonl
from ..render.sanitize import terminal_safe
from ..run.resume import JsonlFile
from .errors import UsageError

STREAMING = frozenset({"table", "jsonl"})  # formats written a line at a time


def table_line(doc: Mapping[str, Any], sentence: str) -> str:
    """One domain as one line: `example.com: PASS — why`."""
    verdict = str(doc.get("verdict", "untested")).upper()
    return terminal_safe(f"{doc.get('ascii_domain', '?')}: {verdict} — {sentence}", 400) + "\n"


def problem_line(problem: InputProblem) -> str:
    return terminal_safe(f"input line {problem.line}: {problem.problem}", 400) + "\n"


class Sinks:
    """Every output of one bulk run."""

    def __init__(
        self,
        *,
        stdout_format: str,
        outputs: Sequence[tuple[str, Path]],
        tally: Tally | None,
        stdout: TextIO | None = None,
    ) -> None:
        self._format = stdout_format
        self._stdout = stdout or sys.stdout
        self._files: list[JsonlFile] = []
        self._documents = [(f, p) for f, p in outputs if f != "jsonl"]
        self._collected: list[DomainReport] | None = None
        if stdout_format not in STREAMING or self._documents:
            self._collected = []
        try:
            self._files += [JsonlFile(p, append=False) for f, p in outputs if f == "jsonl"]
        except OSError as exc:
            self.close()
            raise UsageError(f"cannot write {exc.filename}: {exc.strerror}") from None
        self.tally = tally
        self.verdicts: set[Verdict] = set()
        self.counts = {"domains": 0, "input_errors": 0, "skipped": 0}
        self.failures = 0

    def add_resume_file(self, path: Path) -> None:
        """Append to the resumed file too (after `load_resume` has cut any half line)."""
        try:
            self._files.append(JsonlFile(path, append=True))
        except OSError as exc:
            raise UsageError(f"cannot write {path}: {exc.strerror}") from None

    def _jsonl(self, text: str) -> None:
        for file in self._files:
            file.write(text)
        if self._format == "jsonl":
            self._stdout.write(text)
            self._stdout.flush()

    def start(self, started_at: datetime) -> None:
        self._jsonl(jsonl.line(jsonl.run_record(started_at)))

    def seen_before(self, doc: Mapping[str, Any]) -> None:
        """A report already in the resume file: counted in the exit code and summary."""
        self.verdicts.add(gated_verdict_of(doc))
        if self.tally is not None:
            self.tally.add(doc)

    def skipped(self) -> None:
        self.counts["skipped"] += 1

    def report(self, doc: Mapping[str, Any], sentence: str, report: DomainReport) -> None:
        """One finished domain, as its JSON document (and the report, when in process)."""
        self._jsonl(jsonl.line(doc))
        if self._format == "table":
            self._stdout.write(table_line(doc, sentence))
            self._stdout.flush()
        if self._collected is not None:
            self._collected.append(report)
        verdict = gated_verdict_of(doc)
        self.verdicts.add(verdict)
        self.failures += verdict is Verdict.FAIL
        self.counts["domains"] += 1
        if self.tally is not None:
            self.tally.add(doc)

    def problem(self, problem: InputProblem) -> None:
        self._jsonl(jsonl.line(jsonl.input_error_record(problem)))
        if self._format == "table":
            self._stdout.write(problem_line(problem))
            self._stdout.flush()
        self.counts["input_errors"] += 1

    def exit_code(self) -> int:
        # Input lines that name no target are records, not verdicts; but a run in which no
        # domain could be checked at all (an empty input too) must not pass a CI gate.
        if not self.verdicts:
            return int(ExitCode.INCONCLUSIVE)
        return int(exit_code(self.verdicts))

    def finish(self, *, extra: Mapping[str, int], width: int) -> None:
        """The summary record, the one-document formats, `--summary`'s aggregate."""
        finished_at = datetime.now(UTC)
        counts = {**self.counts, **extra}
        record = jsonl.summary_record(
            finished_at=finished_at, exit_code=self.exit_code(), counts=counts, tally=self.tally
        )
        self._jsonl(jsonl.line(record))
        if self._collected is not None:
            self._documents_out(finished_at, width)
        if self.tally is not None and self._format != "jsonl":
            from ..render.aggregate import render_aggregate

            self._stdout.write(render_aggregate(self.tally.as_json(), self._format, width=width))
        self._stdout.flush()

    def _documents_out(self, finished_at: datetime, width: int) -> None:
        from ..render import render

        reports = self._collected or []
        for output_format, path in self._documents:
            try:
                path.write_text(render(output_format, reports, generated_at=finished_at), "utf-8")
            except OSError as exc:
                raise UsageError(
                    f"cannot write {output_format} report to {path}: {exc.strerror}"
                ) from None
        if self._format not in STREAMING:
            text = render(self._format, reports, generated_at=finished_at, width=width)
            self._stdout.write(text)

    def close(self) -> None:
        for file in self._files:
            file.close()
