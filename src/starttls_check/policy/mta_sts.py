"""MTA-STS (RFC 8461), judged without I/O: the TXT record, the policy file, the MX cross-check.

Facts come in (TXT strings, the fetched policy text, which MX hosts were probed and how),
findings go out. The network side is `https_fetch.py`; the data type it returns lives here
so that this pure module can judge it without importing the edge.

Parsing follows the RFC's ABNF strictly, because a sender that discards a sloppy record
protects nothing, and lints what the ABNF allows but senders read differently (repeated
keys, a wildcard on a top-level domain, a very short `max_age`). Every problem names the
line or field, so the message alone tells the administrator what to change. Problems
carry codes, never severities: those are the catalogue's (model/texts/mta-sts.toml).
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import NamedTuple

from ..dns.names import is_ascii_number
from ..model.findings import Severity
from ..model.session import CertProblem, TrustVerdict

MAX_AGE_LIMIT = 31557600  # RFC 8461 §3.2: at most a year
MAX_AGE_SHORT = 86400  # below a day, a blocked refresh soon leaves senders without a policy
POLICY_PATH = "/.well-known/mta-sts.txt"  # RFC 8461 §3.2
KNOWN_KEYS = ("version", "mode", "mx", "max_age")

_W, _F = Severity.WARN, Severity.FAIL
_EMPTY: Mapping[str, bool] = MappingProxyType({})


# ---------------------------------------------------------------------------- TXT record


class TxtProblem(NamedTuple):
    """Why the `_mta-sts` TXT record does not announce a policy; its severity is the code's."""

    code: str
    message: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StsTxt:
    """The `_mta-sts.<domain>` TXT record as senders read it (RFC 8461 §3.1)."""

    record: str | None = None  # the one record starting with v=STSv1, if exactly one did
    id: str | None = None  # its id, when that field itself is well-formed
    problems: tuple[TxtProblem, ...] = ()

    @property
    def valid(self) -> bool:
        """True when senders go on to fetch the policy."""
        return self.record is not None and self.id is not None and not self.problems


_TXT_ID = re.compile(r"[A-Za-z0-9]{1,32}")
_EXT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")
_EXT_VALUE = re.compile(r"[\x21-\x3a\x3c\x3e-\x7e]+")  # printable ASCII except '=' and ';'
_WSP = " \t"


def decode_txt_rdata(text: str) -> str:
    """One TXT record from its zone-file form (`DnsAnswer.records`) to its text: the quoted
    strings concatenated (as for SPF, RFC 7208 §3.3), `\\"` and `\\DDD` escapes undone."""
    out = bytearray()
    i, quoted = 0, False
    while i < len(text):
        char = text[i]
        if char == '"':
            quoted = not quoted
        elif (
            char == "\\" and is_ascii_number(text[i + 1 : i + 4]) and len(text[i + 1 : i + 4]) == 3
        ):
            out.append(int(text[i + 1 : i + 4]) & 0xFF)
            i += 3
        elif char == "\\" and i + 1 < len(text):
            out += text[i + 1].encode()
            i += 1
        elif quoted or char not in _WSP:
            out += char.encode()
        i += 1
    return out.decode("utf-8", errors="replace")


def _is_sts_record(text: str) -> bool:
    # RFC 8461 §3.1: records not beginning with "v=STSv1" are discarded; the version is
    # followed by the field delimiter (which may start with spaces) or nothing.
    return text.startswith("v=STSv1") and text[7:8] in ("", ";", " ", "\t")


def parse_sts_txt(records: Sequence[str]) -> StsTxt:
    """Judge the TXT strings found at `_mta-sts.<domain>` (decoded: see `decode_txt_rdata`)."""
    candidates = [r for r in records if _is_sts_record(r)]
    if len(candidates) > 1:
        listed = "; ".join(_quote(r) for r in candidates[:3])
        message = (
            f"{len(candidates)} TXT records start with v=STSv1 ({listed}); senders need "
            "exactly one and otherwise ignore MTA-STS (RFC 8461 §3.1)"
        )
        return StsTxt(problems=(TxtProblem("mta-sts.txt-multiple", message),))
    if not candidates:
        return StsTxt(problems=(_no_record(records),))
    record = candidates[0]
    ident, problems = _lint_record(record)
    return StsTxt(record=record, id=ident, problems=tuple(problems))


def _no_record(records: Sequence[str]) -> TxtProblem:
    near = next((r for r in records if r.strip().lower().startswith("v=sts")), None)
    if near is not None:
        message = (
            f"{_quote(near)} is not read as an MTA-STS record: it must begin with exactly "
            "`v=STSv1` (case-sensitive, nothing before it)"
        )
        return TxtProblem("mta-sts.txt-invalid", message)
    others = f" ({len(records)} other TXT records ignored)" if records else ""
    return TxtProblem("mta-sts.txt-missing", f"no TXT record starts with v=STSv1{others}")


