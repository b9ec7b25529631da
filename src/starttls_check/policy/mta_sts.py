"""MTA-STS (RFC 8461) without I/O: the policy file, its `mx:` patterns, and the fetched
policy as data.

Parsing follows the RFC's ABNF strictly, because a sender that discards a sloppy policy
protects nothing, and lints what the ABNF allows but senders read differently (repeated
keys, a wildcard on a top-level domain, a very short `max_age`). Every problem names the
line or field, so the message alone tells the administrator what to change. Problems
carry codes, never severities: those are the catalogue's (model/texts/mta-sts.toml), and
what they mean for delivery is judged in checks/mta_sts.py. The `_mta-sts` TXT record is
`mta_sts_txt.py`; the network side is `https_fetch.py`, whose result type lives here so
that the judging needs no edge.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import NamedTuple

from ..model.report import FetchFailure, StsMode
from ..model.session import CertProblem, TrustVerdict
from .txt import quote

__all__ = ["FetchFailure", "FetchResult", "StsMode", "authenticates", "parse_policy"]

MAX_AGE_LIMIT = 31557600  # RFC 8461 §3.2: at most a year
MAX_AGE_SHORT = 86400  # below a day, a blocked refresh soon leaves senders without a policy
POLICY_PATH = "/.well-known/mta-sts.txt"  # RFC 8461 §3.2
KNOWN_KEYS = ("version", "mode", "mx", "max_age")

_WSP = " \t"


# ----------------------------------------------------------------------------- policy file


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
        reader.invalid(f"line {number} {quote(line)} is not `key: value`")
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
    from difflib import get_close_matches  # only for a policy with an unknown key

    normal = key.strip(_WSP).lower().replace("-", "_")
    close = get_close_matches(normal, KNOWN_KEYS, n=1, cutoff=0.6)
    suggestion = normal if normal in KNOWN_KEYS else (close[0] if close else None)
    if suggestion is None:
        return f"line {number}: unknown key {quote(key)}, ignored by senders"
    why = "keys are case-sensitive and take no spaces" if normal == suggestion else "a typo?"
    return (
        f"line {number}: unknown key {quote(key)}, ignored by senders; did you mean "
        f"{suggestion}: ({why})"
    )


def _version(reader: _PolicyReader) -> str | None:
    if "version" not in reader.fields:
        reader.invalid("no version: line (required: `version: STSv1`)")
        return None
    number, value = reader.fields["version"]
    if value != "STSv1":
        reader.invalid(f"line {number}: version is {quote(value)}; it must be exactly STSv1")
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
        reader.invalid(f"line {number}: mode {quote(value)} is not enforce, testing or none{hint}")
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
        reader.invalid(f"line {number}: max_age {quote(value)} is not a number of seconds")
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
            f"mx: {quote(pattern)} is an IP address; patterns match MX host names, never "
            "addresses, so this line matches nothing"
        )
        return PolicyProblem("mta-sts.mx-ip-literal", message)
    name = pattern.removeprefix("*.")
    why = _pattern_fault(pattern, name)
    if why is None:
        return None
    return PolicyProblem("mta-sts.mx-pattern", f"mx: {quote(pattern)} {why}")


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
    chain_der: tuple[bytes, ...] = ()  # as served, leaf first
    trust: TrustVerdict | None = None  # the served chain judged for `host` (judge/mta_sts.py)
    elapsed_ms: float = 0.0

    @property
    def url(self) -> str:
        return f"https://{self.host}{POLICY_PATH}"

    @property
    def trust_problems(self) -> tuple[CertProblem, ...]:
        return self.trust.problems if self.trust is not None else ()


# What MTA-STS senders check on a certificate (RFC 8461 §4.2: a chain to a trusted root,
# validity, the name). Weak keys and SHA-1 have their own findings and depend on the
# sender's TLS library; they do not by themselves make a policy fail here.
_STS_CERT_TOLERATED = frozenset({CertProblem.WEAK_KEY, CertProblem.SHA1_SIGNATURE})


def authenticates(verdict: TrustVerdict) -> bool:
    """Whether an MTA-STS sender would accept the chain (for `cert_valid_for`, and for the
    policy host's certificate)."""
    return all(problem in _STS_CERT_TOLERATED for problem in verdict.problems)
