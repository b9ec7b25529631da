"""`--resume results.jsonl`: what an earlier, perhaps killed, run already wrote.

Every line of the file is one complete JSON object followed by a newline, written with a
single `write` (see `JsonlFile`). A run killed mid-write leaves at most one half line, the
last; it is cut off here, so its domain is checked again, and a resumed run appends after
the last whole line. Targets with a report in the file are skipped; so are input lines
already reported as unusable.
"""

from __future__ import annotations

import hashlib
import json
import os
from array import array
from bisect import bisect_left
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..model.bulk import JSONL_SCHEMA

MAX_RECORD = 64 * 1024 * 1024  # a line longer than this is not one of ours


class DoneSet:
    """The canonical targets with a report, kept as sorted 64-bit hashes: 8 bytes a target
    instead of a string and a set slot (about 100 bytes), so a file of a million domains
    costs 8 MB. Two distinct targets share a hash with odds of about 1 in 10^7 at a million
    (birthday bound, 2^64); the worst such a clash does is skip one domain on resume."""

    __slots__ = ("_hashes", "_sorted")

    def __init__(self) -> None:
        self._hashes = array("Q")
        self._sorted = True

    @staticmethod
    def _hash(key: str) -> int:
        digest = hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8).digest()
        return int.from_bytes(digest, "little")

    def add(self, key: str) -> None:
        self._hashes.append(self._hash(key))
        self._sorted = False

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        if not self._sorted:  # sorted once, after the file is read and before lookups
            self._hashes = array("Q", sorted(self._hashes))
            self._sorted = True
        value = self._hash(key)
        at = bisect_left(self._hashes, value)
        return at < len(self._hashes) and self._hashes[at] == value

    def nbytes(self) -> int:
        return self._hashes.buffer_info()[1] * self._hashes.itemsize


class NotJsonl(ValueError):
    """The file is not one this tool wrote: appending to it would mangle someone's data."""


@dataclass(slots=True)
class Resumed:
    """What the file already holds."""

    done: DoneSet = field(default_factory=DoneSet)  # canonical targets with a report
    input_lines: set[int] = field(default_factory=set)  # input lines reported unusable
    reports: int = 0
    cut_bytes: int = 0  # the half-written last line removed, in bytes


def load_resume(path: Path, seen: Callable[[Mapping[str, Any]], None] | None = None) -> Resumed:
    """Read `path` (absent: nothing done); cut a half-written last line off the file.
    `seen` gets every report document, for the summary and the exit code. A file whose
    first line is not a run's opening record raises `NotJsonl`, before anything is cut."""
    resumed = Resumed()
    try:
        stream = path.open("rb+")
    except FileNotFoundError:
        return resumed
    with stream:
        whole = 0  # offset after the last complete line
        while raw := stream.readline(MAX_RECORD):
            doc = parse_record(raw)
            if whole == 0 and not opens_a_run(raw, doc):
                raise NotJsonl(f"{path} is not a starttls-check JSON Lines file")
            if doc is None and not raw.endswith(b"\n"):
                break  # the half line a killed run left
            whole += len(raw)
            if doc is None:
                continue  # not ours, or damaged: its domain (if any) is done again
            if doc.get("record") == "input-error" and isinstance(doc.get("line"), int):
                resumed.input_lines.add(doc["line"])
            elif "record" not in doc and isinstance(doc.get("ascii_domain"), str):
                resumed.done.add(doc["ascii_domain"])
                resumed.reports += 1
                if seen is not None:
                    seen(doc)
        size = stream.seek(0, os.SEEK_END)
        if size > whole:
            stream.truncate(whole)
            resumed.cut_bytes = size - whole
    return resumed


def check_resumable(path: Path) -> None:
    """Raise `NotJsonl` unless `path` is absent, empty, or opens as a run's file: checked
    before any output is opened, so that a refused run has changed no file at all."""
    try:
        with path.open("rb") as stream:
            raw = stream.readline(MAX_RECORD)
    except FileNotFoundError:
        return
    if raw and not opens_a_run(raw, parse_record(raw)):
        raise NotJsonl(f"{path} is not a starttls-check JSON Lines file")


# How every run's first line begins (json.dumps keeps the record's key order).
_RUN_START = b'{"record":"run"'


def opens_a_run(raw: bytes, doc: Mapping[str, Any] | None) -> bool:
    """Whether the file's first line `raw` (parsed: `doc`) is a run's opening record, or
    the start of one that a kill cut short. Anything else is somebody else's file."""
    if raw.endswith(b"\n"):
        return is_run_record(doc)
    return raw[: len(_RUN_START)] == _RUN_START[: len(raw)]


def is_run_record(doc: Mapping[str, Any] | None) -> bool:
    """Whether `doc` is the record that opens every run's lines (and so every file)."""
    return doc is not None and doc.get("record") == "run" and doc.get("schema") == JSONL_SCHEMA


def parse_record(raw: bytes) -> dict[str, Any] | None:
    """A whole line's JSON object; None for a half line, other JSON, or no JSON."""
    if not raw.endswith(b"\n"):
        return None
    try:
        doc = json.loads(raw)
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


class JsonlFile:
    """A JSONL file written one whole line per `write` call, so that a kill leaves at
    most one half line and nothing buffered in this process is lost."""

    def __init__(self, path: Path, *, append: bool) -> None:
        flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
        self.path = path
        self._fd = os.open(path, flags, 0o644)

    def write(self, text: str) -> None:
        data = memoryview(text.encode("ascii", "backslashreplace"))
        while data:
            data = data[os.write(self._fd, data) :]

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
