"""MTA-STS (RFC 8461), judged without I/O: the TXT record, the policy file, the MX cross-check.

Facts come in (TXT strings, the fetched policy text, which MX hosts were probed and how),
findings go out. The network side is `https_fetch.py`; the data type it returns lives here
so that this pure module can judge it without importing the edge.

Parsing follows the RFC's ABNF strictly, because a sender that discards a sloppy record
protects nothing, and lints what the ABNF allows but senders read differently (repeated
keys, a wildcard on a top-level domain, a very short `max_age`). Every problem names the
line or field, so the message alone tells the administrator what to change.

Codes and their texts (`CODES`, `EXPLANATIONS`) are at the end of the file; `hints` and
`explain` collect them, which is why this module imports only `rules`, not those two.
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
from ..judge.rules import Explanation, Rule, make_finding
from ..model.dns import DnsStatus
from ..model.findings import Finding, Severity
from ..model.session import CertProblem, TrustVerdict

MAX_AGE_LIMIT = 31557600  # RFC 8461 §3.2: at most a year
MAX_AGE_SHORT = 86400  # below a day, a blocked refresh soon leaves senders without a policy
POLICY_PATH = "/.well-known/mta-sts.txt"  # RFC 8461 §3.2
KNOWN_KEYS = ("version", "mode", "mx", "max_age")

_I, _W, _F = Severity.INFO, Severity.WARN, Severity.FAIL
_EMPTY: Mapping[str, bool] = MappingProxyType({})


# ---------------------------------------------------------------------------- TXT record


class TxtProblem(NamedTuple):
    """Why the `_mta-sts` TXT record does not announce a policy; severity comes from CODES."""

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

    code: str
    severity: Severity
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

    def problem(self, code: str, severity: Severity, message: str, *, fatal: bool = False) -> None:
        self.problems.append(PolicyProblem(code, severity, message))
        self.fatal |= fatal

    def invalid(self, message: str) -> None:
        self.problem("mta-sts.policy-invalid", _W, message, fatal=True)


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
        reader.problem("mta-sts.key-unknown", _W, _unknown_key(number, key))
    elif key in reader.fields:
        first = reader.fields[key][0]
        message = (
            f"line {number} repeats {key}: (first on line {first}); senders disagree on which "
            "one counts, this check reads the first"
        )
        reader.problem("mta-sts.policy-ambiguous", _W, message)
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
        reader.problem("mta-sts.mode-testing", _I, "mode: testing; senders report but deliver")
    elif mode is StsMode.NONE:
        reader.problem("mta-sts.mode-none", _I, "mode: none; the policy asks senders for nothing")
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
        reader.problem("mta-sts.max-age", _W, message, fatal=True)
    elif seconds < MAX_AGE_SHORT and mode is not StsMode.NONE:
        message = (
            f"max_age {seconds} is under a day: the policy soon expires from senders' caches, "
            "and an attacker who blocks the refresh then faces no policy"
        )
        reader.problem("mta-sts.max-age", _W, message)
    return seconds


_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)", re.IGNORECASE)


def lint_mx_pattern(pattern: str) -> PolicyProblem | None:
    """What is wrong with one `mx:` value, if anything (RFC 8461 §3.2, §4.1)."""
    if _is_ip_literal(pattern):
        message = (
            f"mx: {_quote(pattern)} is an IP address; patterns match MX host names, never "
            "addresses, so this line matches nothing"
        )
        return PolicyProblem("mta-sts.mx-ip-literal", _W, message)
    name = pattern.removeprefix("*.")
    why = _pattern_fault(pattern, name)
    if why is None:
        return None
    return PolicyProblem("mta-sts.mx-pattern", _W, f"mx: {_quote(pattern)} {why}")


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


def check_mx_coverage(
    policy: StsPolicy,
    mx_hosts: Sequence[str],
    cert_valid_for: Mapping[str, bool],
    starttls_ok: Mapping[str, bool],
) -> tuple[Finding, ...]:
    """Every MX must match a pattern and, in enforce mode, offer STARTTLS with a certificate
    valid for its name (RFC 8461 §4.1, §4.2); failures in enforce mode, warnings in testing.

    The mappings are keyed by the names in `mx_hosts`; a host missing from one is unknown
    (not probed, inconclusive) and yields no finding. A host with several addresses is
    valid only if all of them were.
    """
    if policy.mode not in (StsMode.ENFORCE, StsMode.TESTING):
        return ()
    severity = _F if policy.mode is StsMode.ENFORCE else _W
    consequence = (
        "senders applying the policy will not deliver to it"
        if policy.mode is StsMode.ENFORCE
        else "senders would refuse it in enforce mode; in testing they deliver and report"
    )
    patterns = ", ".join(policy.mx) or "none"
    findings: list[Finding] = []
    for host in mx_hosts:
        if not any(mx_matches(p, host) for p in policy.mx):
            message = f"MX {host} matches no mx: pattern ({patterns}): {consequence}"
            findings.append(_finding("mta-sts.mx-not-covered", host, message, severity))
        elif starttls_ok.get(host) is False:
            message = f"MX {host} does not offer STARTTLS: {consequence}"
            findings.append(_finding("mta-sts.mx-no-starttls", host, message, severity))
        elif cert_valid_for.get(host) is False:
            message = f"MX {host} has no certificate valid for its name: {consequence}"
            findings.append(_finding("mta-sts.mx-invalid-cert", host, message, severity))
    return tuple(findings)


# What MTA-STS senders check on a certificate (RFC 8461 §4.2: a chain to a trusted root,
# validity, the name). Weak keys and SHA-1 have their own findings and depend on the
# sender's TLS library; they do not by themselves make a policy fail here.
_STS_CERT_TOLERATED = frozenset({CertProblem.WEAK_KEY, CertProblem.SHA1_SIGNATURE})


def authenticates(verdict: TrustVerdict) -> bool:
    """Whether an MTA-STS sender would accept the chain (for `cert_valid_for`, and for the
    policy host's certificate)."""
    return all(problem in _STS_CERT_TOLERATED for problem in verdict.problems)


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


def txt_findings(
    domain: str, status: DnsStatus, txt: StsTxt, detail: str = ""
) -> tuple[Finding, ...]:
    """Findings for the `_mta-sts.<domain>` TXT lookup (`status`) and its records."""
    name = f"_mta-sts.{domain}"
    if status in (DnsStatus.NXDOMAIN, DnsStatus.NO_DATA):
        message = f"no MTA-STS: {name} has no TXT record"
        return (_finding("mta-sts.txt-missing", domain, message),)
    if status is not DnsStatus.OK:
        message = f"TXT lookup for {name} failed ({status})" + (f": {detail}" if detail else "")
        return (_finding("mta-sts.txt-lookup-failed", domain, message),)
    return tuple(_finding(p.code, domain, f"{name}: {p.message}") for p in txt.problems)


def fetch_finding(domain: str, fetch: FetchResult) -> Finding | None:
    """`mta-sts.policy-unavailable` when the fetch gave senders no policy, saying why."""
    if fetch.failure is None:
        return None
    message = f"policy {fetch.url} (from {fetch.address}): {fetch.failure}: {fetch.reason}"
    return _finding("mta-sts.policy-unavailable", domain, message)


def policy_findings(domain: str, policy: StsPolicy) -> tuple[Finding, ...]:
    """One finding per problem in the policy file."""
    return tuple(_finding(p.code, domain, p.message, p.severity) for p in policy.problems)


def evaluate_mta_sts(
    domain: str,
    txt_status: DnsStatus,
    txt: StsTxt,
    fetch: FetchResult | None,
    *,
    mx_hosts: Sequence[str] = (),
    cert_valid_for: Mapping[str, bool] = _EMPTY,
    starttls_ok: Mapping[str, bool] = _EMPTY,
) -> tuple[Finding, ...]:
    """Everything above, in the order a sender meets it; `fetch` is None when not fetched.

    A sender that finds no valid TXT record, or cannot use the policy, applies none: then
    the MX hosts are not cross-checked. A policy body that arrived is linted even when the
    fetch failed on the certificate, so both fixes show at once.
    """
    findings = list(txt_findings(domain, txt_status, txt))
    if fetch is None or not txt.valid:
        return tuple(findings)
    if (unavailable := fetch_finding(domain, fetch)) is not None:
        findings.append(unavailable)
    if fetch.body is None:
        return tuple(findings)
    policy = parse_policy(fetch.body)
    findings += policy_findings(domain, policy)
    if unavailable is None and policy.valid:
        findings += check_mx_coverage(policy, mx_hosts, cert_valid_for, starttls_ok)
    return tuple(findings)


def _finding(code: str, subject: str, message: str, severity: Severity | None = None) -> Finding:
    return make_finding(code, CODES[code], subject, message, severity=severity)


def _quote(text: str, limit: int = 80) -> str:
    """Server-derived text, quoted and capped; control characters escaped by repr."""
    return repr(text if len(text) <= limit else text[:limit] + "...")


# --------------------------------------------------------------------------------- codes

_TXT = '_mta-sts.example.com. IN TXT "v=STSv1; id=20261128T000000;"'
_URL = "https://mta-sts.example.com/.well-known/mta-sts.txt"
_POLICY_LINES = "  version: STSv1\n  mode: enforce\n  mx: mail.example.com\n  max_age: 604800"
_PUBLISH = (
    f"Publish the TXT record:\n  {_TXT}\nand serve the policy at {_URL} over HTTPS with a "
    "certificate for mta-sts.example.com from a public CA, status 200, `Content-Type: "
    f"text/plain` and no redirect:\n{_POLICY_LINES}\nOne `mx:` line per MX host "
    "(`*.example.com` covers one label). Start with `mode: testing` and TLS reports "
    '(RFC 8460: `_smtp._tls.example.com. IN TXT "v=TLSRPTv1; rua=mailto:tls@example.com"`), '
    "then switch to `mode: enforce`."
)
_BUMP_ID = (
    "Whenever the policy changes, change the `id=` in the TXT record too (e.g. to the date "
    "and time), or senders keep their cached copy until `max_age` runs out (RFC 8461 §3.1)."
)
_SHOW_TXT = "$ dig +short TXT _mta-sts.example.com"
_SHOW_POLICY = (
    "$ curl --max-redirs 0 -sS -D - \\\n    https://mta-sts.example.com/.well-known/mta-sts.txt"
)
_CHECK_STS = "$ starttls-check example.com"
_CERT_FIX = (
    "Postfix: `smtpd_tls_chain_files` with the key, the leaf and its intermediates; Exim: "
    "`tls_certificate` with the full chain and `tls_privatekey`. The certificate must name "
    "the MX host exactly as the MX record does (subjectAltName), chain to a public CA and be "
    "in date."
)

CODES: dict[str, Rule] = {
    "mta-sts.txt-missing": Rule(
        _I,
        "The domain publishes no MTA-STS policy (RFC 8461), so an attacker on the path can "
        "strip STARTTLS or impersonate the MX. To opt in, publish "
        f"`{_TXT}` and serve {_URL} as text/plain with `version: STSv1`, `mode: enforce` "
        "(start with `mode: testing`), one `mx: mail.example.com` line per MX and "
        "`max_age: 604800`.",
    ),
    "mta-sts.txt-lookup-failed": Rule(
        _W,
        "The TXT lookup for `_mta-sts.example.com` failed, so senders cannot tell whether the "
        "domain uses MTA-STS: check that the zone's name servers answer TXT queries for that "
        "name (`dig TXT _mta-sts.example.com`), including over TCP.",
    ),
    "mta-sts.txt-invalid": Rule(
        _W,
        "The `_mta-sts` TXT record is malformed, so senders ignore MTA-STS entirely (RFC 8461 "
        "§3.1): publish exactly `v=STSv1; id=20261128T000000;` (the id is 1 to 32 letters "
        "and digits, no dashes, and changes whenever the policy does).",
    ),
    "mta-sts.txt-multiple": Rule(
        _W,
        "More than one TXT record at `_mta-sts.example.com` starts with `v=STSv1`, so senders "
        "ignore MTA-STS (RFC 8461 §3.1): delete all but one, e.g. keep "
        "`v=STSv1; id=20261128T000000;`.",
    ),
    "mta-sts.policy-unavailable": Rule(
        _W,
        "The TXT record announces MTA-STS but the policy could not be fetched (the message "
        "says why), so senders without a cached copy apply none: serve "
        f"{_URL} with status 200, `Content-Type: text/plain`, no redirect, and a "
        "certificate for mta-sts.example.com from a public CA.",
    ),
    "mta-sts.policy-invalid": Rule(
        _W,
        "The policy file breaks RFC 8461 §3.2, so senders discard it: it needs the lines "
        "`version: STSv1`, `mode: enforce` (or testing, none), `mx: mail.example.com` (one "
        "per MX) and `max_age: 604800`, one `key: value` per line, keys in lower case.",
    ),
    "mta-sts.policy-ambiguous": Rule(
        _W,
        "A key other than `mx` appears more than once, and senders differ on which value "
        "they use: keep one `version:`, one `mode:` and one `max_age:` line.",
    ),
    "mta-sts.key-unknown": Rule(
        _W,
        "The policy has a key senders do not know, and they ignore it: check the spelling "
        "(`version`, `mode`, `mx`, `max_age` with an underscore, all lower case, no space "
        "before the colon).",
    ),
    "mta-sts.mode-testing": Rule(
        _I,
        "The policy is in testing mode: senders report failures (with TLS-RPT, RFC 8460) "
        "but still deliver. Once the reports are clean, set `mode: enforce` and change the "
        "TXT record's `id=`.",
    ),
    "mta-sts.mode-none": Rule(
        _I,
        "The policy's mode is none: it protects nothing, which is how a policy is withdrawn "
        "(RFC 8461 §8.3). If that is not the intent, set `mode: testing` or `mode: enforce` "
        "and change the TXT record's `id=`.",
    ),
    "mta-sts.max-age": Rule(
        _W,
        "Set `max_age` between a week and a year, e.g. `max_age: 604800` (a week) or "
        "`max_age: 31557600` (the maximum): a short lifetime lets a blocked refresh leave "
        "senders without the policy, and more than 31557600 makes strict senders discard it.",
    ),
    "mta-sts.mx-pattern": Rule(
        _W,
        "An `mx:` line is not a valid host name pattern: write the MX host's name as its MX "
        "record has it, without a final dot (`mx: mail.example.com`), or a wildcard for one "
        "whole leftmost label (`mx: *.example.com`).",
    ),
    "mta-sts.mx-ip-literal": Rule(
        _W,
        "An `mx:` line holds an IP address, which matches no MX host: write the MX host "
        "name instead (`mx: mail.example.com`).",
    ),
    "mta-sts.mx-not-covered": Rule(
        _F,
        "An MX host matches no `mx:` line of the policy, so senders applying it in enforce "
        "mode do not deliver there: add `mx: mail.example.com` (or `mx: *.example.com`) for "
        "it, or remove the MX record, then change the TXT record's `id=`.",
    ),
    "mta-sts.mx-no-starttls": Rule(
        _F,
        "An MX host covered by the policy does not offer STARTTLS, so senders applying it in "
        "enforce mode do not deliver there: enable TLS (Postfix: `smtpd_tls_security_level = "
        "may` with `smtpd_tls_chain_files`; Exim: `tls_advertise_hosts = *`).",
    ),
    "mta-sts.mx-invalid-cert": Rule(
        _F,
        "An MX host covered by the policy has no certificate valid for its name (untrusted, "
        "expired or misnamed), so senders applying it in enforce mode do not deliver there: "
        "install one from a public CA naming the MX host (Postfix: `smtpd_tls_chain_files`; "
        "Exim: `tls_certificate`).",
    ),
}

EXPLANATIONS: dict[str, Explanation] = {
    "mta-sts.txt-missing": Explanation(
        what="There is no TXT record at _mta-sts.example.com starting with v=STSv1: the "
        "domain does not use MTA-STS (RFC 8461).",
        why="Without MTA-STS (or DANE), senders use opportunistic TLS: an attacker on the "
        "path can remove STARTTLS from the EHLO reply or present any certificate, and the "
        "mail goes out in clear text or to the attacker. Gmail, Microsoft 365 and others "
        "apply MTA-STS policies when a domain publishes one.",
        fix=_PUBLISH,
        verify=f"{_SHOW_TXT}\n{_SHOW_POLICY}\n{_CHECK_STS}",
    ),
    "mta-sts.txt-lookup-failed": Explanation(
        what="The TXT query for _mta-sts.example.com got no usable answer: a timeout, a "
        "server failure (SERVFAIL, often DNSSEC) or no reachable name server.",
        why="A sender that cannot look up the record cannot discover the policy; one that "
        "has it cached keeps using the cached copy until max_age runs out. Repeated failures "
        "mean the policy quietly stops protecting new senders.",
        fix="Check the zone: the name servers must answer TXT queries for "
        "_mta-sts.example.com (NOERROR with an answer, or NXDOMAIN), over UDP and TCP, with "
        "valid DNSSEC signatures if the zone is signed.",
        verify=f"{_SHOW_TXT}\n$ dig +dnssec TXT _mta-sts.example.com\n{_CHECK_STS}",
    ),
    "mta-sts.txt-invalid": Explanation(
        what="The TXT record at _mta-sts.example.com does not follow RFC 8461 §3.1: "
        "`v=STSv1` first, then `id=` with 1 to 32 letters and digits, fields separated by "
        "`;`. Common mistakes: dashes or dots in the id, `v=stsv1` in lower case, spaces "
        "around `=`, a missing id.",
        why="Senders must ignore a malformed record, so the domain behaves as if it had no "
        "MTA-STS at all, whatever the policy file says.",
        fix="Replace the record with a well-formed one:\n  "
        + _TXT
        + "\nThe id is only compared for change; a timestamp without separators is easy "
        "to keep increasing.",
        verify=f"{_SHOW_TXT}\n{_CHECK_STS}",
    ),
    "mta-sts.txt-multiple": Explanation(
        what="Several TXT records at _mta-sts.example.com start with v=STSv1, typically an "
        "old record left behind when a new id was published.",
        why="RFC 8461 §3.1 requires exactly one; with more, senders treat the domain as "
        "having no MTA-STS policy.",
        fix="Delete all but one record, keeping the newest id:\n  " + _TXT,
        verify=f"{_SHOW_TXT}\nshould print one line.\n{_CHECK_STS}",
    ),
    "mta-sts.policy-unavailable": Explanation(
        what="The TXT record announces MTA-STS, but fetching the policy from "
        f"{_URL} failed. The finding's message names the failure: connect, tls, "
        "certificate (not valid for mta-sts.example.com), redirect, http-status, "
        "content-type, too-large (over 64 KiB), timeout or malformed.",
        why="Senders with no cached copy apply no policy, so the domain is unprotected "
        "against them; senders with a cached copy keep it until max_age runs out and then "
        "lose it too. RFC 8461 §3.3 forbids following redirects and requires a valid "
        "certificate, so a redirect to www or a default certificate is fatal.",
        fix="Serve the file directly at that URL: status 200, `Content-Type: text/plain`, "
        "no redirect (watch for http-to-https or apex-to-www rules), a certificate for "
        "mta-sts.example.com from a public CA with its intermediates, and a body under "
        "64 KiB. A static file on any web server or CDN will do, e.g. nginx:\n"
        "  location = /.well-known/mta-sts.txt { default_type text/plain; }",
        verify=f"{_SHOW_POLICY}\nshows the status and Content-Type.\n{_CHECK_STS}",
    ),
    "mta-sts.policy-invalid": Explanation(
        what="The policy file was fetched but does not follow RFC 8461 §3.2: a required key "
        "is missing (version, mode, max_age; mx unless mode is none), a value is wrong "
        "(version other than STSv1, a mode in capitals, max_age not a number), or a line is "
        "not `key: value`.",
        why="Senders discard a policy they cannot parse and behave as if the domain had no "
        "MTA-STS.",
        fix="Serve a file like this one, one key per line, keys and values in lower case "
        "(except STSv1):\n" + _POLICY_LINES + "\n" + _BUMP_ID,
        verify=f"{_SHOW_POLICY}\n{_CHECK_STS}",
    ),
    "mta-sts.policy-ambiguous": Explanation(
        what="The policy repeats a key other than mx (for example two mode: lines), often "
        "after an edit that added a line instead of changing one.",
        why="RFC 8461 does not say which value counts, and senders differ: some use the "
        "first, some the last. The same policy may be enforced by one sender and only "
        "tested by another.",
        fix="Keep one version:, one mode: and one max_age: line, then change the id= in the "
        "TXT record. " + _BUMP_ID,
        verify=f"{_SHOW_POLICY}\n{_CHECK_STS}",
    ),
    "mta-sts.key-unknown": Explanation(
        what="The policy has a key that RFC 8461 does not define: usually a misspelling "
        "such as `max-age` or `maxage` for max_age, `Mode` in capitals, or a space before "
        "the colon.",
        why="Senders ignore unknown keys. When the misspelt key is a required one, the "
        "policy also lacks it and is discarded (see mta-sts.policy-invalid).",
        fix="Spell the keys exactly `version`, `mode`, `mx` and `max_age`, in lower case, "
        "followed directly by a colon. " + _BUMP_ID,
        verify=f"{_SHOW_POLICY}\n{_CHECK_STS}",
    ),
    "mta-sts.mode-testing": Explanation(
        what="The policy says `mode: testing`.",
        why="Senders check the MX hosts against the policy and report failures to the "
        "address in your TLS-RPT record (RFC 8460), but deliver anyway: there is no "
        "protection against an attacker yet. Testing is the right first step.",
        fix="Read the TLS reports for a few weeks; when they show no failures, set "
        "`mode: enforce` and change the id= in the TXT record. " + _BUMP_ID,
        verify=f"$ dig +short TXT _smtp._tls.example.com\n{_SHOW_POLICY}\n{_CHECK_STS}",
    ),
    "mta-sts.mode-none": Explanation(
        what="The policy says `mode: none`.",
        why="Senders treat the domain as having no policy. This is how a domain withdraws "
        "MTA-STS (RFC 8461 §8.3): senders replace their cached enforce policy with this one.",
        fix="If you are withdrawing MTA-STS, keep serving this policy for at least the old "
        "max_age, then remove the TXT record and the file. Otherwise set `mode: testing` or "
        "`mode: enforce`. " + _BUMP_ID,
        verify=f"{_SHOW_POLICY}\n{_CHECK_STS}",
    ),
    "mta-sts.max-age": Explanation(
        what="The policy's max_age is under a day (86400 s), or over the maximum of "
        "31557600 s (a year) that RFC 8461 §3.2 allows.",
        why="max_age is how long senders keep the policy. A short one means senders often "
        "hold no valid copy, and an attacker who blocks the HTTPS refresh downgrades them "
        "(the RFC expects weeks or more). Over the maximum, strict senders such as "
        "postfix-mta-sts-resolver reject the whole policy.",
        fix="Use a week (`max_age: 604800`) while changes are likely, and up to "
        "`max_age: 31557600` once the MX setup is stable. " + _BUMP_ID,
        verify=f"{_SHOW_POLICY}\n{_CHECK_STS}",
    ),
    "mta-sts.mx-pattern": Explanation(
        what="An mx: line is not a host name pattern as RFC 8461 defines it: it ends with a "
        "dot, has a wildcard in the wrong place (only `*.` as the whole leftmost label "
        "works), has characters a host name cannot have, or is not in A-label form.",
        why="A sender that cannot match the pattern treats the MX hosts it was meant to "
        "cover as not allowed, and in enforce mode does not deliver to them.",
        fix="Write each MX host name as the MX record gives it, without the final dot:\n"
        "  mx: mail.example.com\nor one wildcard label for a group of hosts:\n"
        "  mx: *.mail.example.com\n" + _BUMP_ID,
        verify=f"$ dig +short MX example.com\n{_SHOW_POLICY}\n{_CHECK_STS}",
    ),
    "mta-sts.mx-ip-literal": Explanation(
        what="An mx: line holds an IP address instead of a host name.",
        why="MTA-STS matches patterns against the MX host names from DNS, never against "
        "addresses, so this line allows nothing; if it was meant to cover an MX host, "
        "senders in enforce mode will not deliver to that host.",
        fix="Replace the address with the MX host's name:\n  mx: mail.example.com\n" + _BUMP_ID,
        verify=f"$ dig +short MX example.com\n{_SHOW_POLICY}\n{_CHECK_STS}",
    ),
    "mta-sts.mx-not-covered": Explanation(
        what="An MX host of the domain matches none of the policy's mx: patterns. A "
        "wildcard covers one label only: `*.example.com` covers mail.example.com but not "
        "mx1.mail.example.com.",
        why="In enforce mode, senders that apply the policy refuse to deliver to an MX "
        "the policy does not list and try the others; if no MX is listed, the mail waits "
        "and finally bounces. In testing mode they deliver and report the failure.",
        fix="Add an mx: line for the host (or remove the MX record if it is stale), then "
        "change the TXT record's id=:\n  mx: mail.example.com\n" + _BUMP_ID,
        verify=f"$ dig +short MX example.com\n{_SHOW_POLICY}\n{_CHECK_STS}",
    ),
    "mta-sts.mx-no-starttls": Explanation(
        what="An MX host covered by the policy did not offer STARTTLS (the starttls.* "
        "findings for that host say more).",
        why="MTA-STS requires TLS to every listed MX: in enforce mode, senders applying the "
        "policy do not deliver to this host; in testing mode they deliver in clear text and "
        "report it.",
        fix="Enable STARTTLS with a valid certificate. Postfix: `smtpd_tls_security_level = "
        "may` and `smtpd_tls_chain_files`; Exim: `tls_advertise_hosts = *` with "
        "`tls_certificate` and `tls_privatekey`. Check that no firewall's SMTP inspection "
        "strips STARTTLS.",
        verify="$ openssl s_client -starttls smtp -connect mail.example.com:25 </dev/null\n"
        + _CHECK_STS,
    ),
    "mta-sts.mx-invalid-cert": Explanation(
        what="An MX host covered by the policy offers STARTTLS, but its certificate is not "
        "valid for the MX host name: untrusted or self-signed, incomplete chain, expired, "
        "or for another name (the cert.* findings for that host say which).",
        why="RFC 8461 §4.2 requires a certificate that chains to a trusted root, is in date "
        "and names the MX host. In enforce mode, senders applying the policy do not deliver "
        "to this host; in testing mode they deliver and report the failure.",
        fix=_CERT_FIX,
        verify="$ openssl s_client -starttls smtp -connect mail.example.com:25 \\\n"
        "    -verify_hostname mail.example.com -verify_return_error </dev/null\n" + _CHECK_STS,
    ),
}