def _lint_record(record: str) -> tuple[str | None, list[TxtProblem]]:
    """The id and every syntax problem of a record that starts with v=STSv1."""
    head, *fields = record.split(";")
    problems: list[str] = []
    if head.rstrip(_WSP) != "v=STSv1":
        problems.append(f"fields must be separated by ';' ({_quote(head)})")
    if fields and not fields[-1].strip(_WSP):
        fields.pop()  # one trailing delimiter is allowed
    ident: str | None = None
    id_fields = 0
    for field in fields:
        name, value, problem = _lint_field(field.strip(_WSP))
        id_fields += name.strip(_WSP).lower() == "id"
        if problem:
            problems.append(problem)
        elif name == "id" and ident is None:
            ident = value
    if id_fields > 1:
        problems.append("more than one id= field")
    if id_fields == 0:
        problems.append("no id= field (required: 1 to 32 letters and digits)")
    return ident, [TxtProblem("mta-sts.txt-invalid", f"{_quote(record)}: {p}") for p in problems]


def _lint_field(field: str) -> tuple[str, str, str | None]:
    """(name, value, problem) for one `name=value` field."""
    if not field:
        return "", "", "empty field (two ';' in a row)"
    name, sep, value = field.partition("=")
    if not sep:
        return name, "", f"field {_quote(field)} has no '='"
    if name != name.rstrip(_WSP) or value != value.lstrip(_WSP):
        return name, value, f"no spaces around '=' in {_quote(field)}"
    if name == "id":
        return name, value, _lint_id(value)
    if name.lower() == "id":
        return name, value, f"field names are case-sensitive: write id=, not {name}="
    if name == "v":
        return name, value, "v= must come first, and only once"
    if not _EXT_NAME.fullmatch(name) or not _EXT_VALUE.fullmatch(value):
        return name, value, f"malformed field {_quote(field)}"
    return name, value, None  # an extension field: senders ignore it


def _lint_id(value: str) -> str | None:
    if _TXT_ID.fullmatch(value):
        return None
    if not value:
        return "id= is empty (1 to 32 letters and digits)"
    bad = sorted({c for c in value if not (c.isascii() and c.isalnum())})
    if bad:
        shown = " ".join(repr(c) for c in bad[:5])
        return f"id {_quote(value)} contains {shown}: only letters and digits are allowed"
    return f"id is {len(value)} characters long; at most 32 are allowed"


# ----------------------------------------------------------------------------- policy file


class StsMode(StrEnum):
    """What the policy asks senders to do with an MX that fails it."""

    ENFORCE = "enforce"  # do not deliver
    TESTING = "testing"  # deliver, and report (TLS-RPT, RFC 8460)
    NONE = "none"  # no policy: the way to withdraw one (RFC 8461 §8.3)


class PolicyProblem(NamedTuple):
    """One thing wrong with, or worth changing in, the policy file."""

    code: str  # its severity is the catalogue's; the coverage check may raise it
    message: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StsPolicy:
    """The policy file as senders read it (RFC 8461 §3.2)."""

    version: str | None
    mode: StsMode | None
    mx: tuple[str, ...]  # patterns as written, in order
    max_age: int | None
    extensions: tuple[tuple[str, str], ...]  # keys senders ignore, with their values
    problems: tuple[PolicyProblem, ...]
    valid: bool  # False when senders following the RFC discard the policy


@dataclass(slots=True)
class _PolicyReader:
    """Accumulates fields and problems while reading the lines of one policy."""

    fields: dict[str, tuple[int, str]]
    mx: list[str]
    extensions: list[tuple[str, str]]
    problems: list[PolicyProblem]
    fatal: bool = False

    def problem(self, code: str, message: str, *, fatal: bool = False) -> None:
        self.problems.append(PolicyProblem(code, message))
        self.fatal |= fatal

    def invalid(self, message: str) -> None:
        self.problem("mta-sts.policy-invalid", message, fatal=True)


