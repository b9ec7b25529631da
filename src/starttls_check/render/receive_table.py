"""`--receive` as a table: one row per client, its ClientHello offer, then the findings."""

from __future__ import annotations

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from ..model.sending import ReceivedClient, ReceiveReport, listen_text
from ..model.session import tls_name
from .findings import findings_lines
from .terminal import render_to_text, safe
from .verdict_line import VERDICT_STYLE, verdict_line


def render_receive(
    report: ReceiveReport, *, color: bool, width: int = 100, verbose: bool = False
) -> str:
    """The table; with `verbose` (-v) each client's dialogue follows its offer."""
    title = f"receive mode on {report.listen}, certificate {report.certificate.value}"
    parts: list[RenderableType] = [safe(f"{title} ({report.certificate_subject})", "bold")]
    if report.clients:
        table = Table(box=None, pad_edge=False, collapse_padding=True, header_style="bold")
        for column in ("Client", "EHLO", "STARTTLS", "TLS", "Cipher", "Message", "Verdict"):
            table.add_column(column, overflow="fold", no_wrap=column in ("STARTTLS", "Verdict"))
        for client in report.clients:
            table.add_row(
                safe(listen_text(client.address, client.port)),  # the port tells clients apart
                safe(client.ehlo or "—", limit=60),
                Text("yes" if client.starttls else "no"),
                safe(tls_name(client.tls_version) if client.tls_version else "—"),
                safe(client.cipher or "—"),
                safe(_message_cell(client), limit=120),
                Text(client.verdict.value, style=VERDICT_STYLE[client.verdict]),
            )
        parts.append(table)
        parts += [_offer_line(c) for c in report.clients if c.client_hello is not None]
        if verbose:
            from .transcript import exchanges

            for client in report.clients:
                parts.append(safe(f"{_who(client)}:", "bold"))
                parts.append(exchanges(client.transcript))
    findings = report.findings + tuple(f for c in report.clients for f in c.findings)
    parts += findings_lines(findings, domain="", verbose=True)
    count = len(report.clients)
    sentence = f"{count} client{'s' if count != 1 else ''} in {report.elapsed_ms / 1000:.1f} s"
    parts.append(verdict_line(report.listen, report.verdict, sentence))
    return render_to_text(parts, color=color, width=width)


def _message_cell(client: ReceivedClient) -> str:
    parts = ["none"]
    if client.message_sent:
        way = "over TLS" if client.message_over_tls else "CLEAR TEXT"
        parts = [f"{client.message_size} B", way]
    if client.mail_from:
        parts.append(f"from {client.mail_from}")
    return ", ".join(parts)


def _offer_line(client: ReceivedClient) -> Text:
    offer = client.client_hello
    assert offer is not None
    line = safe(f"{_who(client)} offered: ", "bold")
    line.append_text(
        safe(
            f"versions {', '.join(map(tls_name, offer.versions))} · "
            f"{len(offer.cipher_suites)} cipher suites · "
            f"groups {', '.join(offer.groups[:6]) or '—'} · SNI {offer.server_name or '—'}",
            limit=1000,
        )
    )
    return line


def _who(client: ReceivedClient) -> str:
    return f"{listen_text(client.address, client.port)} (EHLO {client.ehlo or '-'})"
