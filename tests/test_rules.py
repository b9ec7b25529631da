"""Rules: facts → findings (checks/mx.py, checks/session.py) → verdicts (evaluate.py) → exit code.

Facts are built directly from the model; every expected finding is named by its code and
severity, never just "some failure".
"""

from __future__ import annotations

import re

import pytest

from starttls_check.checks.certificate import evaluate_certificate
from starttls_check.checks.mx import evaluate_dns
from starttls_check.checks.session import evaluate_session
from starttls_check.judge.evaluate import domain_verdict, host_verdict, worst_severity_verdict
from starttls_check.judge.gate import ExitCode, exit_code
from starttls_check.model import catalogue
from starttls_check.model.catalogue import Rule
from starttls_check.model.dns import DnsFacts, DnsStatus, MxHost
from starttls_check.model.findings import Finding, Severity, Subject, Verdict
from starttls_check.model.report import HostReport
from starttls_check.model.session import (
    CertProblem,
    ErrorKind,
    Phase,
    ProbeError,
    Reply,
    SessionFacts,
    TlsResult,
    TrustVerdict,
)

from .samples import CATALOGUE

INFO, WARN, FAIL = Severity.INFO, Severity.WARN, Severity.FAIL
SUBJECT = Subject(host="mx.example.com", address="192.0.2.1", port=25)
DOMAIN = "example.com"


def reply(code: int, *lines: str) -> Reply:
    return Reply(code=code, lines=lines or ("",))


def tls(version: str = "TLSv1.3") -> TlsResult:
    return TlsResult(
        version=version,
        cipher="TLS_AES_256_GCM_SHA384",
        cipher_bits=256,
        chain=(),
        handshake_ms=3.0,
    )


def summary(findings: tuple[Finding, ...]) -> list[tuple[str, Severity]]:
    """(code, severity) pairs, after checking every code is catalogued with its hint."""
    for f in findings:
        assert f.code in CATALOGUE, f.code
        assert f.hint == CATALOGUE[f.code].hint, f.code
    return [(f.code, f.severity) for f in findings]


GREETED = {"greeting": reply(220, "mx.example.com ESMTP")}
EHLO_OK = {
    **GREETED,
    "ehlo_command": "EHLO",
    "ehlo_reply": reply(250, "mx.example.com", "STARTTLS"),
    "capabilities": ("STARTTLS",),
    "starttls_offered": True,
}
UPGRADED = {**EHLO_OK, "starttls_reply": reply(220, "go ahead"), "tls": tls()}
COMPLETE = {
    **UPGRADED,
    "ehlo_tls_reply": reply(250, "mx.example.com", "SIZE 100"),
    "capabilities_after_tls": ("SIZE 100",),
}
HELO_FALLBACK = {
    **GREETED,
    "ehlo_command": "HELO",
    "ehlo_reply": reply(502, "5.5.2 Error: command not recognized"),
    "helo_reply": reply(250, "mx.example.com"),
    "starttls_offered": False,
}


def error(phase: Phase, kind: ErrorKind) -> dict[str, ProbeError]:
    return {"error": ProbeError(phase=phase, kind=kind, detail="detail")}


# --- session findings and host verdict -------------------------------------------------------

