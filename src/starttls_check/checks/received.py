"""What a message's path says: which hops were encrypted, judged hop by hop.

A hop recorded without TLS between two hosts is the open padlock mail clients show; one
inside a host (a content filter on loopback) is not on any network. A hop whose header
does not record TLS is reported as such, never as clear text.
"""

from __future__ import annotations

from ..model.catalogue import finding
from ..model.findings import Finding, Verdict
from ..model.sending import HeaderFormat, HeaderReport, Hop, HopTls
from ..model.session import DEPRECATED_TLS
from .outcome import verdict_of


def hop_findings(hop: Hop) -> tuple[Finding, ...]:
    """What one hop means."""
    subject = f"hop {hop.number}" + (f" (by {hop.by_host})" if hop.by_host else "")
    found: list[Finding] = []
    if hop.tls is HopTls.NOT_USED:
        code = "received.clear-text-local" if hop.local else "received.clear-text"
        where = f"from {hop.from_host} " if hop.from_host else ""
        found.append(finding(code, subject, f"{where}without TLS ({hop.protocol})"))
    elif hop.tls is HopTls.NOT_RECORDED and not hop.local:
        found.append(finding("received.not-recorded", subject, "TLS not recorded in the header"))
    if hop.tls_version in DEPRECATED_TLS:
        found.append(finding("received.old-tls", subject, f"used {hop.tls_version}"))
    if hop.format is HeaderFormat.UNKNOWN:
        found.append(finding("received.unknown-format", subject, "header format not recognised"))
    return tuple(found)


def judge_headers(
    source: str,
    subject: str | None,
    hops: tuple[Hop, ...],
    skipped: int,
    *,
    header_fields: int,
    bytes_read: int,
) -> HeaderReport:
    """The report for one message: every hop's findings, then the message's. Without a
    Received header there is no path to judge, and with local hops only no transfer over
    a network: inconclusive, as a receive run that no client reached, never a pass."""
    found = [f for hop in hops for f in hop_findings(hop)]
    network = any(not hop.local for hop in hops)  # local hops alone judge no transfer
    if not hops:
        found.append(finding("received.none", source, "no Received header found"))
        if not header_fields:
            found.append(finding("received.not-a-message", source, _not_a_message(bytes_read)))
    if skipped:
        headers = "header" if skipped == 1 else "headers"
        message = f"{skipped} oldest Received {headers} not analysed"
        found.append(finding("received.skipped", source, message))
    return HeaderReport(
        source=source,
        subject=subject,
        bytes_read=bytes_read,
        header_fields=header_fields,
        hops=hops,
        skipped=skipped,
        findings=tuple(found),
        verdict=verdict_of(found, floor=Verdict.PASS if network else Verdict.INCONCLUSIVE),
    )


def _not_a_message(bytes_read: int) -> str:
    if not bytes_read:
        return "the input is empty"
    return "the input does not begin with a message header (a `Name: value` line)"
