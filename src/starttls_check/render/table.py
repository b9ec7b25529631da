"""The terminal report: one block per domain (its addresses, what each kind of sender does,
the findings, the verdict line) and, over many domains, a closing count of verdicts.

The table's columns and how they narrow are in columns.py, the findings in findings.py.

Every server-derived string goes through `terminal_safe` and into `rich.text.Text`, never
into a markup string, so a banner cannot clear the screen or inject `[bold]` markup.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Group, RenderableType
from rich.text import Text

from ..model.report import (
    Delivery,
    DomainReport,
    HostReport,
    PolicyUse,
    SenderOutcome,
    SenderOutcomes,
)
from ..model.session import ProbeKind, ProbeOutcome, tls_name
from .columns import fitting_level, hosts_table
from .findings import findings_lines
from .sanitize import terminal_safe
from .terminal import Hanging, render_to_text
from .verdicts import count_line, verdict_line


def render_table(
    reports: Sequence[DomainReport],
    *,
    color: bool,
    width: int = 100,
    transcript: bool = False,
    advisories: bool = True,
) -> str:
    """All domains, one after another, a blank line between, and with more than one a
    closing count of verdicts. `transcript` (`-v`): each domain's dialogues above its own
    table, and the advisories' hints; `advisories` false (`--no-advisories`): those
    findings are left out (the JSON keeps them)."""
    # One level of detail for every domain's table, so the columns read alike down the page.
    level = max((fitting_level(r.hosts, width) for r in reports if r.hosts), default=0)
    blocks: list[RenderableType] = []
    for index, report in enumerate(reports):
        blocks += [Text()] if index else []
        block = domain_block(
            report, width, transcript=transcript, advisories=advisories, level=level
        )
        blocks.append(block)
    if len(reports) > 1:
        blocks += [Text(), count_line(reports)]
    return render_to_text(blocks, color=color, width=width)


def domain_block(
    report: DomainReport,
    width: int = 100,
    *,
    transcript: bool = False,
    advisories: bool = True,
    level: int | None = None,
) -> RenderableType:
    """Title, (dialogues,) addresses, senders, deep probes, findings, the verdict line."""
    title = Text(terminal_safe(report.domain), style="bold")
    if report.ascii_domain != report.domain:
        title.append(f" ({terminal_safe(report.ascii_domain)})", style="dim")
    parts: list[RenderableType] = [title]
    if transcript:
        from .transcript import domain_transcript

        parts += [*domain_transcript(report), Text()]
    if report.hosts:
        parts.append(hosts_table(report.hosts, width, level))
    parts += senders_lines(report)
    parts += [deep_line(h) for h in report.hosts if h.deep]
    parts += findings_lines(
        report.all_findings(),
        domain=report.ascii_domain,
        advisories=advisories,
        verbose=transcript,
    )
    parts.append(Hanging(verdict_line(report)))
    return Group(*parts)


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


def senders_lines(report: DomainReport) -> list[Hanging]:
    """What an opportunistic, an MTA-STS and a DANE sender do (JSON has the details): one
    line per MX and outcome, its addresses together, indented where it wraps."""
    if not _policies_matter(report):
        return []
    addresses: dict[tuple[str, SenderOutcomes], list[str]] = {}
    for host in report.hosts:
        if host.senders is not None:
            addresses.setdefault((host.mx, host.senders), []).append(host.address)
    lines = []
    for (mx, senders), where in addresses.items():
        line = Text(f"{terminal_safe(mx)} [{terminal_safe(', '.join(where))}] senders: ")
        line.stylize("bold")
        line.append(
            terminal_safe(
                f"opportunistic {_sender_word(senders.opportunistic, '')} · "
                f"MTA-STS {_sender_word(senders.mta_sts, 'no policy')} · "
                f"DANE {_sender_word(senders.dane, 'no TLSA')}"
            )
        )
        lines.append(Hanging(line))
    return lines


def deep_line(host: HostReport) -> Hanging:
    """`--deep` at a glance: versions and cipher classes grouped by outcome, then the
    cipher order and injection probes in words."""
    groups: dict[ProbeOutcome, list[str]] = {}
    verdicts: list[str] = []
    probes = host.deep + ((host.injection,) if host.injection is not None else ())
    for probe in probes:
        if probe.kind in (ProbeKind.VERSION, ProbeKind.CIPHER):
            groups.setdefault(probe.outcome, []).append(tls_name(probe.name))
        else:
            verdicts.append(_DEEP_LABELS[probe.outcome])
    parts = [f"{_DEEP_LABELS[o]} {', '.join(names)}" for o, names in groups.items()]
    line = Text(f"{terminal_safe(host.mx)} [{terminal_safe(host.address)}]: ")
    line.stylize("bold")
    line.append(terminal_safe("; ".join(parts + verdicts), limit=1000))
    return Hanging(line)
