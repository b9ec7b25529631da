"""`--input FILE`: targets one per line, read lazily.

Each line holds one target in the command line's syntax (`example.com`, `[mx.example.com]:25`).
Blank lines and `#` comments (whole-line or after the target) are skipped. A CSV whose
first column is the target works too, a header row (`domain,...`) included. A line that
names no target becomes an `InputProblem` with its line number, so the run reports it and
goes on. Lines are read with a bound: a file without newlines cannot exhaust memory.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import IO

from ..dns.targets import Target
from ..model.bulk import InputProblem
from .params import parse_target

MAX_LINE = 4096  # characters; a target is at most a few hundred
_HEADERS = frozenset({"domain", "domains", "target", "targets", "host", "name"})


def bounded_lines(stream: IO[str]) -> Iterator[str | None]:
    """The stream's lines; None for a line longer than `MAX_LINE` (its rest is skipped)."""
    while True:
        text = stream.readline(MAX_LINE + 1)
        if not text:
            return
        if len(text) > MAX_LINE and not text.endswith("\n"):
            while (rest := stream.readline(MAX_LINE)) and not rest.endswith("\n"):
                pass
            yield None
            continue
        yield text


def read_targets(stream: IO[str]) -> Iterator[Target | InputProblem]:
    """Targets and input problems, in file order."""
    for number, text in enumerate(bounded_lines(stream), start=1):
        if text is None:
            yield InputProblem(line=number, text="", problem=f"line longer than {MAX_LINE}")
            continue
        item = parse_line(text, number)
        if item is not None:
            yield item


def parse_line(text: str, number: int) -> Target | InputProblem | None:
    """One line: a target, a problem, or None for nothing to check."""
    body = text.strip().lstrip("\ufeff")
    if not body or body.startswith("#"):
        return None
    body = body.split(" #", 1)[0].split("\t#", 1)[0].strip()
    if "," in body or body.startswith('"'):
        fields = next(csv.reader([body]), [""])
        body = fields[0].strip() if fields else ""
    if number == 1 and body.lower() in _HEADERS:  # a CSV's header, one column or more
        return None
    try:
        return parse_target(body)
    except ValueError as exc:
        return InputProblem(line=number, text=text.rstrip("\r\n")[:200], problem=str(exc))


def count_targets(stream: IO[str]) -> int:
    """How many lines may name a target (for the progress display's total)."""
    total = 0
    for number, text in enumerate(bounded_lines(stream), start=1):
        # Read as the run reads it (a line too long is an input problem: counted).
        total += text is None or parse_line(text, number) is not None
    return total
