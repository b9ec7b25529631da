"""Policy as code: `starttls-check --config starttls-check.toml` reads domains and options.

The file (TOML 1.0, read with the standard library's `tomllib`)::

    # top level: run settings and the default policy for every domain
    nameservers = ["192.0.2.53", "[2001:db8::53]:53"]   # IP, IP:PORT or [IPv6]:PORT
    port = 25                               # SMTP port on every MX host
    timeout = 15                            # seconds per network phase
    ehlo = "monitor.example.com"
    ca_files = ["private-ca.pem"]           # relative to this file's folder; must exist
    retries = 1                             # after a transient 4xx reply
    protocol = "smtp"                       # as --protocol
    deep = false                            # as --deep
    injection_probe = true                  # false: as --no-injection-probe
    policy_checks = true                    # false: as --no-policy-checks
    advisories = true                       # false: as --no-advisories (the table only)
    dnssec = "validate"                     # "validate" | "resolver", as --dnssec
    trust_anchor = "anchors.txt"            # as --trust-anchor; relative to this file
    input = "domains.txt"                   # as --input; relative to this file
    fail_on = "warn"                        # "warn" | "fail": what makes the run fail
    min_tls = "1.2"                         # "1.2" | "1.3"
    require_valid_cert = true
    cert_expiry_days = 21
    allow = ["cert.self-signed@backup.example.com"]   # waivers: CODE or CODE@HOST
    require_dane = false
    require_mta_sts = false

    [domains."example.com"]                 # one table per domain; may be empty

    [domains."example.org"]                 # policy keys only: they override the top level
    require_valid_cert = false
    allow = ["mx.implicit"]

Settings (`names.SETTING_KEYS`) are allowed at the top level only; policy keys (`names.POLICY_KEYS`)
at the top level and in each domain's table, where a key replaces the top-level value
(`allow` lists are replaced, not merged); `apply_policy` layers them. Values go through
the command line's parsers (params.py), so a value means the same in both places. Every
problem is a `ConfigError` whose text is one line, `FILE:LINE: problem`, for cli.py to
print with exit code 2.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

from ..model.choices import MailProtocol
from ..model.findings import Policy, Severity, Waiver
from .names import INVOCATION_KEYS, POLICY_KEYS, SETTING_KEYS
from .params import (
    parse_domain,
    parse_expiry_days,
    parse_hostname,
    parse_min_tls,
    parse_nameserver,
    parse_port,
    parse_retries,
    parse_timeout,
    parse_waiver_text,
)


class ConfigError(ValueError):
    """A problem with the config file; `str()` is one line: `FILE:LINE[:COLUMN]: problem`."""

    def __init__(self, path: Path, line: int | None, problem: str, column: int | None = None):
        where = "".join(f":{n}" for n in (line, column) if n)
        # one line whatever the problem text holds: the CLI prints it as one usage error
        text = f"{path}{where}: {problem}"
        super().__init__(text.replace("\n", "\\n").replace("\r", "\\r"))
        self.path, self.line, self.column, self.problem = path, line, column, problem


T = TypeVar("T")
_KINDS = {bool: "a boolean", int: "an integer", float: "a float", str: "a string", list: "an array"}


def _wrong(key: str, value: object, what: str) -> ValueError:
    kind = _KINDS.get(type(value)) or ("a table" if isinstance(value, dict) else "a date/time")
    return ValueError(f"{key} must be {what}, not {kind}")


def _get(key: str, value: object, kind: type[T]) -> T:
    # bool is an int to Python but not to TOML: `port = true` is a mistake, not port 1
    if isinstance(value, kind) and (kind is bool or not isinstance(value, bool)):
        return value
    raise _wrong(key, value, _KINDS[kind])


def _number(key: str, value: object) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):  # `timeout = 15` too
        return float(value)
    raise _wrong(key, value, "a number")


def _strings(key: str, value: object) -> list[str]:
    if isinstance(value, list):
        return [_get(f"each item of {key}", item, str) for item in value]
    raise _wrong(key, value, "an array of strings")


def _fail_on(key: str, value: object, _: Path) -> Severity:
    text = _get(key, value, str)
    if text not in (Severity.WARN, Severity.FAIL):  # "info" would fail every run
        raise ValueError(f'bad fail_on {text!r}: expected "warn" or "fail"')
    return Severity(text)


def _ca_files(key: str, value: object, folder: Path) -> tuple[Path, ...]:
    # relative to the file, not the working directory: the file works from any cron job
    found = []
    for name in _strings(key, value):
        path = (folder / name).resolve()
        if not path.is_file():
            raise ValueError(f"CA file {name!r} not found (looked for {str(path)!r})")
        found.append(path)
    return tuple(found)


def _choice(key: str, value: object, choices: list[str]) -> str:
    text = _get(key, value, str)
    if text not in choices:
        raise ValueError(f"bad {key} {text!r}: expected one of {', '.join(choices)}")
    return text


def _file(key: str, value: object, folder: Path) -> Path:
    name = _get(key, value, str)
    path = (folder / name).resolve()  # relative to the file, as ca_files are
    if not path.is_file():
        raise ValueError(f"{key} {name!r} not found (looked for {str(path)!r})")
    return path


def _waiver(text: str) -> Waiver:
    code, host = parse_waiver_text(text)
    return Waiver(code=code, host=host)


Convert = Callable[[str, object, Path], object]
_SETTINGS: dict[str, Convert] = {
    "nameservers": lambda k, v, _: tuple(parse_nameserver(s) for s in _strings(k, v)),
    "port": lambda k, v, _: parse_port(str(_get(k, v, int))),
    "timeout": lambda k, v, _: parse_timeout(_number(k, v)),
    "ehlo": lambda k, v, _: parse_hostname(_get(k, v, str)),
    "ca_files": _ca_files,
    "retries": lambda k, v, _: parse_retries(_get(k, v, int)),
    "protocol": lambda k, v, _: _choice(k, v, [p.value for p in MailProtocol]),
    "deep": lambda k, v, _: _get(k, v, bool),
    "injection_probe": lambda k, v, _: _get(k, v, bool),
    "policy_checks": lambda k, v, _: _get(k, v, bool),
    "advisories": lambda k, v, _: _get(k, v, bool),
    "dnssec": lambda k, v, _: _choice(k, v, ["validate", "resolver"]),
    "trust_anchor": lambda k, v, folder: _file(k, v, folder),
    "input": lambda k, v, folder: _file(k, v, folder),
}
_POLICY: dict[str, Convert] = {
    "fail_on": _fail_on,
    "min_tls": lambda k, v, _: parse_min_tls(_get(k, v, str)),
    "require_valid_cert": lambda k, v, _: _get(k, v, bool),
    "cert_expiry_days": lambda k, v, _: parse_expiry_days(_get(k, v, int)),
    "allow": lambda k, v, _: tuple(_waiver(s) for s in _strings(k, v)),
    "require_dane": lambda k, v, _: _get(k, v, bool),
    "require_mta_sts": lambda k, v, _: _get(k, v, bool),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfigFile:
    """A loaded config file, values already converted; only keys present in the file."""

    path: Path
    domains: tuple[str, ...]  #: A-labels, in file order
    settings: Mapping[str, object]  #: run settings, e.g. "port" -> 25
    policy: Mapping[str, object]  #: top-level policy keys, e.g. "fail_on" -> Severity.WARN
    domain_policy: Mapping[str, Mapping[str, object]]  #: A-label -> overrides (maybe empty)


def apply_policy(base: Policy, overrides: Mapping[str, object]) -> Policy:
    """`base` with `overrides` on top: file defaults, then a domain's, then the command line."""
    if stray := sorted(overrides.keys() - POLICY_KEYS):  # e.g. settings passed by mistake
        raise TypeError(f"not policy keys: {', '.join(stray)}")
    changes: dict[str, Any] = dict(overrides)  # converted by load_config, typed as object
    return dataclasses.replace(base, **changes)