SESSIONS = [
    pytest.param(COMPLETE, [], Verdict.PASS, id="clean-tls13"),
    pytest.param({**COMPLETE, "tls": tls("TLSv1.2")}, [], Verdict.PASS, id="clean-tls12"),
    pytest.param(
        {"greeting": reply(421, "too busy")},
        [("smtp.greeting-rejected", FAIL)],
        Verdict.FAIL,
        id="greeting-421",
    ),
    pytest.param(
        {"greeting": reply(554, "no SMTP service here")},
        [("smtp.greeting-rejected", FAIL)],
        Verdict.FAIL,
        id="greeting-554",
    ),
    pytest.param(
        HELO_FALLBACK,
        [("smtp.ehlo-rejected", WARN), ("starttls.not-offered", FAIL)],
        Verdict.FAIL,
        id="helo-fallback",
    ),
    pytest.param(
        {**HELO_FALLBACK, "helo_reply": reply(550, "go away"), "starttls_offered": None},
        [("smtp.ehlo-rejected", WARN), ("smtp.ehlo-failed", FAIL)],
        Verdict.FAIL,
        id="helo-rejected-too",
    ),
    pytest.param(
        {**GREETED, "ehlo_command": "EHLO", "ehlo_reply": reply(421, "closing")},
        [("smtp.ehlo-failed", FAIL)],
        Verdict.FAIL,
        id="ehlo-421",
    ),
    pytest.param(
        {**EHLO_OK, "ehlo_reply": reply(250, "mx.example.com"), "starttls_offered": False},
        [("starttls.not-offered", FAIL)],
        Verdict.FAIL,
        id="starttls-not-offered",
    ),
    pytest.param(
        {**EHLO_OK, "starttls_reply": reply(454, "4.7.0 TLS not available")},
        [("starttls.refused", FAIL)],
        Verdict.FAIL,
        id="starttls-454",
    ),
    pytest.param(
        {**COMPLETE, "tls": tls("TLSv1")},
        [("tls.version-deprecated", WARN)],
        Verdict.WARN,
        id="tls10",
    ),
    pytest.param(
        {**COMPLETE, "tls": tls("TLSv1.1")},
        [("tls.version-deprecated", WARN)],
        Verdict.WARN,
        id="tls11",
    ),
    pytest.param(
        {**UPGRADED, "ehlo_tls_reply": reply(554, "no")},
        [("tls.ehlo-failed", FAIL)],
        Verdict.FAIL,
        id="ehlo-in-tls-refused",
    ),
    pytest.param(
        error(Phase.CONNECT, ErrorKind.REFUSED),
        [("connect.refused", FAIL)],
        Verdict.FAIL,
        id="connect-refused",
    ),
    pytest.param(
        error(Phase.CONNECT, ErrorKind.TIMEOUT),
        [("connect.timeout", FAIL)],
        Verdict.INCONCLUSIVE,
        id="connect-timeout",
    ),
    pytest.param(
        error(Phase.CONNECT, ErrorKind.UNREACHABLE),
        [("connect.unreachable", INFO)],
        Verdict.UNTESTED,
        id="connect-unreachable",
    ),
    pytest.param(
        error(Phase.CONNECT, ErrorKind.RESET),
        [("connect.error", FAIL)],
        Verdict.FAIL,
        id="connect-reset",
    ),
    pytest.param(
        error(Phase.GREETING, ErrorKind.TIMEOUT),
        [("smtp.no-greeting", FAIL)],
        Verdict.FAIL,
        id="no-greeting",
    ),
    pytest.param(
        {**error(Phase.GREETING, ErrorKind.PROTOCOL)},
        [("smtp.protocol-error", FAIL)],
        Verdict.FAIL,
        id="protocol-greeting",
    ),
    pytest.param(
        {**GREETED, **error(Phase.EHLO, ErrorKind.PROTOCOL)},
        [("smtp.protocol-error", FAIL)],
        Verdict.FAIL,
        id="protocol-ehlo",
    ),
    pytest.param(
        {**GREETED, **error(Phase.EHLO, ErrorKind.CLOSED)},
        [("smtp.closed", FAIL)],
        Verdict.FAIL,
        id="closed-in-ehlo",
    ),
    pytest.param(
        {**EHLO_OK, **error(Phase.STARTTLS, ErrorKind.TIMEOUT)},
        [("starttls.failed", FAIL)],
        Verdict.FAIL,
        id="starttls-timeout",
    ),
    pytest.param(
        {**EHLO_OK, "starttls_reply": reply(220), **error(Phase.HANDSHAKE, ErrorKind.TLS)},
        [("tls.handshake-failed", FAIL)],
        Verdict.FAIL,
        id="handshake-tls",
    ),
    pytest.param(
        {**UPGRADED, **error(Phase.EHLO_TLS, ErrorKind.CLOSED)},
        [("tls.ehlo-failed", FAIL)],
        Verdict.FAIL,
        id="closed-in-ehlo-tls",
    ),
    pytest.param(
        {**COMPLETE, "tls": tls("TLSv1"), **error(Phase.EHLO_TLS, ErrorKind.RESET)},
        [("tls.version-deprecated", WARN), ("tls.ehlo-failed", FAIL)],
        Verdict.FAIL,
        id="error-comes-last",
    ),
]


