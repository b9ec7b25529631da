"""A Markdown summary for `$GITHUB_STEP_SUMMARY`, GitLab or a pull-request comment.

Per domain: a heading with its verdict, a table of addresses and the findings with their
hints. Server text (banners, names, reply text) is made visible with `terminal_safe`, then
every Markdown metacharacter is backslash-escaped and `<`/`&` HTML-escaped, so it renders
as the characters it is: no links, no HTML, no emphasis, no broken table cells. Hints are
ours and written as Markdown (backticks around settings), so they are kept as they are.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..model.findings import Finding, Verdict
from ..model.report import DomainReport, HostReport
from ..model.session import tls_name
from .columns import certificate_cell, starttls_cell
from .github import Level, level_of  # one rule for what fails, so both CI views agree
from .sanitize import terminal_safe
from .summary import verdict_sentence

VERDICT_EMOJI = {
    Verdict.PASS: "✅",
    Verdict.WARN: "⚠️",
    Verdict.FAIL: "❌",
    Verdict.INCONCLUSIVE: "❔",
    Verdict.UNTESTED: "❔",
    Verdict.NO_MAIL: "🚫",
}
_LEVEL_EMOJI = {Level.ERROR: "❌", Level.WARNING: "⚠️", Level.NOTICE: "ℹ️"}  # noqa: RUF001
# `<` and `&` as entities: a backslash before `&` would show `&lt;` literally. `~` is
# GFM strikethrough. Everything else here is CommonMark punctuation with a meaning.
# `@` would mention a user and `:` start an emoji shortcode in a pull-request comment.
_ESCAPES = {c: "\\" + c for c in "\\`*_{}[]()#+-.!|>~@:"} | {"<": "&lt;", "&": "&amp;"}
_MARKDOWN = str.maketrans(_ESCAPES)
_HEADER = ("MX", "pref", "address", "STARTTLS", "TLS", "certificate", "verdict")


def md(text: str) -> str:
    """Server text as literal Markdown: visible controls, no syntax, one line."""
    return terminal_safe(text).translate(_MARKDOWN)


def render_markdown(reports: Sequence[DomainReport]) -> str:
    """All domains, one section each."""
    return "\n".join(domain_section(report) for report in reports)


def domain_section(report: DomainReport) -> str:
    """Heading with the verdict, the address table, the findings."""
    verdict, fail_on = report.verdict, report.policy.fail_on
    lines = [f"## {VERDICT_EMOJI[verdict]} {md(report.domain)}: {verdict}", ""]
    lines += [md(verdict_sentence(report)[:1].upper() + verdict_sentence(report)[1:]) + "\\.", ""]
    if report.ascii_domain != report.domain:
        lines += [f"Checked as {md(report.ascii_domain)}\\.", ""]
    lines += [f"Addresses checked: {len(report.hosts)}; the policy fails on **{fail_on}**\\.", ""]
    if report.hosts:
        lines += [*_table(report.hosts), ""]
    lines += [*_findings(report), ""]
    return "\n".join(lines)


def _table(hosts: Sequence[HostReport]) -> list[str]:
    rows = [_HEADER, ("---", "--:", "---", "---", "---", "---", "---")]
    for host in hosts:
        tls = host.facts.tls
        rows.append(
            (
                md(host.mx),
                str(host.preference),
                md(host.address),
                md(starttls_cell(host)),
                md(tls_name(tls.version)) if tls else "—",
                md(certificate_cell(host).plain),
                f"{VERDICT_EMOJI[host.verdict]} {host.verdict}",
            )
        )
    return ["| " + " | ".join(row) + " |" for row in rows]


def _findings(report: DomainReport) -> list[str]:
    """One item per finding; each hint once, under its first finding."""
    pairs: list[tuple[Finding, Verdict | None]] = [(f, None) for f in report.findings]
    pairs += [(f, h.verdict) for h in report.hosts for f in h.findings]
    if not pairs:
        return ["No findings\\."]
    lines, hinted = ["### Findings", ""], set()
    for f, host_verdict in pairs:
        if f.waived:
            mark, waived = "🔕", " (waived)"  # accepted by the owner (--allow)
        elif host_verdict in (Verdict.UNTESTED, Verdict.INCONCLUSIVE):
            mark, waived = "❔", ""
        else:
            mark, waived = _LEVEL_EMOJI[level_of(f, report.policy.fail_on, host_verdict)], ""
        lines.append(f"- {mark} `{f.code}`{waived} {md(str(f.subject))}: {md(f.message)}")
        if f.hint not in hinted:  # hints name the domain or MX: one code, several hints
            hinted.add(f.hint)
            lines.append(f"  - {f.hint}")
    return lines
