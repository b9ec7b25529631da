"""The CI gate's policy: each option moves the exit code the expected way, and only that way.

Pure rules are tested directly; the options end to end through the CLI against the demo
(good.test passes; mixed.test and plain.test lack STARTTLS on one MX; expired.test and
wrongname.test have certificate problems; every certificate has 89 days left).
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import pytest

from starttls_check.checks.certificate import expiry_findings
from starttls_check.checks.tls_version import tls_minimum_findings
from starttls_check.judge.gate import ExitCode, gate, gated_verdict
from starttls_check.judge.policy import apply_policy
from starttls_check.model.catalogue import finding
from starttls_check.model.findings import Policy, Severity, Subject, Verdict, Waiver
from starttls_check.model.session import CertProblem, TrustVerdict

from .samples import cert_info, sample_report

SUBJECT = Subject(host="mx.example.test", address="192.0.2.1", port=25)


@pytest.mark.parametrize(
    ("version", "minimum", "expected"),
    [
        ("TLSv1.3", "1.3", []),
        ("TLSv1.2", "1.3", ["tls.below-minimum"]),
        ("TLSv1.2", "1.2", []),
        ("TLSv1.1", "1.2", ["tls.below-minimum"]),
        ("TLSv1", "1.2", ["tls.below-minimum"]),
        ("TLSv1.2", None, []),
        (None, "1.3", []),
    ],
)
def test_tls_minimum(version: str | None, minimum: str | None, expected: list[str]) -> None:
    found = tls_minimum_findings(SUBJECT, version, Policy(min_tls=minimum))
    assert [f.code for f in found] == expected
    assert all(f.severity is Severity.FAIL for f in found)


def _trust(*problems: CertProblem) -> TrustVerdict:
    return TrustVerdict(problems=problems, trusted_path=(), checked_name="mx", detail="")


@pytest.mark.parametrize(
    ("days_left", "threshold", "problems", "expected"),
    [
        (10, 14, (), ["cert.expiring-soon"]),
        (14, 14, (), []),
        (13, 14, (), ["cert.expiring-soon"]),
        (89, 100, (), ["cert.expiring-soon"]),
        (89, 14, (), []),
        (-3, 14, (CertProblem.EXPIRED,), []),  # expired is its own finding
        (5, 0, (), []),
    ],
)
def test_expiring_soon(
    days_left: int, threshold: int, problems: tuple[CertProblem, ...], expected: list[str]
) -> None:
    chain = (cert_info("mx.example.test", days_left),)
    found = expiry_findings(SUBJECT, chain, _trust(*problems), Policy(cert_expiry_days=threshold))
    assert [f.code for f in found] == expected
    if found:
        assert f"in {days_left} days" in found[0].message
        assert found[0].severity is Severity.WARN


def test_require_valid_cert_escalates_certificate_problems_only() -> None:
    findings = [
        finding("cert.expired", SUBJECT, "expired"),
        finding("cert.expiring-soon", SUBJECT, "soon"),
        finding("tls.version-deprecated", SUBJECT, "old"),
    ]
    judged = apply_policy(findings, Policy(require_valid_cert=True))
    assert [f.severity for f in judged] == [Severity.FAIL, Severity.WARN, Severity.WARN]
    assert [f.severity for f in apply_policy(findings, Policy())] == [Severity.WARN] * 3


@pytest.mark.parametrize(
    ("waiver", "waived"),
    [
        (Waiver(code="cert.expired"), True),
        (Waiver(code="cert.expired", host="mx.example.test"), True),
        (Waiver(code="cert.expired", host="mx2.example.test"), False),
        (Waiver(code="cert.name-mismatch"), False),
    ],
)
def test_waivers_match_code_and_optional_host(waiver: Waiver, waived: bool) -> None:
    (judged,) = apply_policy([finding("cert.expired", SUBJECT, "x")], Policy(allow=(waiver,)))
    assert judged.waived is waived


def test_gate_fail_on_warn_turns_a_warning_into_exit_1() -> None:
    warn = dataclasses.replace(sample_report(), verdict=Verdict.WARN)
    assert gate([warn]) is ExitCode.OK
    strict = dataclasses.replace(warn, policy=Policy(fail_on=Severity.WARN))
    assert gated_verdict(strict) is Verdict.FAIL
    assert gate([strict]) is ExitCode.FAIL
    inconclusive = dataclasses.replace(strict, verdict=Verdict.INCONCLUSIVE)
    assert gate([inconclusive]) is ExitCode.INCONCLUSIVE  # strictness does not invent failures


# --- the options end to end, against the demo ------------------------------------------


def demo(*args: str) -> tuple[int, dict[str, dict[str, object]]]:
    result = subprocess.run(
        [sys.executable, "-m", "starttls_check", "--demo", "--format", "json", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.stderr == "", result.stderr
    document = json.loads(result.stdout)
    assert document["exit_code"] == result.returncode
    return result.returncode, {r["domain"]: r for r in document["reports"]}


# Waiving the missing STARTTLS leaves only warnings: the baseline for the options below.
WARN_ONLY = ("--allow", "starttls.not-offered")


def verdicts(reports: dict[str, dict[str, object]]) -> dict[str, object]:
    return {domain: report["verdict"] for domain, report in reports.items()}


def test_default_judgement_of_the_demo() -> None:
    code, reports = demo()
    assert code == 1
    assert verdicts(reports) == {
        "secure.test": "pass",
        "good.test": "pass",
        "mixed.test": "fail",
        "plain.test": "fail",
        "expired.test": "warn",
        "wrongname.test": "warn",
        "nsec3.test": "pass",
    }


def test_waiver_keeps_the_finding_but_not_its_weight() -> None:
    code, reports = demo(*WARN_ONLY)
    assert code == 0
    assert verdicts(reports)["plain.test"] == "pass"
    (finding_,) = reports["plain.test"]["hosts"][0]["findings"]  # type: ignore[index]
    assert finding_["code"] == "starttls.not-offered"
    assert finding_["waived"] is True
    assert reports["plain.test"]["policy"]["allow"] == [  # type: ignore[index]
        {"code": "starttls.not-offered", "host": None}
    ]


def test_waiver_for_one_host_only() -> None:
    code, reports = demo("--allow", "starttls.not-offered@mx2.mixed.test")
    assert code == 1  # plain.test's MX is not covered
    assert verdicts(reports)["mixed.test"] == "pass"
    assert verdicts(reports)["plain.test"] == "fail"


def test_fail_on_warn() -> None:
    code, reports = demo(*WARN_ONLY, "--fail-on", "warn")
    assert code == 1
    assert verdicts(reports)["expired.test"] == "warn"  # the verdict stays; the gate moves
    code, _ = demo(
        *WARN_ONLY, "--allow", "cert.expired", "--allow", "cert.name-mismatch", "--fail-on", "warn"
    )
    assert code == 0


def test_require_valid_cert() -> None:
    code, reports = demo(*WARN_ONLY, "--require-valid-cert")
    assert code == 1
    assert verdicts(reports) == {
        "secure.test": "pass",
        "good.test": "pass",
        "mixed.test": "pass",
        "plain.test": "pass",
        "expired.test": "fail",
        "wrongname.test": "fail",
        "nsec3.test": "pass",
    }


def test_cert_expiry_days() -> None:
    code, reports = demo(*WARN_ONLY, "--cert-expiry-days", "100")
    assert code == 0  # a warning, not a failure
    good = reports["good.test"]
    assert good["verdict"] == "warn"
    assert [f["code"] for f in good["hosts"][0]["findings"]] == ["cert.expiring-soon"]  # type: ignore[index]
    code, _ = demo(*WARN_ONLY, "--cert-expiry-days", "100", "--fail-on", "warn")
    assert code == 1


def test_min_tls_on_a_tls13_world_changes_nothing() -> None:
    assert demo(*WARN_ONLY, "--min-tls", "1.3")[0] == 0


@pytest.mark.parametrize(
    ("flag", "code"),
    [("--require-dane", "dane.required"), ("--require-mta-sts", "mta-sts.required")],
)
def test_required_policies_fail_a_domain_without_them(flag: str, code: str) -> None:
    """The demo publishes neither DANE nor MTA-STS: asking for them fails even good.test."""
    code_, reports = demo(*WARN_ONLY, flag)
    assert code_ == 1
    assert reports["good.test"]["verdict"] == "fail"
    assert code in [f["code"] for f in reports["good.test"]["findings"]]
    assert demo(*WARN_ONLY)[1]["good.test"]["verdict"] == "pass"  # and only because of it


def test_requirements_need_the_policy_checks() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "starttls_check", "--demo", "--require-dane", "--no-policy-checks"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
