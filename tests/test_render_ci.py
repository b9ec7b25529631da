"""CI renderers: JUnit XML, GitHub workflow commands, Markdown.

Golden files are regenerated only on purpose:
`UPDATE_GOLDEN=1 python -m pytest tests/test_render_ci.py`.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest
import xmlschema

from starttls_check.model.catalogue import finding
from starttls_check.model.findings import Finding, Policy, Severity, Verdict
from starttls_check.model.report import DomainReport, HostReport
from starttls_check.model.session import ErrorKind, Phase, ProbeError, Reply, SessionFacts
from starttls_check.render.github import escape_data, escape_property, render_github
from starttls_check.render.junit import render_junit, xml_safe
from starttls_check.render.markdown import render_markdown

from .samples import host_report, sample_report

GOLDEN = Path(__file__).parent / "golden"
JUNIT_XSD = xmlschema.XMLSchema(Path(__file__).parent / "data" / "junit.xsd")
# Everything a server has been seen (or imagined) to send to break a report or a CI log.
NASTY = (
    "\x1b[31mred\x1b]0;title\x07 nul\x00 ]]> </failure> <script>alert(1)</script> a|b"
    " *bold* [link](http://x) & &amp;\r\n::error::x\n::set-env name=X::y %0A::warning::z"
    " \u2028::notice::s \ud800 \ufffe"
)
SUBJECT4 = "mx4.example.test [2001:db8::25]:25"


def assert_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(text)
    assert text == path.read_text()


def parse(xml: str) -> ET.Element:
    return ET.fromstring(xml)  # noqa: S314 - our own output, parsed to inspect it


def case(root: ET.Element, suffix: str) -> ET.Element:
    (element,) = [c for c in root.iter("testcase") if c.get("name", "").endswith(suffix)]
    return element


def with_host(report: DomainReport, host: HostReport) -> DomainReport:
    return replace(report, hosts=(*report.hosts, host))


def waive(findings: tuple[Finding, ...]) -> tuple[Finding, ...]:
    return tuple(replace(f, waived=True) for f in findings)


def untested_host(verdict: Verdict, code: str, kind: ErrorKind) -> HostReport:
    error = ProbeError(phase=Phase.CONNECT, kind=kind, detail="no answer")
    return host_report(
        "mx4.example.test",
        "2001:db8::25",
        facts=SessionFacts(error=error),
        findings=(finding(code, SUBJECT4, f"connect: {kind}: no answer"),),
        verdict=verdict,
    )


def nasty_report() -> DomainReport:
    mx = f"mx5{NASTY}"
    subject = f"{mx} [127.0.0.5]:25"
    host = host_report(
        mx,
        "127.0.0.5",
        facts=SessionFacts(greeting=Reply(code=554, lines=(NASTY,))),
        findings=(
            finding("smtp.greeting-rejected", subject, f"554 {NASTY}", evidence=NASTY),
            finding("smtp.transient", subject, f"421 {NASTY}"),
        ),
        verdict=Verdict.FAIL,
    )
    return with_host(sample_report(), host)


# -- golden files and the schema -------------------------------------------------------


def test_junit_golden_and_schema() -> None:
    text = render_junit([sample_report()])
    assert_golden("report.junit.xml", text)
    JUNIT_XSD.validate(text)
    suite = parse(text).find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("13", "1", "3")


def test_junit_schema_is_strict_enough_to_mean_something() -> None:
    # The schema must reject what a JUnit consumer rejects, or validating proves nothing.
    assert not JUNIT_XSD.is_valid('<testsuites name="x" skipped="1"/>')
    assert not JUNIT_XSD.is_valid('<testsuites><testsuite name="x" tests="1"/></testsuites>')
    bad = render_junit([sample_report()]).replace('name="dns"', 'nom="dns"')
    assert not JUNIT_XSD.is_valid(bad)


def test_github_golden() -> None:
    assert_golden("report.github.txt", render_github([sample_report()]))


def test_markdown_golden() -> None:
    assert_golden("report.md", render_markdown([sample_report()]))


# -- the policy's threshold, waivers, what was not tested -------------------------------


def test_fail_on_warn_turns_warnings_into_failures() -> None:
    strict = replace(sample_report(), policy=Policy(fail_on=Severity.WARN))
    root = parse(render_junit([sample_report(), strict]))
    # Failed test cases: mx3's connection by default; with fail_on=warn also mx2's certificate.
    assert root.get("failures") == "3"
    suites = root.findall("testsuite")
    certificate = case(suites[1], "[127.0.0.3]:25 certificate")
    assert [f.get("type") for f in certificate.iter("failure")] == [
        "cert.expired",
        "cert.name-mismatch",
    ]
    assert certificate.find("system-out") is None
    default = case(suites[0], "[127.0.0.3]:25 certificate")
    assert default.find("failure") is None
    assert "warn cert.expired" in (default.findtext("system-out") or "")
    github = render_github([strict])
    assert "::error title=starttls-check cert.expired::" in github
    assert "::warning title=starttls-check cert.expired::" in render_github([sample_report()])
    assert "- ❌ `cert.expired`" in render_markdown([strict])


def test_waived_findings_never_fail() -> None:
    report = sample_report()
    hosts = tuple(replace(h, findings=waive(h.findings)) for h in report.hosts)
    waived = replace(report, hosts=hosts, policy=Policy(fail_on=Severity.INFO))
    root = parse(render_junit([waived]))
    assert root.get("failures") == "0"
    out = case(root, "[127.0.0.4]:25 connection").findtext("system-out") or ""
    assert out.startswith("waived: fail smtp.greeting-rejected")
    github = render_github([waived]).splitlines()
    assert len(github) == 1  # the summary only
    assert github[0].endswith("errors 0, warnings 0, notices 0, waived 3")
    assert render_markdown([waived]).count("(waived)") == 3


@pytest.mark.parametrize(
    ("verdict", "code", "kind"),
    [
        (Verdict.UNTESTED, "connect.unreachable", ErrorKind.UNREACHABLE),
        (Verdict.INCONCLUSIVE, "connect.timeout", ErrorKind.TIMEOUT),
    ],
)
def test_untested_address_is_skipped_not_failed(
    verdict: Verdict, code: str, kind: ErrorKind
) -> None:
    report = with_host(sample_report(), untested_host(verdict, code, kind))
    text = render_junit([report])
    JUNIT_XSD.validate(text)
    root = parse(text)
    for check in ("connection", "starttls", "tls", "certificate"):
        element = case(root, f"{SUBJECT4} {check}")
        assert element.find("failure") is None
        skipped = element.find("skipped")
        assert skipped is not None
        assert skipped.get("message") == f"{verdict}: connect: {kind}: no answer"
    assert root.get("failures") == "1"  # mx3's, as before: connect.timeout is FAIL severity
    assert f"::error title=starttls-check {code}" not in render_github([report])
    assert f"- ❔ `{code}`" in render_markdown([report])


def test_checks_after_a_missing_starttls_are_skipped() -> None:
    subject = "mx4.example.test [127.0.0.9]:25"
    host = host_report(
        "mx4.example.test",
        "127.0.0.9",
        facts=SessionFacts(starttls_offered=False),
        findings=(finding("starttls.not-offered", subject, "EHLO lists no STARTTLS"),),
        verdict=Verdict.FAIL,
    )
    root = parse(render_junit([with_host(sample_report(), host)]))
    assert case(root, f"{subject} connection").find("skipped") is None
    failure = case(root, f"{subject} starttls").find("failure")
    assert failure is not None
    assert failure.get("type") == "starttls.not-offered"
    for check in ("tls", "certificate"):
        skipped = case(root, f"{subject} {check}").find("skipped")
        assert skipped is not None
        assert skipped.get("message") == "not reached: STARTTLS not offered"


def test_domain_whose_dns_was_unreachable_is_skipped() -> None:
    message = "no name server answered within 5 s"
    report = replace(
        sample_report(),
        hosts=(),
        dns=None,
        findings=(finding("dns.timeout", "example.test", message),),
        verdict=Verdict.INCONCLUSIVE,
    )
    root = parse(render_junit([report]))
    skipped = case(root, "dns").find("skipped")
    assert skipped is not None
    assert skipped.get("message") == f"inconclusive: {message}"
    assert root.get("failures") == "0"


# -- hostile server text ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plain\ttab\nline", "plain\ttab\nline"),
        ("nul\x00 esc\x1b bel\x07", "nul\\x00 esc\\x1b bel\\x07"),
        ("cr\r", "cr\\x0d"),  # a parser would fold it into \n
        ("\ud800\udfff", "\\ud800\\udfff"),
        ("\ufffe\uffff", "\\ufffe\\uffff"),
        ("\x9b\u202e", "\\x9b\\u202e"),
        ("bücher ✓ ]]> </failure>", "bücher ✓ ]]> </failure>"),  # ElementTree escapes these
    ],
)
def test_xml_safe(raw: str, shown: str) -> None:
    assert xml_safe(raw) == shown


def test_github_escaping() -> None:
    assert escape_property("a:b,c%d\n") == "a%3Ab%2Cc%25d\\x0a"
    assert escape_data("100% a:b,c") == "100%25 a:b,c"
    assert escape_data("x\u2028y") == "x\\u2028y"


def test_hostile_text_survives_junit_intact_and_inert() -> None:
    text = render_junit([nasty_report()])
    assert text.isascii()
    JUNIT_XSD.validate(text)
    connection = case(parse(text), "[127.0.0.5]:25 connection")
    (failure,) = connection.findall("failure")  # `</failure>` in the text opened nothing
    assert failure.get("message") == xml_safe(f"554 {NASTY}")
    assert "</failure> <script>alert(1)</script> a|b" in (failure.get("message") or "")
    assert "\\x1b[31mred" in (failure.text or "")
    assert "info smtp.transient" in (connection.findtext("system-out") or "")
    assert "<script>" not in text  # only ever as character data
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", text)


def injected_commands(log: str, ours: int) -> list[str]:
    """Lines the runner would take as commands beyond the `ours` we emitted, or lines that
    smuggle one in: the runner trims leading white space before looking for `::`."""
    lines = log.splitlines()  # also splits on \x1c-\x1e, \x85, \u2028, \u2029
    commands = [line for line in lines if line.lstrip().startswith("::")]
    stray = [line for line in lines if not line.startswith("::")]
    if len(commands) != ours:
        return commands
    return stray + [line for line in lines if re.match(r"::(set-env|error::x|warning::z)", line)]


def test_hostile_text_cannot_inject_workflow_commands() -> None:
    report = nasty_report()
    log = render_github([report])
    assert injected_commands(log, ours=6) == []  # 3 sample findings, 2 nasty ones, 1 summary
    assert "\x1b" not in log
    nasty_line = next(line for line in log.splitlines() if "smtp.greeting-rejected::mx5" in line)
    assert "%0D%0A::error::x" not in nasty_line  # \r\n made visible before GitHub's escaping
    assert "\\x0d\\x0a::error::x\\x0a::set-env" in nasty_line
    assert "%250A::warning::z" in nasty_line  # a literal %0A stays literal
    # The detector works: the same message printed naively would start new commands.
    naive = f"::error::{report.hosts[-1].findings[0].message}\n"
    assert injected_commands(naive, ours=1) != []


def test_hostile_text_cannot_break_markdown() -> None:
    text = render_markdown([nasty_report()])
    assert "\x1b" not in text
    assert "<script" not in text
    assert "&lt;script&gt;" not in text  # `>` is backslash-escaped, `<` an entity
    assert "&lt;script\\>" in text
    assert "\\[link\\]\\(http\\://x\\)" in text  # `:` too: no emoji shortcodes
    assert "&amp;amp;" in text  # `&amp;` from the server shows as typed
    assert "\\&amp;amp;" not in text
    rows = [line for line in text.splitlines() if line.startswith("|")]
    assert len(rows) == 2 + 4  # header, alignment, four addresses: no row was split
    for row in rows:
        # A cell boundary is a pipe after an even number of backslashes.
        assert len(re.findall(r"(?<!\\)(?:\\\\)*\|", row)) == 8
    findings = [line for line in text.splitlines() if line.startswith("- ")]
    assert len(findings) == 5  # one line each: the nasty newlines did not start new items