# A TOML key: bare, "basic" or 'literal' parts joined by dots. Good enough to find lines;
# tomllib itself decodes what this matches (escapes, quotes) in _key_path.
_PART = r"""[A-Za-z0-9_-]+|"(?:[^"\\\n]|\\.)*"|'[^'\n]*'"""
_KEYS = rf"(?:{_PART})(?:\s*\.\s*(?:{_PART}))*"
_HEADER = re.compile(rf"\s*\[\[?\s*({_KEYS})\s*\]\]?\s*(?:#.*)?$")
_ASSIGN = re.compile(rf"\s*({_KEYS})\s*=")


def _key_path(keys: str) -> tuple[str, ...] | None:
    try:
        node: object = tomllib.loads(f"{keys} = 0")
    except tomllib.TOMLDecodeError:
        return None
    path: list[str] = []
    while isinstance(node, dict) and len(node) == 1:
        ((name, node),) = node.items()
        path.append(name)
    return tuple(path)


def _mentions(text: str, key: str) -> bool:
    return re.search(rf"(?<![\w.-]){re.escape(key)}(?![\w-])", text) is not None


def _locate(lines: list[str], table: tuple[str, ...], key: str) -> int:
    """The line defining `key` in `table`: tomllib reports no positions for valid files."""
    target: tuple[str, ...] = (*table, key)
    current: tuple[str, ...] = ()
    for number, line in enumerate(lines, 1):
        if header := _HEADER.match(line):
            current = path = _key_path(header[1]) or ("\0",)  # unparsable: matches nothing
            rest = ""
        elif (assign := _ASSIGN.match(line)) and (keys := _key_path(assign[1])):
            path, rest = (*current, *keys), line[assign.end() :]
        else:
            continue
        if path[: len(target)] == target:  # `[domains."x"]`, `key =`, `domains."x".key =`
            return number
        if target[: len(path)] == path and _mentions(rest, key):  # inside an inline table
            return number
    return next((n for n, line in enumerate(lines, 1) if _mentions(line, key)), 1)


