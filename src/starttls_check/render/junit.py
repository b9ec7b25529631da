"""JUnit XML for CI test reports (GitLab, Jenkins, Azure, GitHub test-reporter actions).

One `<testsuite>` per domain; one `<testcase>` for its DNS/MX and four per address
(`connection`, `starttls`, `tls`, `certificate`), so a CI history shows which part of
which MX broke. A finding that fails the run (`judge.counting.fails_run`: not waived, not
advisory, at or above the domain's `policy.fail_on`) is a
`<failure>`; the rest go to `<system-out>`. What could not be tested is `<skipped>`,
never a pass: an untested or inconclusive address, or a check the session never reached.

Valid against the Jenkins xUnit plugin's `junit-10.xsd` (tests/data/junit.xsd), which is
why the totals on `<testsuites>` carry no `skipped` attribute: that schema rejects it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass

from ..judge.counting import fails_run
from ..model.findings import Finding, Severity, Verdict
from ..model.report import DomainReport, HostReport
from .sanitize import terminal_safe

ADDRESS_CHECKS = ("connection", "starttls", "tls", "certificate")
_CHECK_OF_PREFIX = {
    **dict.fromkeys(("dns", "mx", "drift"), "dns"),
    **dict.fromkeys(("connect", "smtp"), "connection"),
    "starttls": "starttls",
    **dict.fromkeys(("tls", "cipher", "capabilities", "deep"), "tls"),
    **dict.fromkeys(("cert", "dane"), "certificate"),  # DANE authenticates the certificate
    **dict.fromkeys(("mta-sts", "tls-rpt", "spf", "dmarc"), "dns"),
}
_NOT_TESTED = (Verdict.UNTESTED, Verdict.INCONCLUSIVE)


def check_of(code: str) -> str:
    """The test case a finding code belongs to; an unknown family lands on `connection`
    so that a new code is still reported rather than dropped."""
    return _CHECK_OF_PREFIX.get(code.split(".", 1)[0], "connection")


def xml_safe(text: str) -> str:
    """`text` with what XML 1.0 cannot carry shown as a visible escape, never dropped.

    Control characters (ESC, BEL, NUL...) are illegal in XML 1.0, `\\r` would be folded
    into `\\n` by every parser, lone surrogates and U+FFFE/U+FFFF are illegal too. C1 codes
    and bidi overrides are legal but act on whoever views the report, so they go as well.
    """
    return "".join(_xml_char(c) for c in text)


def _xml_char(char: str) -> str:
    if char in "\t\n":
        return char
    code = ord(char)
    if 0xD800 <= code <= 0xDFFF or code in (0xFFFE, 0xFFFF):
        return f"\\u{code:04x}"
    return terminal_safe(char)


@dataclass(frozen=True, slots=True)
class _Case:
    """One test case before it becomes XML: its findings, or why it was not run."""

    name: str
    findings: tuple[Finding, ...]
    skip: str | None = None
    time_ms: float | None = None


def render_junit(reports: Sequence[DomainReport]) -> str:
    """All domains as one `<testsuites>` document, pure ASCII (non-ASCII as references)."""
    root = ET.Element("testsuites", name="starttls-check")
    suites = [_suite(report) for report in reports]
    for key in ("tests", "failures", "errors"):
        root.set(key, str(sum(int(s.get(key, "0")) for s in suites)))
    root.set("time", _seconds(sum(r.elapsed_ms for r in reports)))
    root.extend(suites)
    ET.indent(root)
    # ASCII output survives any file encoding the caller writes with.
    document: bytes = ET.tostring(root, encoding="us-ascii", xml_declaration=True)
    return document.decode("ascii") + "\n"


def _suite(report: DomainReport) -> ET.Element:
    fail_on = report.policy.fail_on
    cases = [_testcase(report.domain, case, fail_on) for case in _cases(report)]
    suite = ET.Element("testsuite", name=xml_safe(report.domain))
    suite.set("tests", str(len(cases)))
    suite.set("failures", str(sum(c.find("failure") is not None for c in cases)))
    suite.set("errors", "0")  # our own bugs raise; they never become report data
    suite.set("skipped", str(sum(c.find("skipped") is not None for c in cases)))
    suite.set("time", _seconds(report.elapsed_ms))
    suite.set("timestamp", report.checked_at.isoformat())
    properties = ET.SubElement(suite, "properties")
    for name, value in (("verdict", report.verdict), ("fail_on", fail_on)):
        ET.SubElement(properties, "property", name=name, value=value.value)
    suite.extend(cases)
    return suite


def _cases(report: DomainReport) -> list[_Case]:
    """The domain's `dns` case, then four per address, in report order."""
    host_dns = [f for h in report.hosts for f in h.findings if check_of(f.code) == "dns"]
    dns_findings = (*report.findings, *host_dns)
    # DNS itself inconclusive (nothing got as far as an address): not a failure of the zone.
    dns_skip = None
    if report.verdict in _NOT_TESTED and not report.hosts:
        dns_skip = _reason(report.verdict, dns_findings)
    cases = [_Case("dns", dns_findings, dns_skip)]
    for host in report.hosts:
        subject = f"{host.mx} [{host.address}]:{host.port}"
        by_check: dict[str, tuple[Finding, ...]] = {
            check: tuple(f for f in host.findings if check_of(f.code) == check)
            for check in ADDRESS_CHECKS
        }
        for index, check in enumerate(ADDRESS_CHECKS):
            time_ms = host.facts.elapsed_ms if check == "connection" else None
            skip = _skip(host, index, by_check)
            cases.append(_Case(f"{subject} {check}", by_check[check], skip, time_ms))
    return cases