@pytest.mark.parametrize(("fields", "expected", "verdict"), SESSIONS)
def test_session_findings_and_host_verdict(
    fields: dict[str, object], expected: list[tuple[str, Severity]], verdict: Verdict
) -> None:
    facts = SessionFacts(**fields)
    findings = evaluate_session(SUBJECT, facts)
    assert summary(findings) == expected
    assert all(f.subject == SUBJECT for f in findings)
    assert host_verdict(facts, findings) is verdict


def test_injection_finding_carries_the_evidence() -> None:
    injected = "250-PIPELINING\\r\\n250 AUTH PLAIN\\r\\n"
    facts = SessionFacts(**COMPLETE, injected_plaintext=injected)
    findings = evaluate_session(SUBJECT, facts)
    assert summary(findings) == [("starttls.injection", FAIL)]
    assert findings[0].evidence == injected
    assert str(len(injected)) in findings[0].message
    assert host_verdict(facts, findings) is Verdict.FAIL


def test_empty_injection_is_still_reported() -> None:
    """`injected_plaintext=""` is not None: the session layer decides, the rule reports."""
    facts = SessionFacts(**COMPLETE, injected_plaintext="")
    assert summary(evaluate_session(SUBJECT, facts)) == [("starttls.injection", FAIL)]


@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [
        ("greeting", reply(421, "4.7.0 too busy"), "421 4.7.0 too busy"),
        ("starttls_reply", reply(454, "4.7.0 TLS not available"), "454 4.7.0 TLS not available"),
    ],
)
def test_messages_quote_the_server(field: str, value: Reply, shown: str) -> None:
    fields: dict[str, object] = {**EHLO_OK, field: value}
    (finding,) = evaluate_session(SUBJECT, SessionFacts(**fields))
    assert shown in finding.message


# --- DNS and MX findings ---------------------------------------------------------------------


def mx_host(
    name: str = "mx.example.com",
    *addresses: str,
    preference: int = 10,
    implicit: bool = False,
    cname_chain: tuple[str, ...] = (),
    truncated: bool = False,
) -> MxHost:
    missing = DnsStatus.NO_DATA if not addresses else DnsStatus.OK
    return MxHost(
        name=name,
        preference=preference,
        implicit=implicit,
        cname_chain=cname_chain,
        addresses=addresses,
        ipv4_status=missing,
        ipv6_status=DnsStatus.NO_DATA,
        truncated=truncated,
    )


def dns_facts(
    *hosts: MxHost,
    status: DnsStatus = DnsStatus.OK,
    null_mx: bool = False,
    ignored: tuple[str, ...] = (),
) -> DnsFacts:
    return DnsFacts(
        domain=DOMAIN,
        mx_status=status,
        mx_detail="detail",
        null_mx=null_mx,
        hosts=hosts,
        ignored_records=ignored,
    )


GOOD_MX = mx_host("mx1.example.com", "192.0.2.1")
DEAD_MX = mx_host("mx2.example.com", preference=20)

