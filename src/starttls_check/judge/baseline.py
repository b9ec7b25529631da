"""Drift against a baseline (`--baseline previous.json`): what changed since an earlier run.

The baseline is an earlier run's JSON report. Both sides are read by the same code: today's
report goes through the generic serialiser first, so the comparison sees exactly what a
baseline written today would hold. The reader is also the validator: every field drift
uses is type-checked on the way in, so a malformed baseline is one `BaselineError` line
naming the file and the field, never a `KeyError` or a misreading.

Facts that say nothing (a DNS timeout, a truncated address list, a session that ended
before EHLO) are not compared, so an outage is never reported as an MX or STARTTLS change.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ..checks.context import DomainContext
from ..model.catalogue import finding
from ..model.findings import Finding, Subject
from ..model.report import DomainReport
from ..model.serialize import SCHEMA_NAME, SCHEMA_VERSION, to_jsonable
from ..model.session import TLS_VERSIONS, tls_name

MAX_BASELINE_BYTES = 64 << 20  # far above any real report; a stream never ends
_UNSETTLED = {"timeout", "servfail", "unreachable", "malformed"}  # no answer, no record set
_VALIDITY_SLACK = timedelta(days=1)  # CAs backdate not_before by minutes to hours
# Security level in bits of RSA/DSA moduli: NIST SP 800-57 Part 1 rev. 5, table 2.
# Elliptic-curve keys (EC, Ed25519, Ed448) offer half their size: EC 224 = RSA 2048 = 112.
_FINITE_FIELD_LEVELS = ((15360, 256), (7680, 192), (3072, 128), (2048, 112), (1024, 80))


class BaselineError(ValueError):
    """The baseline cannot be used; the message names the file and the problem."""


@dataclass(frozen=True, slots=True)
class _Leaf:
    fingerprint: str
    validity: timedelta  # not_after - not_before
    key_type: str
    key_bits: int


@dataclass(frozen=True, slots=True)
class _Endpoint:
    starttls_offered: bool | None  # None: the session ended before EHLO told us
    version: str | None  # None: no TLS session
    leaf: _Leaf | None
    problems: frozenset[str]


@dataclass(frozen=True, slots=True)
class _Snapshot:
    mx: dict[str, tuple[str, ...] | None] | None  # MX name -> addresses; None: not settled
    endpoints: dict[tuple[str, str, int], _Endpoint]  # (mx, address, port)
    port: int | None


def load_baseline(path: Path) -> Mapping[str, Mapping[str, Any]]:
    """Read an earlier JSON report: A-label domain -> that domain's report object."""
    try:
        with path.open("rb") as file:
            data = file.read(MAX_BASELINE_BYTES + 1)
        if len(data) > MAX_BASELINE_BYTES:
            raise BaselineError(f"{path}: larger than {MAX_BASELINE_BYTES >> 20} MiB")
        document = json.loads(data.decode("utf-8"))
    except OSError as exc:
        raise BaselineError(f"{path}: cannot read baseline: {exc.strerror or exc}") from None
    except (ValueError, RecursionError) as exc:  # not UTF-8, not JSON, nested too deeply
        raise BaselineError(f"{path}: not a JSON report ({exc})") from None
    return parse_baseline(document, str(path))


# Drift reads the hosts' addresses, TLS and certificates, which version 2 left as version 1
# had them: a baseline kept from before an upgrade still works.
_READABLE_VERSIONS = (1, SCHEMA_VERSION)


def parse_baseline(document: Any, source: str) -> Mapping[str, Mapping[str, Any]]:
    """Check a decoded report document and index its domain reports by A-label."""
    if not isinstance(document, dict) or document.get("schema") != SCHEMA_NAME:
        raise BaselineError(f"{source}: not a starttls-check report (no schema {SCHEMA_NAME!r})")
    if "schema_version" not in document:
        raise BaselineError(f"{source}: schema_version is missing")
    if not _is(version := document["schema_version"], (int,)):
        raise BaselineError(f"{source}: schema_version is {_show(version)}, not an integer")
    if version not in _READABLE_VERSIONS:
        what = "written by a newer starttls-check" if version > SCHEMA_VERSION else "unsupported"
        readable = " and ".join(str(v) for v in _READABLE_VERSIONS)
        raise BaselineError(
            f"{source}: {what} (schema version {version}); this version reads {readable}"
        )
    reports: dict[str, Mapping[str, Any]] = {}
    try:
        for where, report in _items(document, "reports", "", dict):
            name = _field(report, "ascii_domain", where, str)
            if name in reports:
                raise _Malformed(f"{where}: domain {name!r} appears twice")
            _snapshot(report, where)  # validate now: a bad baseline fails before any probe
            reports[name] = report
    except _Malformed as exc:
        raise BaselineError(f"{source}: {exc}") from None
    return reports