def _skip(host: HostReport, index: int, by_check: dict[str, tuple[Finding, ...]]) -> str | None:
    """Why the check at `index` was not tested, or None when it was."""
    if host.verdict in _NOT_TESTED:
        return _reason(host.verdict, host.findings)
    check, facts = ADDRESS_CHECKS[index], host.facts
    reached = {
        "connection": True,
        "starttls": facts.starttls_offered is not None or facts.tls is not None,
        "tls": facts.tls is not None,
        "certificate": facts.tls is not None,
    }[check]
    if reached or by_check[check]:
        return None
    if facts.starttls_offered is False:
        return "not reached: STARTTLS not offered"
    earlier = [f for c in ADDRESS_CHECKS[:index] for f in by_check[c]]
    if earlier:
        return f"not reached: the session stopped at {earlier[0].code}"
    return "not reached: the session ended before this check"


def _reason(verdict: Verdict, findings: Sequence[Finding]) -> str:
    return f"{verdict.value}: " + ("; ".join(f.message for f in findings) or "no reason recorded")


def _testcase(domain: str, case: _Case, fail_on: Severity) -> ET.Element:
    element = ET.Element("testcase", classname=xml_safe(domain), name=xml_safe(case.name))
    if case.time_ms is not None:
        element.set("time", _seconds(case.time_ms))
    out: list[str] = []
    for f in case.findings:
        if fails_run(f, fail_on) and case.skip is None:
            failure = ET.SubElement(element, "failure", message=xml_safe(f.message), type=f.code)
            failure.text = xml_safe(_details(f))
        else:
            out.append(_line(f))
    if case.skip is not None:
        ET.SubElement(element, "skipped", message=xml_safe(case.skip))
    if out:
        ET.SubElement(element, "system-out").text = xml_safe("\n".join(out))
    return element


def _line(f: Finding) -> str:
    """One `<system-out>` line: what did not fail, and why it still matters."""
    waived = "waived: " if f.waived else ""
    return f"{waived}{f.severity} {f.code} {f.subject}: {f.message}"


def _details(f: Finding) -> str:
    lines = [f.message, f"hint: {f.hint}", f"subject: {f.subject}", f"severity: {f.severity}"]
    if f.evidence is not None:
        lines.append(f"evidence: {f.evidence}")
    return "\n".join(lines)


def _seconds(ms: float) -> str:
    return f"{ms / 1000:.3f}"