DNS_CASES = [
    pytest.param(dns_facts(GOOD_MX), [], id="one-good-mx"),
    pytest.param(dns_facts(status=DnsStatus.NXDOMAIN), [("dns.nxdomain", FAIL)], id="nxdomain"),
    pytest.param(dns_facts(status=DnsStatus.SERVFAIL), [("dns.servfail", FAIL)], id="servfail"),
    pytest.param(dns_facts(status=DnsStatus.TIMEOUT), [("dns.timeout", WARN)], id="timeout"),
    pytest.param(
        dns_facts(status=DnsStatus.UNREACHABLE),
        [("dns.unreachable", WARN)],
        id="unreachable",
    ),
    pytest.param(dns_facts(status=DnsStatus.MALFORMED), [("dns.malformed", FAIL)], id="malformed"),
    pytest.param(dns_facts(null_mx=True), [("mx.null", INFO)], id="null-mx"),
    pytest.param(
        dns_facts(
            mx_host(DOMAIN, "192.0.2.1", preference=0, implicit=True), status=DnsStatus.NO_DATA
        ),
        [("mx.implicit", INFO)],
        id="implicit-mx",
    ),
    pytest.param(
        dns_facts(mx_host(DOMAIN, preference=0, implicit=True), status=DnsStatus.NO_DATA),
        [("mx.none", FAIL)],
        id="implicit-without-address",
    ),
    pytest.param(
        dns_facts(mx_host("mx.example.com", "192.0.2.1", cname_chain=("real.example.net",))),
        [("mx.cname", WARN)],
        id="cname-chain",
    ),
    pytest.param(
        dns_facts(GOOD_MX, DEAD_MX), [("mx.unresolvable", WARN)], id="unresolvable-backup"
    ),
    pytest.param(dns_facts(DEAD_MX), [("mx.unresolvable", FAIL)], id="unresolvable-only"),
    pytest.param(
        dns_facts(DEAD_MX, mx_host("mx3.example.com", preference=30)),
        [("mx.unresolvable", FAIL), ("mx.unresolvable", FAIL)],
        id="all-unresolvable",
    ),
    pytest.param(
        dns_facts(GOOD_MX, ignored=("bogus",)), [("mx.bad-record", WARN)], id="bad-record"
    ),
    pytest.param(dns_facts(GOOD_MX, ignored=("0 .",)), [("mx.null-mixed", WARN)], id="null-mixed"),
    pytest.param(
        dns_facts(mx_host("mx1.example.com", "192.0.2.1", truncated=True)),
        [("mx.too-many-addresses", INFO)],
        id="truncated",
    ),
]


@pytest.mark.parametrize(("facts", "expected"), DNS_CASES)
def test_dns_findings(facts: DnsFacts, expected: list[tuple[str, Severity]]) -> None:
    assert summary(evaluate_dns(facts)) == expected


def test_null_mx_is_its_own_verdict_and_exits_0() -> None:
    """A domain that accepts no mail neither passes nor fails: nothing travels at all."""
    from starttls_check.judge.gate import ExitCode, exit_code

    facts = dns_facts(null_mx=True)
    findings = evaluate_dns(facts)
    assert facts.hosts == ()
    assert domain_verdict(facts, findings, ()) is Verdict.NO_MAIL
    assert exit_code([Verdict.NO_MAIL]) is ExitCode.OK


def test_unresolvable_message_names_the_host_and_statuses() -> None:
    (finding,) = evaluate_dns(dns_facts(DEAD_MX))
    assert str(finding.subject) == "mx2.example.com"
    assert "A: no-data" in finding.message
    assert "AAAA: no-data" in finding.message


def test_cname_message_names_the_target() -> None:
    facts = dns_facts(mx_host("mx.example.com", "192.0.2.1", cname_chain=("a.example", "b.ex")))
    (finding,) = evaluate_dns(facts)
    assert str(finding.subject) == "mx.example.com"
    assert "b.ex" in finding.message


# --- verdicts --------------------------------------------------------------------------------