def parse_policy(text: str) -> StsPolicy:
    """Read and lint a policy file: `key: value` lines, CRLF or LF."""
    reader = _PolicyReader(fields={}, mx=[], extensions=[], problems=[])
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    for number, line in enumerate(lines, 1):
        if line.strip():
            _read_line(reader, number, line)
    version = _version(reader)
    mode = _mode(reader)
    max_age = _max_age(reader, mode)
    for pattern in reader.mx:
        if (problem := lint_mx_pattern(pattern)) is not None:
            reader.problems.append(problem)
    if not any(reader.mx) and mode in (StsMode.ENFORCE, StsMode.TESTING):
        # An empty `mx:` matches nothing: as good as none (and not valid ABNF either).
        reader.invalid(f"no mx: pattern; in {mode} mode the policy must list the MX hosts")
    return StsPolicy(
        version=version,
        mode=mode,
        mx=tuple(reader.mx),
        max_age=max_age,
        extensions=tuple(reader.extensions),
        problems=tuple(reader.problems),
        valid=not reader.fatal,
    )


def _read_line(reader: _PolicyReader, number: int, line: str) -> None:
    key, sep, value = line.partition(":")
    if not sep:
        reader.invalid(f"line {number} {_quote(line)} is not `key: value`")
        return
    value = value.strip(_WSP)
    if key == "mx":
        reader.mx.append(value)
    elif key not in KNOWN_KEYS:
        reader.extensions.append((key, value))
        reader.problem("mta-sts.key-unknown", _unknown_key(number, key))
    elif key in reader.fields:
        first = reader.fields[key][0]
        message = (
            f"line {number} repeats {key}: (first on line {first}); senders disagree on which "
            "one counts, this check reads the first"
        )
        reader.problem("mta-sts.policy-ambiguous", message)
    else:
        reader.fields[key] = (number, value)


def _unknown_key(number: int, key: str) -> str:
    normal = key.strip(_WSP).lower().replace("-", "_")
    close = difflib.get_close_matches(normal, KNOWN_KEYS, n=1, cutoff=0.6)
    suggestion = normal if normal in KNOWN_KEYS else (close[0] if close else None)
    if suggestion is None:
        return f"line {number}: unknown key {_quote(key)}, ignored by senders"
    why = "keys are case-sensitive and take no spaces" if normal == suggestion else "a typo?"
    return (
        f"line {number}: unknown key {_quote(key)}, ignored by senders; did you mean "
        f"{suggestion}: ({why})"
    )


def _version(reader: _PolicyReader) -> str | None:
    if "version" not in reader.fields:
        reader.invalid("no version: line (required: `version: STSv1`)")
        return None
    number, value = reader.fields["version"]
    if value != "STSv1":
        reader.invalid(f"line {number}: version is {_quote(value)}; it must be exactly STSv1")
    return value


def _mode(reader: _PolicyReader) -> StsMode | None:
    if "mode" not in reader.fields:
        reader.invalid("no mode: line (required: enforce, testing or none)")
        return None
    number, value = reader.fields["mode"]
    try:
        mode = StsMode(value)
    except ValueError:
        hint = (
            f"; values are case-sensitive: write {value.lower()}"
            if value.lower() in (m.value for m in StsMode)
            else ""
        )
        reader.invalid(f"line {number}: mode {_quote(value)} is not enforce, testing or none{hint}")
        return None
    if mode is StsMode.TESTING:
        reader.problem("mta-sts.mode-testing", "mode: testing; senders report but deliver")
    elif mode is StsMode.NONE:
        reader.problem("mta-sts.mode-none", "mode: none; the policy asks senders for nothing")
    return mode


def _max_age(reader: _PolicyReader, mode: StsMode | None) -> int | None:
    if "max_age" not in reader.fields:
        reader.invalid("no max_age: line (required: seconds, e.g. `max_age: 604800`)")
        return None
    number, value = reader.fields["max_age"]
    if not re.fullmatch(r"[0-9]{1,10}", value):
        reader.invalid(f"line {number}: max_age {_quote(value)} is not a number of seconds")
        return None
    seconds = int(value)
    if seconds > MAX_AGE_LIMIT:
        message = (
            f"max_age {seconds} is above the maximum {MAX_AGE_LIMIT} (one year, RFC 8461 §3.2); "
            "strict senders (e.g. postfix-mta-sts-resolver) discard the policy"
        )
        reader.problem("mta-sts.max-age", message, fatal=True)
    elif seconds < MAX_AGE_SHORT and mode is not StsMode.NONE:
        message = (
            f"max_age {seconds} is under a day: the policy soon expires from senders' caches, "
            "and an attacker who blocks the refresh then faces no policy"
        )
        reader.problem("mta-sts.max-age", message)
    return seconds


_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)", re.IGNORECASE)


