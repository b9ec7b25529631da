"""The `--transcript` view: every SMTP dialogue as it happened, like swaks or posttls-finger.

Per address: a header, each transcript line with its time (`->` sent, `<-` received,
exactly as it arrived, `**` an event), earlier attempts first when a 4xx reply made us
retry, then the chain as served and the trust verdict. All server text goes through
`terminal_safe` into `rich.text.Text`, never into a markup string, so a banner cannot act
on the terminal.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from ..model.report import DomainReport, HostReport
from ..model.session import (
    CertificateInfo,
    Direction,
    Exchange,
    SessionFacts,
    TlsResult,
    TrustVerdict,
    tls_name,
)
from .sanitize import terminal_safe
from .terminal import render_to_text
from .terminal import safe as escaped

_ARROW = {Direction.SENT: "->", Direction.RECEIVED: "<-", Direction.EVENT: "**"}
_STYLE = {Direction.SENT: "cyan", Direction.RECEIVED: "green", Direction.EVENT: "yellow"}
SANS_SHOWN = 4  # subjectAltNames listed per certificate; the rest are counted
# A probe's received line is recorded whole (at most 2048 bytes, the reader's hard limit;
# the receive mode keeps 512 bytes of each); escaping can make it four times longer, and
# this cap is met only by a line of escapes.
LINE_LIMIT = 4 * 2048 + 16


def safe(text: str, style: str = "") -> Text:
    """As `terminal.safe`, with room for a whole recorded line."""
    return escaped(text, style, LINE_LIMIT)


def render_transcript(reports: Sequence[DomainReport], *, color: bool, width: int = 100) -> str:
    """Every address of every domain: the whole dialogue, the chain, the verdict."""
    parts: list[RenderableType] = []
    for index, report in enumerate(reports):
        parts += [Text()] if index else []
        parts.append(safe(report.ascii_domain, "bold"))
        parts += domain_transcript(report)
    return render_to_text(parts, color=color, width=width)


def domain_transcript(report: DomainReport) -> list[RenderableType]:
    """One domain's dialogues, each after a blank line (the table puts them above its own
    rows, so that with many domains each transcript sits beside its table)."""
    if not report.hosts:
        return [Text("no address was probed", style="dim")]
    return [part for host in report.hosts for part in (Text(), *host_block(host))]


def host_block(host: HostReport) -> list[RenderableType]:
    """The header, each attempt's dialogue (earlier ones labelled), chain and verdict."""
    header = f"=== {host.mx} [{host.address}]:{host.port} (pref {host.preference}) ==="
    parts: list[RenderableType] = [safe(header, "bold")]
    attempts = (*host.earlier_attempts, host.facts)
    for number, facts in enumerate(attempts, 1):
        if len(attempts) > 1:
            outcome = "final" if number == len(attempts) else "temporary failure, retried"
            label = f"--- attempt {number} of {len(attempts)} ({outcome}) ---"
            parts.append(Text(label, style="bold dim"))
        parts.append(dialogue(facts))
    if host.facts.tls is not None:
        parts.append(tls_summary(host.facts.tls, host.trust))
    return parts


def dialogue(facts: SessionFacts) -> RenderableType:
    """One line per exchange; wrapped text stays indented under its own column."""
    rows = [(f"{e.at_ms:7.1f} ms", e.direction, e.text) for e in facts.transcript]
    if not rows:
        rows.append(("", Direction.EVENT, "(no transcript recorded)"))
        if (error := facts.error) is not None:
            rows.append(("", Direction.EVENT, f"{error.phase}: {error.kind}: {error.detail}"))
    if facts.injected_plaintext is not None:
        rows.append(("", Direction.EVENT, f"bytes discarded: {facts.injected_plaintext}"))
    return _grid(rows)


def exchanges(transcript: Sequence[Exchange]) -> RenderableType:
    """A transcript on its own (the receive mode's), as `dialogue` shows a session's."""
    rows = [(f"{e.at_ms:7.1f} ms", e.direction, e.text) for e in transcript]
    return _grid(rows or [("", Direction.EVENT, "(no transcript recorded)")])


def _grid(rows: Sequence[tuple[str, Direction, str]]) -> RenderableType:
    grid = Table.grid()
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    for at, direction, text in rows:
        prefix = Text(f"{at:>10}  ", style="dim")
        prefix.append(_ARROW[direction], style=_STYLE[direction])
        grid.add_row(prefix.append(" "), safe(text, _STYLE[direction]))
    return grid


def tls_summary(tls: TlsResult, trust: TrustVerdict | None) -> RenderableType:
    """The negotiated session, each served certificate, then the offline trust verdict."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    bits = f" ({tls.cipher_bits} bits)" if tls.cipher_bits else ""
    grid.add_row(
        Text("  TLS"),
        safe(f"{tls_name(tls.version)}, {tls.cipher}{bits}, handshake {tls.handshake_ms:.1f} ms"),
    )
    plural = "" if len(tls.chain) == 1 else "s"
    grid.add_row(Text("  chain"), Text(f"{len(tls.chain)} certificate{plural}, as served"))
    for depth, cert in enumerate(tls.chain):
        for label, value in certificate_rows(cert):
            grid.add_row(Text(f"    {label}" if label else f"  depth {depth}"), value)
    if trust is not None:
        grid.add_row(Text("  trust"), verdict_text(trust))
        if trust.trusted_path:
            grid.add_row(Text("    path"), safe(" → ".join(trust.trusted_path)))
    return grid


def certificate_rows(cert: CertificateInfo) -> list[tuple[str, Text]]:
    """Subject (under the depth label), issuer, names, validity, key, fingerprint."""
    names = (*cert.san_dns, *cert.san_ip)
    shown = ", ".join(names[:SANS_SHOWN]) or "(none)"
    if len(names) > SANS_SHOWN:
        shown += f" (+{len(names) - SANS_SHOWN} more)"
    days = cert.days_left
    if days > 0:
        left = f"{days} days left"
    else:
        left = f"expired {-days} days ago" if days < 0 else "ends or ended within a day"
    signature = f"{cert.signature_hash or 'unknown'} ({cert.signature_algorithm})"
    return [
        ("", safe(cert.subject, "bold")),
        ("issuer", safe(cert.issuer)),
        ("names", safe(shown)),
        ("valid", safe(f"{cert.not_before:%Y-%m-%d} to {cert.not_after:%Y-%m-%d} ({left})")),
        ("key", safe(f"{cert.key_type}, {cert.key_bits} bits; signature {signature}")),
        ("sha256", safe(cert.sha256_fingerprint)),
    ]


def verdict_text(trust: TrustVerdict) -> Text:
    """`valid for NAME` or `NOT valid for NAME: expired, name-mismatch`, and the detail."""
    if trust.valid:
        text = Text(f"valid for {terminal_safe(trust.checked_name)}", style="green")
    else:
        problems = ", ".join(p.value for p in trust.problems)
        text = Text(
            f"NOT valid for {terminal_safe(trust.checked_name)}: {problems}", style="yellow"
        )
    if trust.detail:
        text.append(f" ({terminal_safe(trust.detail)})", style="dim")
    return text
