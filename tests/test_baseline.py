"""--baseline: reading an earlier run's JSON, and the drift findings against today's report.

Every baseline here is real output: a varied sample report through `envelope()` and a
JSON round trip, so the tests read what the tool writes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from starttls_check.dns.targets import ProbeTarget
from starttls_check.judge.baseline import (
    BaselineError,
    drift_findings,
    load_baseline,
    parse_baseline,
)
from starttls_check.judge.evaluate import subject_of
from starttls_check.model.dns import DnsStatus
from starttls_check.model.findings import Finding, Severity
from starttls_check.model.report import DomainReport
from starttls_check.model.session import CertProblem, ErrorKind, Phase, ProbeError, tls_name
from starttls_check.render.json_report import envelope, render_json

from .samples import NOW, sample_report

SOURCE = "previous.json"
MX1 = "mx1.example.test [127.0.0.2]:25"
INFO, WARN = Severity.INFO, Severity.WARN


# Building reports and baselines


def document_of(*reports: DomainReport) -> dict[str, Any]:
    """The JSON document a run over `reports` writes, decoded again."""
    decoded: dict[str, Any] = json.loads(json.dumps(envelope(list(reports), NOW)))
    return decoded


def drift_of(before: DomainReport, after: DomainReport | None = None) -> tuple[Finding, ...]:
    """The drift from a baseline written from `before` to `after` (default: the sample)."""
    baseline = parse_baseline(document_of(before), SOURCE)
    return drift_findings(baseline["example.test"], after or sample_report())


def drift(before: DomainReport, after: DomainReport | None = None) -> list[tuple[str, str, str]]:
    """(code, severity, subject) of each drift finding."""
    return [(f.code, f.severity, str(f.subject)) for f in drift_of(before, after)]


def with_host(report: DomainReport, index: int, **changes: Any) -> DomainReport:
    hosts = list(report.hosts)
    hosts[index] = replace(hosts[index], **changes)
    return replace(report, hosts=tuple(hosts))


def with_facts(report: DomainReport, index: int, **changes: Any) -> DomainReport:
    return with_host(report, index, facts=replace(report.hosts[index].facts, **changes))


def with_tls(report: DomainReport, index: int, **changes: Any) -> DomainReport:
    tls = report.hosts[index].facts.tls
    assert tls is not None
    return with_facts(report, index, tls=replace(tls, **changes))


def with_leaf(report: DomainReport, index: int, **changes: Any) -> DomainReport:
    tls = report.hosts[index].facts.tls
    assert tls is not None
    return with_tls(report, index, chain=(replace(tls.chain[0], **changes), *tls.chain[1:]))


def with_problems(report: DomainReport, index: int, *problems: CertProblem) -> DomainReport:
    trust = report.hosts[index].trust
    assert trust is not None
    return with_host(report, index, trust=replace(trust, problems=problems))


def with_mx(report: DomainReport, index: int, **changes: Any) -> DomainReport:
    assert report.dns is not None
    hosts = list(report.dns.hosts)
    hosts[index] = replace(hosts[index], **changes)
    return replace(report, dns=replace(report.dns, hosts=tuple(hosts)))


def with_dns(report: DomainReport, **changes: Any) -> DomainReport:
    assert report.dns is not None
    return replace(report, dns=replace(report.dns, **changes))


# Drift


def test_identical_runs_drift_nothing() -> None:
    assert drift(sample_report()) == []


def test_mx_added() -> None:
    before = sample_report()
    assert before.dns is not None
    before = with_dns(before, hosts=before.dns.hosts[:2])
    before = replace(before, hosts=before.hosts[:2])
    assert drift(before) == [("drift.mx-added", INFO, "mx3.example.test")]


def test_mx_removed() -> None:
    before = sample_report()
    assert before.dns is not None
    extra = replace(before.dns.hosts[0], name="mx4.example.test", addresses=("127.0.0.5",))
    before = with_dns(before, hosts=(*before.dns.hosts, extra))
    assert drift(before) == [("drift.mx-removed", INFO, "mx4.example.test")]


def test_address_added_and_removed() -> None:
    before = with_mx(sample_report(), 0, addresses=("127.0.0.9",))
    before = with_host(before, 0, address="127.0.0.9")
    assert drift(before) == [
        ("drift.address-added", INFO, MX1),
        ("drift.address-removed", INFO, "mx1.example.test [127.0.0.9]:25"),
    ]


@pytest.mark.parametrize(
    "vary",
    [
        pytest.param(lambda r: with_dns(r, mx_status=DnsStatus.TIMEOUT, hosts=()), id="mx-timeout"),
        pytest.param(lambda r: with_dns(r, mx_status=DnsStatus.SERVFAIL, hosts=()), id="servfail"),
        pytest.param(lambda r: replace(r, dns=None), id="no-dns"),
        pytest.param(
            lambda r: with_mx(r, 0, addresses=(), ipv4_status=DnsStatus.TIMEOUT), id="a-timeout"
        ),
        pytest.param(
            lambda r: with_mx(r, 0, addresses=("127.0.0.9",), truncated=True), id="truncated"
        ),
    ],
)
@pytest.mark.parametrize("side", ["before", "after"])
def test_unanswered_dns_is_not_drift(
    vary: Callable[[DomainReport], DomainReport], side: str
) -> None:
    """A lookup that failed says nothing about the record set: no MX or address drift."""
    changed = vary(sample_report())
    if side == "before":
        assert drift(changed) == []
    else:
        assert drift(sample_report(), changed) == []


@pytest.mark.parametrize(
    ("before_facts", "now_facts", "message"),
    [
        pytest.param({}, {"starttls_offered": False, "tls": None}, "not offered", id="not-offered"),
        pytest.param(
            {"starttls_offered": True},
            {
                "starttls_offered": True,
                "tls": None,
                "error": ProbeError(phase=Phase.HANDSHAKE, kind=ErrorKind.TLS, detail="alert"),
            },
            "no TLS session",
            id="handshake-fails-now",
        ),
        pytest.param(
            {"starttls_offered": True, "tls": None},
            {"starttls_offered": False, "tls": None},
            "STARTTLS before, not offered now",
            id="offered-before-without-tls",
        ),
    ],
)
def test_starttls_lost(
    before_facts: dict[str, Any], now_facts: dict[str, Any], message: str
) -> None:
    before = with_facts(sample_report(), 0, **before_facts)
    found = drift_of(before, with_facts(sample_report(), 0, **now_facts))
    assert [(f.code, f.severity, str(f.subject)) for f in found] == [
        ("drift.starttls-lost", WARN, MX1)
    ]
    assert message in found[0].message
    target = ProbeTarget(mx="mx1.example.test", preference=10, address="127.0.0.2", port=25)
    assert found[0].subject == subject_of(target)  # the same subject as the host's findings


def test_unreachable_today_is_not_starttls_lost() -> None:
    """Connect failed: the session never reached EHLO, so we do not know about STARTTLS."""
    error = ProbeError(phase=Phase.CONNECT, kind=ErrorKind.TIMEOUT, detail="timed out")
    assert drift(sample_report(), with_facts(sample_report(), 0, tls=None, error=error)) == []


def test_no_tls_before_and_none_now_is_not_drift() -> None:
    before = with_facts(sample_report(), 0, starttls_offered=False, tls=None)
    assert drift(before, with_facts(sample_report(), 0, starttls_offered=False, tls=None)) == []


ORDER = ("SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")


@pytest.mark.parametrize(("old", "new"), list(zip(ORDER[1:], ORDER, strict=False)))
def test_tls_downgraded(old: str, new: str) -> None:
    before = with_tls(sample_report(), 0, version=old)
    found = drift_of(before, with_tls(sample_report(), 0, version=new))
    assert [(f.code, f.severity, str(f.subject)) for f in found] == [
        ("drift.tls-downgraded", WARN, MX1)
    ]
    assert found[0].message == f"{tls_name(old)} → {tls_name(new)}"


@pytest.mark.parametrize(
    "before",
    [
        pytest.param(with_tls(sample_report(), 0, version="TLSv1.2"), id="upgrade"),
        pytest.param(with_tls(sample_report(), 0, version="TLSv1.4"), id="unknown-before"),
        pytest.param(with_facts(sample_report(), 0, starttls_offered=True, tls=None), id="no-tls"),
    ],
)
def test_tls_upgrade_is_not_drift(before: DomainReport) -> None:
    assert drift(before) == []  # mx1 negotiates TLSv1.3 now


def test_unknown_version_now_is_not_a_downgrade() -> None:
    assert drift(sample_report(), with_tls(sample_report(), 0, version="TLSv1.4")) == []


def test_cert_changed() -> None:
    found = drift_of(with_leaf(sample_report(), 0, sha256_fingerprint="ef" * 32))
    assert [(f.code, f.severity, str(f.subject)) for f in found] == [
        ("drift.cert-changed", INFO, MX1)
    ]
    assert found[0].evidence == f"sha256 {'ef' * 32} -> {'ab' * 32}"


OLD_FP = {"sha256_fingerprint": "ef" * 32}


def rsa(bits: int) -> dict[str, Any]:
    return {"key_type": "RSA", "key_bits": bits}


def ec(curve: str, bits: int) -> dict[str, Any]:
    return {"key_type": f"EC {curve}", "key_bits": bits}


# Today's sample leaf: EC secp256r1 256 bits, 2026-09-01 to 2027-02-25 (177 days).
YEAR = {"not_after": NOW.replace(year=2027, month=9, day=1)}
BACKDATED = {"not_before": NOW.replace(year=2026, month=8, day=31, hour=23)}


@pytest.mark.parametrize(
    ("old_leaf", "new_leaf", "reason"),
    [
        pytest.param(YEAR, {}, "valid for 177 days, was 365", id="shorter"),
        pytest.param(BACKDATED, {}, None, id="backdated-1h-is-slack"),
        pytest.param(rsa(4096), rsa(3072), "key RSA 3072 bits, was RSA 4096", id="rsa-smaller"),
        pytest.param(rsa(2048), rsa(4096), None, id="rsa-larger"),
        pytest.param(rsa(2048), {}, None, id="rsa2048-to-ec256"),
        pytest.param(rsa(3072), {}, None, id="rsa3072-to-ec256"),
        pytest.param(rsa(2048), ec("secp224r1", 224), None, id="rsa2048-to-ec224"),
        pytest.param(
            rsa(4096), ec("secp224r1", 224), "key EC secp224r1 224", id="rsa4096-to-ec224"
        ),
        pytest.param(ec("secp384r1", 384), {}, "was EC secp384r1 384", id="ec384-to-ec256"),
        pytest.param(ec("secp384r1", 384), rsa(3072), "key RSA 3072", id="ec384-to-rsa3072"),
        pytest.param({}, rsa(2048), "key RSA 2048 bits", id="ec256-to-rsa2048"),
        pytest.param({}, rsa(3072), None, id="ec256-to-rsa3072"),
        pytest.param({}, {"key_type": "Ed25519", "key_bits": 256}, None, id="ec256-to-ed25519"),
        pytest.param({}, {"key_type": "unknown", "key_bits": 0}, "key unknown 0", id="unknown"),
    ],
)
def test_cert_worse_by_validity_or_key(
    old_leaf: dict[str, Any], new_leaf: dict[str, Any], reason: str | None
) -> None:
    before = with_leaf(sample_report(), 0, **OLD_FP, **old_leaf)
    found = drift_of(before, with_leaf(sample_report(), 0, **new_leaf))
    assert len(found) == 1
    if reason is None:
        assert (found[0].code, found[0].severity) == ("drift.cert-changed", INFO)
    else:
        assert (found[0].code, found[0].severity, str(found[0].subject)) == (
            "drift.cert-worse",
            WARN,
            MX1,
        )
        assert reason in found[0].message


@pytest.mark.parametrize(
    ("old", "new", "code", "reason"),
    [
        ((), (CertProblem.SELF_SIGNED,), "drift.cert-worse", "now self-signed"),
        (
            (CertProblem.EXPIRED,),
            (CertProblem.EXPIRED, CertProblem.NAME_MISMATCH),
            "drift.cert-worse",
            "now name-mismatch",
        ),
        ((CertProblem.EXPIRED, CertProblem.NAME_MISMATCH), (), "drift.cert-changed", ""),
        ((CertProblem.UNTRUSTED,), (CertProblem.UNTRUSTED,), "drift.cert-changed", ""),
    ],
)
def test_cert_worse_by_trust(
    old: tuple[CertProblem, ...], new: tuple[CertProblem, ...], code: str, reason: str
) -> None:
    before = with_problems(with_leaf(sample_report(), 0, **OLD_FP), 0, *old)
    found = drift_of(before, with_problems(sample_report(), 0, *new))
    assert [f.code for f in found] == [code]
    assert reason in found[0].message


def test_same_certificate_newly_invalid_is_not_drift() -> None:
    """Not a rotation: cert.expired and friends already report it today."""
    assert drift(sample_report(), with_problems(sample_report(), 0, CertProblem.EXPIRED)) == []


def test_baseline_is_indexed_by_ascii_domain() -> None:
    other = replace(sample_report(), domain="bücher.test", ascii_domain="xn--bcher-kva.test")
    baseline = parse_baseline(document_of(other), SOURCE)
    assert list(baseline) == ["xn--bcher-kva.test"]
    assert "example.test" not in baseline  # a domain new since the baseline: no drift


def test_load_baseline_reads_real_output(tmp_path: Path) -> None:
    path = tmp_path / "previous.json"
    path.write_text(render_json([sample_report()], NOW))
    baseline = load_baseline(path)
    assert drift_findings(baseline["example.test"], sample_report()) == ()


# Baselines that cannot be used


def reject(document: Any) -> str:
    with pytest.raises(BaselineError) as caught:
        parse_baseline(document, SOURCE)
    message = str(caught.value)
    assert message.startswith(f"{SOURCE}: ")
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        (3, "written by a newer starttls-check (schema version 3); this version reads 1 and 2"),
        (0, "unsupported (schema version 0); this version reads 1 and 2"),
        (-1, "unsupported (schema version -1); this version reads 1 and 2"),
        ("1", 'schema_version is a string "1", not an integer'),
        (1.0, "schema_version is a number 1.0, not an integer"),
        (True, "schema_version is a boolean true, not an integer"),
        (None, "schema_version is null, not an integer"),
        ([1], "schema_version is a list, not an integer"),
    ],
)
def test_schema_version(version: Any, expected: str) -> None:
    document = document_of(sample_report())
    document["schema_version"] = version
    assert reject(document) == f"{SOURCE}: {expected}"


def test_schema_version_missing() -> None:
    document = document_of(sample_report())
    del document["schema_version"]
    assert reject(document) == f"{SOURCE}: schema_version is missing"


@pytest.mark.parametrize(
    "document",
    [
        {"schema": "other-tool/report", "schema_version": 1, "reports": []},
        {"schema_version": 1, "reports": []},
        [{"schema": "starttls-check/report"}],
        "starttls-check/report",
        None,
    ],
)
def test_not_a_report(document: Any) -> None:
    assert "not a starttls-check report" in reject(document)


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """Set the value at a dotted path (numbers index lists) in the decoded document."""

    def mutate(document: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = document
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[int(last) if last.isdigit() else last] = value

    return mutate


def _delete(path: str) -> Callable[[dict[str, Any]], None]:
    def mutate(document: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = document
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        del node[last]

    return mutate


def _duplicate(document: dict[str, Any]) -> None:
    document["reports"].append(document["reports"][0])


R0 = "reports.0"
DNS0 = "reports.0.dns.hosts.0"
H0 = "reports.0.hosts.0"
LEAF = "reports.0.hosts.0.facts.tls.chain.0"
TIME_ZONE = "is not a date-time with a time zone"


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (_set("reports", "x"), "reports: expected a list, got a string"),
        (_delete("reports"), "(top level): reports is missing"),
        (_set(R0, 3), "reports[0]: expected an object, got an integer 3"),
        (_delete(f"{R0}.ascii_domain"), "reports[0]: ascii_domain is missing"),
        (_set(f"{R0}.hosts", "mx1"), 'reports[0].hosts: expected a list, got a string "mx1"'),
        (_set(f"{R0}.dns", []), "reports[0].dns: expected an object or null, got a list"),
        (_set(f"{R0}.dns.hosts", "mx1"), "reports[0].dns.hosts: expected a list"),
        (_set(f"{R0}.dns.mx_status", 0), "reports[0].dns.mx_status: expected a string"),
        (_set(f"{DNS0}.name", None), "dns.hosts[0].name: expected a string, got null"),
        (_set(f"{DNS0}.addresses", [1]), "addresses[0]: expected a string, got an integer 1"),
        (_set(f"{DNS0}.truncated", "no"), "dns.hosts[0].truncated: expected a boolean"),
        (_set(f"{H0}.port", "25"), "reports[0].hosts[0].port: expected an integer"),
        (_set(f"{H0}.facts", None), "hosts[0].facts: expected an object, got null"),
        (_set(f"{H0}.facts.starttls_offered", "yes"), "expected a boolean or null"),
        (_set(f"{H0}.facts.tls", "TLSv1.3"), "facts.tls: expected an object or null"),
        (_set(f"{H0}.facts.tls.version", 1.3), "version: expected a string, got a number 1.3"),
        (_set(f"{H0}.facts.tls.chain", {}), "tls.chain: expected a list, got an object"),
        (_set(f"{H0}.trust.problems", "expired"), "hosts[0].trust.problems: expected a list"),
        (_set(f"{LEAF}.key_bits", "256"), 'key_bits: expected an integer, got a string "256"'),
        (_set(f"{LEAF}.key_bits", True), "key_bits: expected an integer, got a boolean true"),
        (_delete(f"{LEAF}.sha256_fingerprint"), "chain[0]: sha256_fingerprint is missing"),
        (_set(f"{LEAF}.not_before", "yesterday"), f'not_before: a string "yesterday" {TIME_ZONE}'),
        (_set(f"{LEAF}.not_after", "2027-02-25"), f'not_after: a string "2027-02-25" {TIME_ZONE}'),
        (_duplicate, "reports[1]: domain 'example.test' appears twice"),
    ],
)
def test_malformed_fields_are_one_line_errors(
    mutate: Callable[[dict[str, Any]], None], expected: str
) -> None:
    document = document_of(sample_report())
    mutate(document)
    assert expected in reject(document)


def test_drift_rejects_an_unchecked_baseline_cleanly() -> None:
    """drift_findings reads with the same checks, should a caller skip parse_baseline."""
    report: Mapping[str, Any] = {**document_of(sample_report())["reports"][0], "hosts": "x"}
    with pytest.raises(BaselineError, match="hosts: expected a list"):
        drift_findings(report, sample_report())


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"{", "not a JSON report (Expecting property name"),
        (b"", "not a JSON report (Expecting value"),
        (b"\xff\xfe{}", "not a JSON report ('utf-8' codec can't decode"),
        (b"[" * 100_000, "not a JSON report (maximum recursion depth"),
        (b'{"schema": "starttls-check/report"}', "schema_version is missing"),
    ],
)
def test_load_baseline_unusable_file(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "previous.json"
    path.write_bytes(content)
    with pytest.raises(BaselineError) as caught:
        load_baseline(path)
    assert str(caught.value).startswith(f"{path}: {expected}")


@pytest.mark.parametrize("name", ["missing.json", "."])
def test_load_baseline_unreadable(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    with pytest.raises(BaselineError, match="cannot read baseline") as caught:
        load_baseline(path)
    assert str(caught.value).startswith(str(path))


def test_a_version_1_baseline_is_still_read() -> None:
    """Version 2 changed findings, sender outcomes and policy facts, not what drift reads."""
    document = document_of(sample_report())
    document["schema_version"] = 1
    assert set(parse_baseline(document, SOURCE)) == {r["ascii_domain"] for r in document["reports"]}