def finding(severity: Severity, code: str = "mx.cname") -> Finding:
    return Finding(code=code, severity=severity, subject=SUBJECT, message="m", hint="h")


@pytest.mark.parametrize(
    ("severities", "verdict"),
    [
        ((), Verdict.PASS),
        ((INFO,), Verdict.PASS),
        ((INFO, WARN), Verdict.WARN),
        ((WARN, INFO, WARN), Verdict.WARN),
        ((INFO, FAIL, WARN), Verdict.FAIL),
        ((FAIL,), Verdict.FAIL),
    ],
)
def test_worst_severity_verdict(severities: tuple[Severity, ...], verdict: Verdict) -> None:
    assert worst_severity_verdict(tuple(finding(s) for s in severities)) is verdict


def host_report(verdict: Verdict, address: str = "192.0.2.1") -> HostReport:
    return HostReport(
        mx="mx.example.com",
        preference=10,
        address=address,
        port=25,
        facts=SessionFacts(),
        trust=None,
        findings=(),
        verdict=verdict,
    )


P, W, F, INC, UNT = (
    Verdict.PASS,
    Verdict.WARN,
    Verdict.FAIL,
    Verdict.INCONCLUSIVE,
    Verdict.UNTESTED,
)


@pytest.mark.parametrize(
    ("domain_severities", "host_verdicts", "expected"),
    [
        pytest.param((), (P,), P, id="one-pass"),
        pytest.param((), (P, W), W, id="pass-and-warn"),
        pytest.param((), (P, F), F, id="pass-and-fail"),
        pytest.param((), (F, INC), F, id="fail-beats-inconclusive"),
        pytest.param((), (F, UNT), F, id="fail-beats-untested"),
        pytest.param((FAIL,), (P,), F, id="domain-fail-beats-pass"),
        pytest.param((FAIL,), (INC, INC), F, id="domain-fail-beats-inconclusive"),
        pytest.param((FAIL,), (), F, id="domain-fail-no-hosts"),
        pytest.param((WARN,), (P,), W, id="domain-warn"),
        pytest.param((INFO,), (P,), P, id="domain-info"),
        pytest.param((), (INC,), INC, id="one-inconclusive"),
        pytest.param((), (INC, INC), INC, id="all-inconclusive"),
        pytest.param((WARN,), (INC, INC), INC, id="all-inconclusive-with-domain-warn"),
        pytest.param((), (INC, P), W, id="inconclusive-and-pass"),
        pytest.param((), (INC, W), W, id="inconclusive-and-warn"),
        pytest.param((), (P, UNT), P, id="untested-ignored"),
        pytest.param((), (W, UNT), W, id="untested-ignored-warn"),
        pytest.param((), (INC, UNT), INC, id="inconclusive-and-untested"),
        pytest.param((), (UNT,), INC, id="one-untested"),
        pytest.param((), (UNT, UNT), INC, id="all-untested"),
        pytest.param((INFO,), (), P, id="no-hosts-info-only"),
    ],
)
def test_domain_verdict(
    domain_severities: tuple[Severity, ...],
    host_verdicts: tuple[Verdict, ...],
    expected: Verdict,
) -> None:
    findings = tuple(finding(s) for s in domain_severities)
    hosts = tuple(host_report(v, f"192.0.2.{i}") for i, v in enumerate(host_verdicts, 1))
    assert domain_verdict(dns_facts(GOOD_MX), findings, hosts) is expected


@pytest.mark.parametrize("status", [DnsStatus.TIMEOUT, DnsStatus.UNREACHABLE])
def test_domain_verdict_dns_unreachable_is_inconclusive(status: DnsStatus) -> None:
    facts = dns_facts(status=status)
    findings = evaluate_dns(facts)
    # Not the domain's fault as far as we know: a warning, and the verdict says untested.
    assert findings[0].severity is WARN
    assert domain_verdict(facts, findings, ()) is Verdict.INCONCLUSIVE


