"""Progress of a bulk run on stderr: done/total, rate, time left, failures so far.

Shown when stderr is a terminal (or with `--progress`); stdout carries only the report,
so a redirected run's output is the same with or without it.
"""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any, Self


class Progress:
    """rich's progress display, or nothing at all."""

    def __init__(self, *, enabled: bool, total: int | None) -> None:
        self._progress: Any = None
        self._task: Any = None
        self._failures = 0
        if not enabled:
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TaskProgressColumn,
            TextColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as RichProgress

        console = Console(file=sys.stderr, force_terminal=sys.stderr.isatty() or None)
        self._progress = RichProgress(
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[rate]} domains/s"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[failures]} failing"),
            console=console,
            transient=False,
            refresh_per_second=4,
        )
        self._task = self._progress.add_task("domains", total=total, rate="0.0", failures=0)

    def __enter__(self) -> Self:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    def advance(self, *, failed: bool = False) -> None:
        """One more target done (or skipped)."""
        if self._progress is None:
            return
        self._failures += failed
        self._progress.advance(self._task)
        task = self._progress.tasks[0]
        rate = f"{task.speed:.1f}" if task.speed else "…"
        self._progress.update(self._task, rate=rate, failures=self._failures)
