"""`--headers` as a table: one row per hop, oldest first, then the findings."""

from __future__ import annotations

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from ..model.sending import HeaderReport, Hop, HopTls
from ..model.session import tls_name
from .findings import findings_lines
from .terminal import render_to_text, safe
from .verdict_line import verdict_line

_TLS_STYLE = {HopTls.USED: "green", HopTls.NOT_USED: "bold red", HopTls.NOT_RECORDED: "dim"}


def tls_cell(hop: Hop) -> Text:
    """`TLSv1.3 TLS_AES_…`, `used`, `CLEAR TEXT` or `not recorded` (never read as clear)."""
    if hop.tls is HopTls.USED:
        version = tls_name(hop.tls_version) if hop.tls_version else None
        detail = " ".join(x for x in (version, hop.cipher) if x) or "used"
        return safe(detail, _TLS_STYLE[hop.tls], limit=80)
    if hop.tls is HopTls.NOT_USED:
        return Text("none (local)" if hop.local else "CLEAR TEXT", style=_TLS_STYLE[hop.tls])
    return Text("not recorded", style=_TLS_STYLE[hop.tls])


def render_headers(report: HeaderReport, *, color: bool, width: int = 100) -> str:
    parts: list[RenderableType] = [safe(f"{report.source}: {report.subject or ''}", "bold")]
    table = Table(box=None, pad_edge=False, collapse_padding=True, header_style="bold")
    for column in ("#", "From", "By", "With", "When (UTC)", "TLS", "Format"):
        table.add_column(column, overflow="fold", no_wrap=column in ("#", "When (UTC)"))
    for hop in report.hops:
        when = hop.received_at.strftime("%Y-%m-%d %H:%M:%S") if hop.received_at else "?"
        table.add_row(
            Text(str(hop.number)),
            safe(hop.from_host or "—", limit=80),
            safe(hop.by_host or "—", limit=80),
            safe(hop.protocol or "—", limit=40),
            Text(when),
            tls_cell(hop),
            Text(hop.format.value),
        )
    if report.hops:
        parts.append(table)
    parts += findings_lines(report.findings, domain="", verbose=True)
    parts.append(verdict_line(report.source, report.verdict, _sentence(report)))
    return render_to_text(parts, color=color, width=width)


def _sentence(report: HeaderReport) -> str:
    network = [h for h in report.hops if not h.local]
    clear = sum(h.tls is HopTls.NOT_USED for h in network)
    unknown = sum(h.tls is HopTls.NOT_RECORDED for h in network)
    if not report.hops:
        what = "not a mail message" if not report.header_fields else "no Received header"
        return f"{what}: nothing to judge"
    words = [_count(len(network), "network hop")]
    words.append(f"{clear} in clear text" if clear else "none recorded in clear text")
    if unknown:
        words.append(f"{unknown} not recorded")
    return ", ".join(words)


def _count(number: int, noun: str) -> str:
    """`1 network hop`, `2 network hops`: the nouns here all take a plain `s`."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