@pytest.mark.parametrize("status", [DnsStatus.NXDOMAIN, DnsStatus.SERVFAIL, DnsStatus.MALFORMED])
def test_domain_verdict_dns_failure_fails(status: DnsStatus) -> None:
    facts = dns_facts(status=status)
    assert domain_verdict(facts, evaluate_dns(facts), ()) is Verdict.FAIL


def test_address_lookup_timeout_is_inconclusive_not_fail() -> None:
    timed_out = MxHost(
        name="mx.example.com",
        preference=10,
        implicit=False,
        cname_chain=(),
        addresses=(),
        ipv4_status=DnsStatus.TIMEOUT,
        ipv6_status=DnsStatus.TIMEOUT,
    )
    facts = dns_facts(timed_out)
    assert domain_verdict(facts, evaluate_dns(facts), ()) is Verdict.INCONCLUSIVE


def test_domain_verdict_from_real_host_findings() -> None:
    """End to end through the pure layers: one MX times out, the other passes → warn."""
    timed_out = SessionFacts(**error(Phase.CONNECT, ErrorKind.TIMEOUT))
    clean = SessionFacts(**COMPLETE)
    hosts = []
    for i, facts in enumerate((timed_out, clean), 1):
        findings = evaluate_session(SUBJECT, facts)
        hosts.append(host_report(host_verdict(facts, findings), f"192.0.2.{i}"))
    dns = dns_facts(GOOD_MX)
    assert [h.verdict for h in hosts] == [Verdict.INCONCLUSIVE, Verdict.PASS]
    assert domain_verdict(dns, evaluate_dns(dns), tuple(hosts)) is Verdict.WARN


# --- gate ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("verdicts", "code"),
    [
        ((), ExitCode.OK),
        ((P,), ExitCode.OK),
        ((W,), ExitCode.OK),
        ((P, W), ExitCode.OK),
        ((F,), ExitCode.FAIL),
        ((INC,), ExitCode.INCONCLUSIVE),
        ((P, INC), ExitCode.INCONCLUSIVE),
        ((F, INC), ExitCode.FAIL),
        ((INC, F), ExitCode.FAIL),
        ((P, W, F), ExitCode.FAIL),
    ],
)
def test_exit_code(verdicts: tuple[Verdict, ...], code: ExitCode) -> None:
    assert exit_code(verdicts) is code
    assert exit_code(iter(verdicts)) is code


def test_exit_code_numbers_are_a_contract() -> None:
    assert [int(c) for c in (ExitCode.OK, ExitCode.FAIL, ExitCode.USAGE)] == [0, 1, 2]
    assert int(ExitCode.INCONCLUSIVE) == 3


# --- catalogue -------------------------------------------------------------------------------


def test_catalogue_hints_are_non_empty_single_lines() -> None:
    for code, rule in CATALOGUE.items():
        assert re.fullmatch(r"[a-z][a-z0-9-]*\.[a-z0-9-]+", code), code
        assert rule.hint.strip(), code
        assert "\n" not in rule.hint, code
        assert isinstance(rule.severity, Severity), code


# Every code literal in the package is checked against the catalogue in test_catalogue.py.


def test_every_cert_problem_has_a_catalogue_code() -> None:
    verdict = TrustVerdict(
        problems=tuple(CertProblem), trusted_path=(), checked_name="mx", detail="d"
    )
    findings = evaluate_certificate(SUBJECT, verdict, ())
    assert len(summary(findings)) == len(CertProblem)


@pytest.mark.parametrize(("code", "rule"), sorted(CATALOGUE.items()))
def test_finding_uses_catalogue_severity_and_hint(code: str, rule: Rule) -> None:
    made = catalogue.finding(code, SUBJECT, "message")
    assert made.severity is rule.severity
    assert made.hint == rule.hint
    overridden = catalogue.finding(code, SUBJECT, "message", severity=Severity.INFO)
    assert overridden.severity is Severity.INFO
