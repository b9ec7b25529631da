"""Progress of a bulk run on stderr: done/total, rate, time left, failures so far.

Shown when stderr is a terminal (or with `--progress`); stdout carries only the report,
so a redirected run's output is the same with or without it. On a terminal it is rich's
live display; into a pipe or a log file, where a display cannot redraw, it is a plain
line every `PLAIN_EVERY` seconds and one at the end.
"""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import Any, Self, TextIO

PLAIN_EVERY = 2.0  # seconds between two lines on a stderr that is not a terminal


class Progress:
    """rich's progress display, plain lines, or nothing at all."""

    def __init__(self, *, enabled: bool, total: int | None) -> None:
        self._progress: Any = None
        self._task: Any = None
        self._failures = 0
        self._plain: PlainProgress | None = None
        if not enabled:
            return
        if not sys.stderr.isatty():
            self._plain = PlainProgress(total, sys.stderr)
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

        console = Console(file=sys.stderr, force_terminal=True)
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
        if self._plain is not None:
            self._plain.line()

    def advance(self, *, failed: bool = False) -> None:
        """One more target done (or skipped)."""
        if self._plain is not None:
            self._plain.advance(failed=failed)
        if self._progress is None:
            return
        self._failures += failed
        self._progress.advance(self._task)
        task = self._progress.tasks[0]
        rate = f"{task.speed:.1f}" if task.speed else "…"
        self._progress.update(self._task, rate=rate, failures=self._failures)


class PlainProgress:
    """`1200/5000 (24%), 41.3 domains/s, 1:32 left, 17 failing`, now and then."""

    def __init__(self, total: int | None, out: TextIO, *, every: float = PLAIN_EVERY) -> None:
        self._total = total
        self._out = out
        self._every = every
        self._started = self._shown = time.monotonic()
        self.done = 0
        self.failures = 0

    def advance(self, *, failed: bool = False) -> None:
        self.done += 1
        self.failures += failed
        if time.monotonic() - self._shown >= self._every:
            self.line()

    def line(self) -> None:
        now = time.monotonic()
        self._shown = now
        self._out.write(self.text(now - self._started) + "\n")
        self._out.flush()

    def text(self, elapsed: float) -> str:
        rate = self.done / elapsed if elapsed > 0 else 0.0
        parts = [f"{self.done} done" if self._total is None else self._of_total()]
        parts.append(f"{rate:.1f} domains/s")
        if self._total is not None and rate > 0:
            parts.append(f"{_clock((self._total - self.done) / rate)} left")
        parts.append(f"{self.failures} failing")
        return "progress: " + ", ".join(parts)

    def _of_total(self) -> str:
        share = self.done / self._total if self._total else 1.0
        return f"{self.done}/{self._total} ({share:.0%})"


def _clock(seconds: float) -> str:
    minutes, secs = divmod(max(0, round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
