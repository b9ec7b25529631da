"""The finding catalogue: every code's default severity, one-line hint and long form.

The texts are package data (`model/texts/*.toml`, one file per area, one table per code).
A code's prefix names its area, and each area's file is read on the first use of one of
its codes, then kept: parsing all of them costs about 10 ms, a cold check needs two or
three. Codes are a contract (CHANGELOG.md, Schema): add freely, never rename.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .findings import Finding, Severity

# Area -> the code prefixes its file holds, in the order `--explain list` shows them.
AREAS: dict[str, tuple[str, ...]] = {
    "dns": ("dns", "mx"),
    "session": ("connect", "smtp"),
    "starttls": ("starttls", "capabilities"),
    "tls": ("tls",),
    "cert": ("cert",),
    "deep": ("cipher", "deep"),
    "dane": ("dane",),
    "mta-sts": ("mta-sts",),
    "mail-auth": ("tls-rpt", "spf", "dmarc"),
    "drift": ("drift",),
    "sending": ("received", "postfix", "sender", "receive"),
}
# Beside this module; importlib.resources would cost ~10 ms of imports for the same path.
_TEXTS = Path(__file__).with_name("texts")
_AREA_OF_PREFIX = {prefix: area for area, prefixes in AREAS.items() for prefix in prefixes}
_FIELDS = ("severity", "hint", "what", "why", "fix", "verify")


@dataclass(frozen=True, slots=True)
class Rule:
    """What a finding code means by default."""

    severity: Severity
    hint: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Explanation:
    """The long form of one finding code."""

    what: str  # what the finding means, in terms of what the server did
    why: str  # what it does to delivery: opportunistic, MTA-STS and DANE senders
    fix: str  # concrete settings (Postfix main.cf/master.cf, Exim main section) or records
    verify: str  # commands that show the fix worked


@dataclass(frozen=True, slots=True, kw_only=True)
class Entry:
    """One code's catalogue entry."""

    code: str
    area: str
    rule: Rule
    explanation: Explanation


class CatalogueError(Exception):
    """A data file is malformed: a bug in the package, never the user's doing."""


def codes() -> tuple[str, ...]:
    """Every code, grouped by area, in file order (reads every file)."""
    return tuple(code for area in AREAS for code in _area(area))


def entry(code: str) -> Entry:
    """The entry for `code`, reading its area's file if need be; `KeyError` if unknown."""
    area = _AREA_OF_PREFIX.get(code.split(".", 1)[0])
    if area is None:
        raise KeyError(code)
    return _area(area)[code]


def is_known(code: str) -> bool:
    """Whether `code` is in the catalogue, reading at most its area's file."""
    try:
        entry(code)
    except KeyError:
        return False
    return True


def rule(code: str) -> Rule:
    """Severity and hint of `code`; `KeyError` for an unknown code."""
    return entry(code).rule


def explanation(code: str) -> Explanation:
    """The long form of `code`; `KeyError` for an unknown code."""
    return entry(code).explanation


def entries() -> MappingProxyType[str, Entry]:
    """Code -> entry for every code, read-only (reads every file)."""
    return MappingProxyType({code: entry(code) for code in codes()})


def finding(
    code: str,
    subject: str,
    message: str,
    *,
    evidence: str | None = None,
    severity: Severity | None = None,
) -> Finding:
    """A finding for `code` with its catalogue severity (unless overridden) and hint."""
    known = rule(code)
    return Finding(
        code=code,
        severity=severity or known.severity,
        subject=subject,
        message=message,
        hint=known.hint,
        evidence=evidence,
    )


@cache
def _area(area: str) -> dict[str, Entry]:
    text = (_TEXTS / f"{area}.toml").read_text(encoding="utf-8")
    return load(area, tomllib.loads(text))


def load(area: str, tables: dict[str, Any]) -> dict[str, Entry]:
    """One parsed data file's entries. A code whose prefix belongs to another area (so
    it could be in two files) or a table without every field is an error."""
    result: dict[str, Entry] = {}
    for code, table in tables.items():
        if _AREA_OF_PREFIX.get(code.split(".", 1)[0]) != area:
            raise CatalogueError(f"{area}.toml [{code}]: the prefix belongs to another area")
        result[code] = _entry(code, area, table)
    return result


def _entry(code: str, area: str, table: Any) -> Entry:
    where = f"{area}.toml [{code}]"
    if not isinstance(table, dict) or set(table) != set(_FIELDS):
        fields = sorted(table) if isinstance(table, dict) else table
        raise CatalogueError(f"{where}: needs exactly {', '.join(_FIELDS)}, has {fields}")
    if not all(isinstance(table[k], str) and table[k].strip() for k in _FIELDS):
        raise CatalogueError(f"{where}: every field must be non-empty text")
    try:
        severity = Severity(table["severity"])
    except ValueError:
        raise CatalogueError(f"{where}: unknown severity {table['severity']!r}") from None
    return Entry(
        code=code,
        area=area,
        rule=Rule(severity, table["hint"]),
        explanation=Explanation(
            what=table["what"], why=table["why"], fix=table["fix"], verify=table["verify"]
        ),
    )
