"""`--postfix-config` as text: the settings judged, the files they name, the findings."""

from __future__ import annotations

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from ..model.sending import PemFileFacts, PostfixReport
from .findings import findings_lines
from .terminal import render_to_text, safe
from .verdict_line import verdict_line

_SHOWN = (
    "smtp_tls_security_level",
    "smtp_tls_CAfile",
    "smtp_dns_support_level",
    "smtp_tls_loglevel",
    "smtp_tls_mandatory_protocols",
    "smtpd_tls_security_level",
    "smtpd_tls_chain_files",
    "smtpd_tls_cert_file",
    "smtpd_tls_protocols",
)


def render_postfix(report: PostfixReport, *, color: bool, width: int = 100) -> str:
    settings = report.settings
    parts: list[RenderableType] = [
        safe(f"Postfix settings from {settings.path} ({settings.source})", "bold")
    ]
    table = Table(box=None, pad_edge=False, collapse_padding=True, header_style="bold")
    table.add_column("Setting", no_wrap=True)
    table.add_column("Value", overflow="fold")
    values = dict(settings.values)
    for name in _SHOWN:
        table.add_row(Text(name), safe(values.get(name, "") or "(not set)", limit=200))
    for facts in settings.files:
        table.add_row(Text(f"  {facts.setting}"), _file_cell(facts))
    parts.append(table)
    parts += findings_lines(report.findings, domain="", verbose=True)
    sentence = _count(len(report.findings), "finding") if report.findings else "nothing to report"
    parts.append(verdict_line(settings.path, report.verdict, sentence))
    return render_to_text(parts, color=color, width=width)


def _file_cell(facts: PemFileFacts) -> Text:
    if facts.error:
        return safe(f"{facts.path}: {facts.error}", "yellow", limit=300)
    return safe(f"{facts.path}: {_count(len(facts.certificates), 'certificate')}", limit=300)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