@dataclass(frozen=True, slots=True)
class _Reader:
    path: Path
    lines: list[str]

    def error(self, table: tuple[str, ...], key: str, problem: str) -> ConfigError:
        return ConfigError(self.path, _locate(self.lines, table, key), problem)

    def section(
        self, table: tuple[str, ...], raw: dict[str, object], allowed: Mapping[str, Convert]
    ) -> dict[str, object]:
        """Check each key against `allowed` and convert its value; the first problem raises."""
        converted: dict[str, object] = {}
        for key, value in raw.items():
            if key not in allowed:
                raise self.error(table, key, self.unknown(table, key, allowed))
            try:
                converted[key] = allowed[key](key, value, self.path.parent)
            except ValueError as exc:  # the params parsers' one-line sentence
                raise self.error(table, key, str(exc)) from None
        return converted

    @staticmethod
    def unknown(table: tuple[str, ...], key: str, allowed: Mapping[str, Convert]) -> str:
        where = f" in [domains.{json.dumps(table[1], ensure_ascii=False)}]" if table else ""
        if table and key in SETTING_KEYS | INVOCATION_KEYS:
            return f"{key!r}{where} is a run setting: it is allowed at the top level only"
        candidates = sorted(allowed) if table else [*sorted(allowed), "domains"]
        close = difflib.get_close_matches(key.lower(), candidates, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"unknown key {key!r}{where}{hint}"

    def domains(self, raw: object) -> dict[str, Mapping[str, object]]:
        """`[domains."x"]` tables → {A-label: converted overrides}, in file order."""
        if not isinstance(raw, dict):
            kind = "an array" if isinstance(raw, list) else "a value"
            problem = f'domains must be a table of [domains."NAME"] tables, not {kind}'
            raise self.error((), "domains", problem)
        found: dict[str, Mapping[str, object]] = {}
        spelled: dict[str, str] = {}  # A-label -> the key as written, for the duplicate error
        for name, table in raw.items():
            if not isinstance(table, dict):
                problem = f"domains.{json.dumps(name)} must be a table of policy keys"
                raise self.error(("domains",), name, problem)
            try:
                domain = parse_domain(name)
            except ValueError as exc:
                raise self.error(("domains",), name, str(exc)) from None
            if domain in spelled:  # `Example.COM` and `example.com`: which policy wins?
                first = spelled[domain]
                line = _locate(self.lines, ("domains",), first)
                problem = f"domain {name!r} is listed twice (also as {first!r} on line {line})"
                raise self.error(("domains",), name, problem)
            spelled[domain] = name
            found[domain] = MappingProxyType(self.section(("domains", name), table, _POLICY))
        return found


def load_config(path: Path) -> ConfigFile:
    """Read and check `path`; raises `ConfigError` naming the file and line of a problem."""
    try:
        text = path.read_bytes().decode("utf-8")
        data = tomllib.loads(text)
    except OSError as exc:
        raise ConfigError(path, None, f"cannot read the config file: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(path, None, f"not UTF-8 text: {exc.reason}") from None
    except tomllib.TOMLDecodeError as exc:  # 3.11 has no lineno attribute: parse the text
        found = re.fullmatch(r"(.*) \(at line (\d+), column (\d+)\)", str(exc))
        if found:
            raise ConfigError(path, int(found[2]), found[1], int(found[3])) from None
        line = len(text.rstrip("\n").split("\n"))  # "(at end of document)": the last line
        raise ConfigError(path, line, str(exc).removesuffix(" (at end of document)")) from None
    # split on "\n" only, as tomllib counts lines; str.splitlines() also splits on \f, \u2028
    reader = _Reader(path, text.split("\n"))
    raw_domains = data.pop("domains", {})
    top = reader.section((), data, _SETTINGS | _POLICY)
    domain_policy = reader.domains(raw_domains)
    return ConfigFile(
        path=path,
        domains=tuple(domain_policy),
        settings=MappingProxyType(
            {k: v for k, v in top.items() if k in SETTING_KEYS | INVOCATION_KEYS}
        ),
        policy=MappingProxyType({k: v for k, v in top.items() if k in POLICY_KEYS}),
        domain_policy=MappingProxyType(domain_policy),
    )
