"""Every output format tells the same story as the exit code.

A real check on loopback of a domain whose mail travels encrypted but whose SPF record
is `+all` (`spf.pass-all`, severity fail, advisory): under `--fail-on warn` the run passes,
so no format may show a failure. The control, a counted warning under the same policy,
fails the run, and then every format must show it as a failure: the same assertions
would pass vacuously if the formats never showed failures at all.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from starttls_check.demo.loopback.pki import make_ca
from starttls_check.judge.gate import ExitCode, gate
from starttls_check.model.findings import Policy, Severity, Verdict, Waiver
from starttls_check.model.report import DomainReport
from starttls_check.render import render

from .harness import good_script, mail_world, run

ZONE = (
    "example.test. IN MX 10 mx.example.test.\n"
    "mx.example.test. IN A 127.0.0.2\n"
    'example.test. IN TXT "v=spf1 +all"\n'
)
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _check(policy: Policy) -> DomainReport:
    async def scenario() -> DomainReport:
        ca = make_ca("test CA")
        servers = {"127.0.0.2": good_script("mx.example.test", ca)}
        async with mail_world(ZONE, servers, ca=ca) as world:
            return await world.check(
                "example.test", policy_checks=True, dnssec_mode="resolver", policy=policy
            )

    return run(scenario())


def _outputs(report: DomainReport) -> dict[str, str]:
    return {
        name: render(name, [report], generated_at=NOW)
        for name in ("table", "json", "junit", "github", "markdown")
    }


def _shows_failure(name: str, text: str) -> bool:
    """Whether the format presents something as failing the run."""
    if name == "json":
        return json.loads(text)["exit_code"] == ExitCode.FAIL
    if name == "junit":
        return "<failure" in text
    if name == "github":
        return any(line.startswith("::error") for line in text.splitlines())
    if name == "markdown":
        return "❌" in text
    return " FAIL " in f" {text} "


def test_a_failing_advisory_fails_no_output_when_the_run_passes() -> None:
    report = _check(Policy(fail_on=Severity.WARN))
    codes = {f.code: f.severity for f in report.all_findings()}
    assert codes.get("spf.pass-all") is Severity.FAIL  # the advisory really is there
    assert report.verdict is Verdict.PASS
    assert gate([report]) is ExitCode.OK
    for name, text in _outputs(report).items():
        assert not _shows_failure(name, text), name


@pytest.mark.parametrize("waived", [False, True])
def test_a_counted_warning_fails_every_output_under_fail_on_warn(waived: bool) -> None:
    # A required MTA-STS policy that is missing is a counted failure; waived, it is not.
    allow = (Waiver(code="mta-sts.required"),) if waived else ()
    report = _check(Policy(fail_on=Severity.WARN, require_mta_sts=True, allow=allow))
    expected = ExitCode.OK if waived else ExitCode.FAIL
    assert gate([report]) is expected
    for name, text in _outputs(report).items():
        assert _shows_failure(name, text) is (not waived), name