def check_drift(domain: DomainContext) -> tuple[Finding, ...]:
    """Domain check: what changed since the baseline's report for this domain."""
    if domain.baseline is None:
        return ()
    return _drift(domain.baseline, {"dns": domain.dns, "hosts": domain.hosts})


def drift_findings(previous: Mapping[str, Any], current: DomainReport) -> tuple[Finding, ...]:
    """What changed between the baseline's report for a domain and today's."""
    return _drift(previous, {"dns": current.dns, "hosts": current.hosts})


def _drift(previous: Mapping[str, Any], current: Mapping[str, object]) -> tuple[Finding, ...]:
    before = _snapshot(previous, "baseline")
    after = _snapshot({key: to_jsonable(value) for key, value in current.items()}, "report")
    return (*_mx_drift(before, after), *_endpoint_drift(before, after))


def _mx_drift(before: _Snapshot, after: _Snapshot) -> list[Finding]:
    if before.mx is None or after.mx is None:
        return []
    out = [finding("drift.mx-added", n, f"new MX {n}") for n in after.mx if n not in before.mx]
    out += [finding("drift.mx-removed", n, f"MX {n} gone") for n in before.mx if n not in after.mx]
    for name, new in after.mx.items():
        old = before.mx.get(name)
        if old is None or new is None:
            continue
        for address in (a for a in new if a not in old):
            subject = _subject(name, address, after.port)
            out.append(finding("drift.address-added", subject, f"{name} now has {address}"))
        for address in (a for a in old if a not in new):
            subject = _subject(name, address, before.port)
            out.append(finding("drift.address-removed", subject, f"{name} no longer has {address}"))
    return out


def _endpoint_drift(before: _Snapshot, after: _Snapshot) -> list[Finding]:
    out: list[Finding] = []
    for key, new in after.endpoints.items():
        old, subject = before.endpoints.get(key), _subject(*key)
        if old is None or (old.version is None and not old.starttls_offered):
            continue
        if new.starttls_offered is False or (new.starttls_offered and new.version is None):
            was = f"STARTTLS with {tls_name(old.version)}" if old.version else "STARTTLS"
            now = "not offered" if new.starttls_offered is False else "no TLS session"
            out.append(finding("drift.starttls-lost", subject, f"{was} before, {now} now"))
            continue
        if _downgraded(old.version, new.version):
            message = f"{tls_name(old.version or '')} → {tls_name(new.version or '')}"
            out.append(finding("drift.tls-downgraded", subject, message))
        if old.leaf and new.leaf and old.leaf.fingerprint != new.leaf.fingerprint:
            out.append(_cert_drift(subject, old, new))
        # DANE hook (no code yet: DANE checks do not exist): when the certificate rotated
        # and the domain's TLSA records still match only the old key (3 1 1 on old.spki),
        # raise a fail-level drift finding here: senders that use DANE will refuse delivery.
    return out


def _cert_drift(subject: Subject, old: _Endpoint, new: _Endpoint) -> Finding:
    a, b = old.leaf, new.leaf
    assert a is not None
    assert b is not None
    evidence = f"sha256 {a.fingerprint} -> {b.fingerprint}"
    reasons = []
    if b.validity < a.validity - _VALIDITY_SLACK:
        reasons.append(f"valid for {b.validity.days} days, was {a.validity.days}")
    if _weaker(b, a):
        reasons.append(f"key {b.key_type} {b.key_bits} bits, was {a.key_type} {a.key_bits}")
    if grown := sorted(new.problems - old.problems):
        reasons.append(f"now {', '.join(grown)}")
    if reasons:
        message = f"new certificate is worse: {'; '.join(reasons)}"
        return finding("drift.cert-worse", subject, message, evidence=evidence)
    return finding("drift.cert-changed", subject, "certificate changed", evidence=evidence)


def _weaker(new: _Leaf, old: _Leaf) -> bool:
    """A smaller key of the same type, or a lower security level across types."""
    if new.key_type == old.key_type:
        return new.key_bits < old.key_bits
    return _level(new) < _level(old)


def _level(leaf: _Leaf) -> int:
    """Approximate security level in bits, to compare keys of different types."""
    if leaf.key_type in ("RSA", "DSA"):
        return next((lvl for size, lvl in _FINITE_FIELD_LEVELS if leaf.key_bits >= size), 0)
    return leaf.key_bits // 2 if leaf.key_type.startswith(("EC", "Ed")) else 0


def _downgraded(old: str | None, new: str | None) -> bool:
    """Both versions known (in TLS_VERSIONS) and the new one lower."""
    if old in TLS_VERSIONS and new in TLS_VERSIONS:
        return TLS_VERSIONS.index(new) < TLS_VERSIONS.index(old)
    return False


