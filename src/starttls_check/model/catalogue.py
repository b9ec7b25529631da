"""The finding catalogue: every code's default severity, one-line hint and long form.

The texts are package data (`model/texts/*.toml`, one file per area, one table per code).
A code's prefix names its area. An area's file is read on the first use of one of its
codes and cut at its table headers, and a code's table is parsed on the first use of that
code, then kept: parsing every file costs about 10 ms, and a cold check needs a handful of
codes. Codes are a contract (CHANGELOG.md, Schema): add freely, never rename.

Hints are ready to paste: `{domain}`, `{mx}`, `{port}` and `{spki}` in a hint are filled
from the finding's context when the finding is made (its subject, and values the check
passes), and shown as the examples in `EXAMPLES` where a value is unknown or not a valid
host name, port or digest. Nothing else in a hint is touched (an Exim `${if ...}` stays as
written), and no text from the network is ever interpolated: a value that does not match
its pattern is replaced by the example. A table may give other wordings for one case of its
code as `hint_<case>` (`hint_starttls`), chosen by the check.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .findings import Finding, Severity, Subject

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
_VARIANT = re.compile(r"hint_([a-z0-9]+)")
# A table header as the data files write them: `["code"]`, alone on its line.
_HEADER = re.compile(r'^\["([a-z0-9.-]+)"\]$', re.MULTILINE)

# What each placeholder shows when its value is unknown (`--explain`, a library caller).
EXAMPLES: MappingProxyType[str, str] = MappingProxyType(
    {
        "domain": "example.com",
        "mx": "mx.example.com",
        "port": "25",
        "spki": "<SHA-256 of the SPKI>",
    }
)
_PLACEHOLDER = re.compile(r"\{([a-z]+)\}")
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
# A host name: LDH labels, the last with a letter (so never an IPv4 address), no final dot.
_HOST_NAME = re.compile(
    rf"(?=[a-z0-9.-]{{1,253}}\Z)(?:{_LABEL}\.)*(?=[a-z0-9-]*[a-z]){_LABEL}", re.IGNORECASE
)
_VALID = {
    "domain": _HOST_NAME,
    "mx": _HOST_NAME,
    "port": re.compile(r"[1-9][0-9]{0,4}"),
    "spki": re.compile(r"[0-9a-f]{64}"),
}
# How findings name an address (judge.evaluate.subject_of): `mx.example.com [192.0.2.1]:25`.


@dataclass(frozen=True, slots=True)
class Rule:
    """What a finding code means by default."""

    severity: Severity
    hint: str  # with the examples in place of the placeholders, as `--explain` shows it
    template: str = ""  # the hint as written, placeholders and all ("": same as `hint`)
    variants: tuple[tuple[str, str], ...] = ()  # (case, template): `hint_<case>` wordings


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
    return tuple(code for area in AREAS for code in _tables(area))


def entry(code: str) -> Entry:
    """The entry for `code`, reading its area's file if need be; `KeyError` if unknown."""
    area = _AREA_OF_PREFIX.get(code.split(".", 1)[0])
    if area is None:
        raise KeyError(code)
    return _entry_of(area, code)


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
    subject: Subject | str,
    message: str,
    *,
    evidence: str | None = None,
    severity: Severity | None = None,
    values: Mapping[str, str] | None = None,
    case: str | None = None,
) -> Finding:
    """A finding for `code` with its catalogue severity (unless overridden) and hint, the
    hint's placeholders filled from `subject` and `values` (which win), in the wording for
    `case` if the code has one.

    `subject` is an address's `Subject`, or a bare domain or host name.
    """
    known = rule(code)
    about = subject if isinstance(subject, Subject) else Subject(host=subject)
    return Finding(
        code=code,
        severity=severity or known.severity,
        subject=about,
        message=message,
        hint=hint(code, {**subject_values(about), **(values or {})}, case=case),
        evidence=evidence,
    )


def hint(code: str, values: Mapping[str, str] | None = None, *, case: str | None = None) -> str:
    """`code`'s hint, ready to paste: each placeholder filled with its value from `values`
    where that value is valid, else with its example. `KeyError` for an unknown code."""
    known = rule(code)
    template = dict(known.variants).get(case or "", known.template or known.hint)
    return fill(template, values or {})


def fill(template: str, values: Mapping[str, str]) -> str:
    """Placeholders replaced by valid values or the examples; everything else as written."""

    def one(match: re.Match[str]) -> str:
        name = match[1]
        if name not in EXAMPLES:
            return match[0]
        value = values.get(name, "").rstrip(".") if name in ("domain", "mx") else values.get(name)
        return value if value and _VALID[name].fullmatch(value) else EXAMPLES[name]

    return _PLACEHOLDER.sub(one, template)


def subject_values(subject: Subject) -> dict[str, str]:
    """What a subject says about the finding's context: an address's subject names its MX
    and port, any other subject is the domain (or host) checked."""
    if subject.address is not None:
        return {"mx": subject.host, "port": str(subject.port)}
    return {"domain": subject.host}


@cache
def _tables(area: str) -> dict[str, str]:
    """Each code's table in `area`'s file, as text, in file order."""
    text = (_TEXTS / f"{area}.toml").read_text(encoding="utf-8")
    heads = list(_HEADER.finditer(text))
    ends = [m.start() for m in heads[1:]] + [len(text)]
    return {m[1]: text[m.start() : end] for m, end in zip(heads, ends, strict=True)}


@cache
def _entry_of(area: str, code: str) -> Entry:
    return parse_table(area, code, _tables(area)[code])


def parse_table(area: str, code: str, text: str) -> Entry:
    """The entry in one table's text; an error unless the text is that one table."""
    import tomllib

    try:
        parsed = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueError(f"{area}.toml [{code}]: {exc}") from None
    if list(parsed) != [code]:  # a header written another way would hide in this text
        raise CatalogueError(f"{area}.toml [{code}]: holds tables {sorted(parsed)}")
    return load(area, parsed)[code]


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
    variants = (
        {k: v for k, v in table.items() if _VARIANT.fullmatch(k)} if isinstance(table, dict) else {}
    )
    if not isinstance(table, dict) or set(table) - set(variants) != set(_FIELDS):
        fields = sorted(table) if isinstance(table, dict) else table
        raise CatalogueError(f"{where}: needs exactly {', '.join(_FIELDS)}, has {fields}")
    if not all(isinstance(table[k], str) and table[k].strip() for k in (*_FIELDS, *variants)):
        raise CatalogueError(f"{where}: every field must be non-empty text")
    try:
        severity = Severity(table["severity"])
    except ValueError:
        raise CatalogueError(f"{where}: unknown severity {table['severity']!r}") from None
    for text in (table["hint"], *variants.values()):
        unknown = set(_PLACEHOLDER.findall(text)) - set(EXAMPLES)
        if unknown:
            raise CatalogueError(f"{where}: unknown placeholder(s) {sorted(unknown)} in a hint")
    cases = tuple((k.removeprefix("hint_"), v) for k, v in variants.items())
    return Entry(
        code=code,
        area=area,
        rule=Rule(severity, fill(table["hint"], {}), table["hint"], cases),
        explanation=Explanation(
            what=table["what"], why=table["why"], fix=table["fix"], verify=table["verify"]
        ),
    )