def lint_mx_pattern(pattern: str) -> PolicyProblem | None:
    """What is wrong with one `mx:` value, if anything (RFC 8461 §3.2, §4.1)."""
    if _is_ip_literal(pattern):
        message = (
            f"mx: {_quote(pattern)} is an IP address; patterns match MX host names, never "
            "addresses, so this line matches nothing"
        )
        return PolicyProblem("mta-sts.mx-ip-literal", message)
    name = pattern.removeprefix("*.")
    why = _pattern_fault(pattern, name)
    if why is None:
        return None
    return PolicyProblem("mta-sts.mx-pattern", f"mx: {_quote(pattern)} {why}")


def _pattern_fault(pattern: str, name: str) -> str | None:
    if pattern.endswith("."):
        return "ends with a dot; write the name without it, as senders may compare literally"
    if "*" in name:
        return "has a wildcard that is not the whole leftmost label (write *.example.com)"
    if not name.isascii():
        return "is not ASCII; write internationalised names as A-labels (xn--...)"
    labels = name.split(".")
    if len(name) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        return "is not a valid host name"
    if pattern.startswith("*.") and len(labels) < 2:
        return "puts a wildcard on a top-level domain, which matches any host under it"
    return None


def _is_ip_literal(pattern: str) -> bool:
    bare = pattern.removeprefix("[").removesuffix("]").removeprefix("IPv6:")
    try:
        ipaddress.ip_address(bare)
    except ValueError:
        return False
    return True


# -------------------------------------------------------------------------- MX cross-check


def mx_matches(pattern: str, mx_host: str) -> bool:
    """RFC 8461 §4.1: exact match, or `*.` standing for exactly one leftmost label.

    Case-insensitive, final dots ignored on both sides (a pattern with one is linted
    separately); an IP literal pattern matches nothing.
    """
    wanted = pattern.strip().rstrip(".").lower()
    host = mx_host.strip().rstrip(".").lower()
    if not wanted or not host or _is_ip_literal(wanted):
        return False
    if not wanted.startswith("*."):
        return host == wanted
    first, _, rest = host.partition(".")
    return bool(first) and rest == wanted[2:]


# ----------------------------------------------------------------------- fetched policy


class FetchFailure(StrEnum):
    """Why a policy fetch gave senders no policy; the first thing a sender would trip on."""

    CONNECT = "connect"  # refused, unreachable
    TLS = "tls"  # the handshake failed (or TLS broke mid-response)
    CERTIFICATE = "certificate"  # not valid for mta-sts.<domain> (RFC 8461 §3.3)
    REDIRECT = "redirect"  # any 3xx: senders must not follow redirects (RFC 8461 §3.3)
    HTTP_STATUS = "http-status"  # anything but 200
    CONTENT_TYPE = "content-type"  # not text/plain
    TOO_LARGE = "too-large"  # over the size limit
    TIMEOUT = "timeout"  # some phase took longer than the timeout
    MALFORMED = "malformed"  # not HTTP/1.x we can read: bad status line, framing, cut short


@dataclass(frozen=True, slots=True, kw_only=True)
class FetchResult:
    """What fetching `https://<host>/.well-known/mta-sts.txt` from one address found.

    `body` is set for a 200 text/plain answer read in full, even when the certificate
    failed (so the policy can still be linted); `failure` says whether senders get it.
    """

    host: str  # mta-sts.<domain>: SNI, Host header, and the name the certificate must hold
    address: str
    port: int
    failure: FetchFailure | None
    reason: str  # why, for a person; "" on success
    status: int | None = None
    content_type: str | None = None
    body: str | None = None
    tls_version: str | None = None
    trust: TrustVerdict | None = None  # the served chain judged for `host`
    elapsed_ms: float = 0.0

    @property
    def url(self) -> str:
        return f"https://{self.host}{POLICY_PATH}"

    @property
    def trust_problems(self) -> tuple[CertProblem, ...]:
        return self.trust.problems if self.trust is not None else ()


# ------------------------------------------------------------------------------ findings


def _quote(text: str, limit: int = 80) -> str:
    """Server-derived text, quoted and capped; control characters escaped by repr."""
    return repr(text if len(text) <= limit else text[:limit] + "...")


# What MTA-STS senders check on a certificate (RFC 8461 §4.2: a chain to a trusted root,
# validity, the name). Weak keys and SHA-1 have their own findings and depend on the
# sender's TLS library; they do not by themselves make a policy fail here.
_STS_CERT_TOLERATED = frozenset({CertProblem.WEAK_KEY, CertProblem.SHA1_SIGNATURE})


def authenticates(verdict: TrustVerdict) -> bool:
    """Whether an MTA-STS sender would accept the chain (for `cert_valid_for`, and for the
    policy host's certificate)."""
    return all(problem in _STS_CERT_TOLERATED for problem in verdict.problems)