def _subject(mx: str, address: str, port: int | None) -> Subject:
    """As evaluate.subject_of names an address."""
    return Subject(host=mx, address=address, port=port)


# Reading: each function takes the JSON path it is at, for the error message.


class _Malformed(BaselineError):
    """A field drift reads is missing or of the wrong type (message: path, problem)."""


def _snapshot(report: Mapping[str, Any], where: str) -> _Snapshot:
    dns = _field(report, "dns", where, dict, type(None))
    endpoints = {}
    for at, host in _items(report, "hosts", where, dict):
        key = (_field(host, "mx", at, str), _field(host, "address", at, str))
        endpoints[(*key, _field(host, "port", at, int))] = _endpoint(host, at)
    port = next(iter(endpoints))[2] if endpoints else None
    mx = None if dns is None else _mx(dns, f"{where}.dns")
    return _Snapshot(mx=mx, endpoints=endpoints, port=port)


def _mx(dns: Mapping[str, Any], where: str) -> dict[str, tuple[str, ...] | None] | None:
    settled = _field(dns, "mx_status", where, str) not in _UNSETTLED
    result: dict[str, tuple[str, ...] | None] = {}
    for at, host in _items(dns, "hosts", where, dict):
        addresses = tuple(a for _, a in _items(host, "addresses", at, str))
        lookups = {_field(host, f"ipv{v}_status", at, str) for v in (4, 6)}
        whole = not _field(host, "truncated", at, bool) and not lookups & _UNSETTLED
        result[_field(host, "name", at, str)] = addresses if whole else None
    return result if settled else None


def _endpoint(host: Mapping[str, Any], where: str) -> _Endpoint:
    facts = _field(host, "facts", where, dict)
    offered = _field(facts, "starttls_offered", f"{where}.facts", bool, type(None))
    tls = _field(facts, "tls", f"{where}.facts", dict, type(None))
    trust = _field(host, "trust", where, dict, type(None))
    problems = () if trust is None else _items(trust, "problems", f"{where}.trust", str)
    if tls is None:
        return _Endpoint(offered, None, None, frozenset(p for _, p in problems))
    chain = _items(tls, "chain", f"{where}.facts.tls", dict)
    leaf = _leaf(*chain[0]) if chain else None
    version = _field(tls, "version", f"{where}.facts.tls", str)
    return _Endpoint(offered, version, leaf, frozenset(p for _, p in problems))


def _leaf(where: str, cert: Mapping[str, Any]) -> _Leaf:
    start, end = (_time(cert, key, where) for key in ("not_before", "not_after"))
    fingerprint = _field(cert, "sha256_fingerprint", where, str)
    key_type, key_bits = _field(cert, "key_type", where, str), _field(cert, "key_bits", where, int)
    return _Leaf(fingerprint, end - start, key_type, key_bits)


def _time(cert: Mapping[str, Any], key: str, where: str) -> datetime:
    text = _field(cert, key, where, str)
    with contextlib.suppress(ValueError):
        if (value := datetime.fromisoformat(text)).tzinfo is not None:
            return value
    raise _Malformed(f"{where}.{key}: {_show(text)} is not a date-time with a time zone")


def _field(obj: Mapping[str, Any], key: str, where: str, *types: type) -> Any:
    if key not in obj:
        raise _Malformed(f"{where or '(top level)'}: {key} is missing")
    value = obj[key]
    if not _is(value, types):
        names = " or ".join(_NAMES.get(t, t.__name__) for t in types)
        raise _Malformed(f"{where}.{key}".lstrip(".") + f": expected {names}, got {_show(value)}")
    return value


def _items(obj: Mapping[str, Any], key: str, where: str, kind: type) -> list[tuple[str, Any]]:
    """The list at `key`, each item checked to be `kind`, with its own path."""
    path = f"{where}.{key}".lstrip(".")
    items = [(f"{path}[{i}]", item) for i, item in enumerate(_field(obj, key, where, list))]
    for at, item in items:
        if not _is(item, (kind,)):
            raise _Malformed(f"{at}: expected {_NAMES.get(kind, kind.__name__)}, got {_show(item)}")
    return items


_NAMES: dict[type, str] = {dict: "an object", list: "a list", str: "a string", int: "an integer"}
_NAMES |= {bool: "a boolean", float: "a number", type(None): "null"}


def _is(value: Any, types: tuple[type, ...]) -> bool:
    """isinstance, except that JSON true/false are not integers."""
    return isinstance(value, types) and (bool in types or not isinstance(value, bool))


def _show(value: Any) -> str:
    """A value for an error message: its JSON type, and the value itself if short."""
    if value is None:
        return "null"
    shown = json.dumps(value)[:40] if isinstance(value, str | int | float) else ""
    return f"{_NAMES.get(type(value), type(value).__name__)} {shown}".rstrip()
