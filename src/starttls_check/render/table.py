"""The terminal report: one block per domain, findings grouped with their hints, a verdict.

Every server-derived string goes through `terminal_safe` and into `rich.text.Text`, never
into a markup string, so a banner cannot clear the screen or inject `[bold]` markup.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ..model.findings import SEVERITY_RANK, Finding, Severity, Verdict
from ..model.report import Delivery, DomainReport, HostReport, PolicyUse, SenderOutcome
from ..model.session import ProbeOutcome
from .sanitize import terminal_safe
from .summary import verdict_sentence
from .terminal import render_to_text, safe

_VERDICT_STYLE = {
    Verdict.PASS: "bold green",
    Verdict.WARN: "bold yellow",
    Verdict.FAIL: "bold red",
    Verdict.INCONCLUSIVE: "bold magenta",
    Verdict.UNTESTED: "dim",
}
_SEVERITY_STYLE = {Severity.INFO: "cyan", Severity.WARN: "yellow", Severity.FAIL: "red"}
_SEVERITY_MARK = {Severity.INFO: "i", Severity.WARN: "!", Severity.FAIL: "✗"}


def render_table(reports: Sequence[DomainReport], *, color: bool, width: int = 100) -> str:
    """All domains, one after another, a blank line between."""
    blocks: list[RenderableType] = []
    for index, report in enumerate(reports):
        blocks += [Text()] if index else []
        blocks.append(domain_block(report))
    return render_to_text(blocks, color=color, width=width)


def domain_block(report: DomainReport) -> RenderableType:
    title = Text(terminal_safe(report.domain), style="bold")
    if report.ascii_domain != report.domain:
        title.append(f" ({terminal_safe(report.ascii_domain)})", style="dim")
    parts: list[RenderableType] = [title]
    if report.hosts:
        parts.append(hosts_table(report.hosts))
    parts += [senders_line(h) for h in report.hosts if h.senders and _policies_matter(report)]
    parts += [deep_line(h) for h in report.hosts if h.deep]
    parts += findings_lines(report.all_findings())
    verdict = Text(f"{terminal_safe(report.ascii_domain)}: ")
    verdict.append(report.verdict.value.upper(), style=_VERDICT_STYLE[report.verdict])
    verdict.append(f" — {verdict_sentence(report)}")
    parts.append(verdict)
    return Group(*parts)


def hosts_table(hosts: Sequence[HostReport]) -> Table:
    table = Table(box=None, pad_edge=False, collapse_padding=True, header_style="bold")
    # Names, addresses and verdicts must stay whole; the cipher and certificate may fold.
    for column in ("MX (pref)", "Address", "STARTTLS", "TLS", "Cipher", "Certificate", "Verdict"):
        table.add_column(column, overflow="fold", no_wrap=column not in ("Cipher", "Certificate"))
    for host in hosts:
        tls = host.facts.tls
        table.add_row(
            safe(f"{host.mx} ({host.preference})"),
            safe(host.address),
            Text(starttls_cell(host)),
            safe(tls.version if tls else "—"),
            safe(tls.cipher if tls else "—"),
            certificate_cell(host),
            Text(host.verdict.value, style=_VERDICT_STYLE[host.verdict]),
        )
    return table


_DEEP_LABELS = {
    ProbeOutcome.ACCEPTED: "accepts",
    ProbeOutcome.REFUSED: "refuses",
    ProbeOutcome.UNTESTABLE: "not testable here",
    ProbeOutcome.FAILED: "probe failed",
    ProbeOutcome.SERVER_ORDER: "enforces its own cipher order",
    ProbeOutcome.CLIENT_ORDER: "follows the client's cipher order",
    ProbeOutcome.IGNORED: "discards commands pipelined with STARTTLS",
    ProbeOutcome.ANSWERED: "ANSWERS COMMANDS PIPELINED WITH STARTTLS",
}


_DELIVERY_WORDS = {
    Delivery.AUTHENTICATED: "encrypted, authenticated",
    Delivery.ENCRYPTED: "encrypted",
    Delivery.CLEAR_TEXT: "CLEAR TEXT",
    Delivery.REFUSED: "REFUSES",
    Delivery.DEFERRED: "DEFERS",
    Delivery.DEFERRED_IF_SIGNED: "defers if signed",
    Delivery.CANNOT_DELIVER: "cannot deliver",
    Delivery.UNTESTED: "untested",
}


def _sender_word(outcome: SenderOutcome, absent: str) -> str:
    """A few words per sender; `absent` names the missing policy (no policy, no TLSA)."""
    word = _DELIVERY_WORDS[outcome.delivery]
    if outcome.policy is PolicyUse.TESTING:
        return "testing, reports"
    if outcome.policy is PolicyUse.ABSENT:
        return f"{absent} → {word}"
    if outcome.policy is PolicyUse.IGNORED:
        return f"TLSA ignored → {word}"
    if outcome.delivery is Delivery.ENCRYPTED and outcome.policy is PolicyUse.APPLIED:
        return "encrypted, unauthenticated"  # the policy ran and could not authenticate
    return word


def _policies_matter(report: DomainReport) -> bool:
    """Sender lines say something only when MTA-STS or DANE is in play for the domain."""
    facts = report.policies
    return facts is not None and (
        facts.mta_sts.mode is not None or any(t.records for t in facts.tlsa)
    )


def senders_line(host: HostReport) -> Text:
    """What an opportunistic, an MTA-STS and a DANE sender do here (JSON has the details)."""
    assert host.senders is not None
    line = Text(f"{terminal_safe(host.mx)} [{terminal_safe(host.address)}] senders: ", style="bold")
    line.append(
        f"opportunistic {_sender_word(host.senders.opportunistic, '')} · "
        f"MTA-STS {_sender_word(host.senders.mta_sts, 'no policy')} · "
        f"DANE {_sender_word(host.senders.dane, 'no TLSA')}"
    )
    return line


def deep_line(host: HostReport) -> Text:
    """`--deep` at a glance: versions and cipher classes grouped by outcome, then the
    cipher order and injection probes in words."""
    groups: dict[ProbeOutcome, list[str]] = {}
    verdicts: list[str] = []
    probes = host.deep + ((host.injection,) if host.injection is not None else ())
    for probe in probes:
        if probe.kind in ("version", "cipher"):
            groups.setdefault(probe.outcome, []).append(probe.name)
        else:
            verdicts.append(_DEEP_LABELS[probe.outcome])
    parts = [f"{_DEEP_LABELS[o]} {', '.join(names)}" for o, names in groups.items()]
    line = Text(f"{terminal_safe(host.mx)} [{terminal_safe(host.address)}]: ", style="bold")
    line.append("; ".join(parts + verdicts))
    return line


def starttls_cell(host: HostReport) -> str:
    facts = host.facts
    if facts.tls is not None:
        return "yes"
    if facts.starttls_offered is False:
        return "no"
    if facts.starttls_reply is not None and facts.starttls_reply.code != 220:
        return f"refused ({facts.starttls_reply.code})"
    if facts.starttls_offered:
        return "failed"
    return "—"


def certificate_cell(host: HostReport) -> Text:
    """`valid, 89 d` or the problems and days left: trusted? right name? how long?"""
    trust, tls = host.trust, host.facts.tls
    if trust is None or tls is None:
        return Text("—")
    days = f", {tls.chain[0].days_left} d" if tls.chain else ""
    if trust.valid:
        return Text(f"valid{days}", style="green")
    return Text(", ".join(p.value for p in trust.problems) + days, style="yellow")


def findings_lines(findings: Sequence[Finding]) -> list[RenderableType]:
    """Findings grouped by code and message, so a problem shared by addresses reads once;
    each hint is shown once, under its first finding (hints name the domain or MX, so one
    code's hint can differ between MX hosts)."""
    groups: dict[tuple[str, Severity, str, bool], list[str]] = {}
    hints: dict[tuple[str, Severity, str, bool], str] = {}
    # Worst first; waived last: what needs doing comes before what is known and accepted.
    ordered = sorted(findings, key=lambda f: (f.waived, -SEVERITY_RANK[f.severity]))
    for f in ordered:
        groups.setdefault((f.code, f.severity, f.message, f.waived), []).append(str(f.subject))
        hints.setdefault((f.code, f.severity, f.message, f.waived), f.hint)
    shown: set[str] = set()
    if not groups:
        return []
    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=1, no_wrap=True)
    grid.add_column(ratio=1)
    for (code, severity, message, waived), subjects in groups.items():
        body = Text(f"{code} ", style="bold")
        if waived:
            body.append("(waived) ", style="italic")
        body.append(terminal_safe(", ".join(dict.fromkeys(subjects)), limit=400), style="dim")
        body.append("\n" + terminal_safe(message))
        if (hint := hints[code, severity, message, waived]) not in shown:
            shown.add(hint)
            body.append("\n→ " + hint, style="dim")
        mark = Text("-", style="dim") if waived else Text(_SEVERITY_MARK[severity])
        mark.stylize("" if waived else _SEVERITY_STYLE[severity])
        grid.add_row(mark, body)
    return [grid]
