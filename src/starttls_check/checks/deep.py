"""Findings from the `--deep` probes: versions and ciphers accepted, cipher order,
STARTTLS command injection."""

from __future__ import annotations

from ..model.catalogue import finding
from ..model.findings import Finding, Severity, Subject
from ..model.session import DeepProbe, ProbeKind, ProbeOutcome, tls_name
from .context import HostContext
from .tls_version import legacy_only

_LEGACY_VERSIONS = {"TLSv1": "tls.accepts-tls1-0", "TLSv1.1": "tls.accepts-tls1-1"}
_MODERN_VERSIONS = ("TLSv1.2", "TLSv1.3")
_CIPHER_CODES = {
    "static-rsa": "cipher.static-rsa",
    "3des": "cipher.3des",
    "anonymous": "cipher.anonymous",
    "null": "cipher.null",
    "rc4": "cipher.rc4",
    "export": "cipher.export",
}


def check_deep(host: HostContext) -> list[Finding]:
    """Host check: what the `--deep` probes found."""
    tls = host.facts.tls
    return evaluate_deep(host.subject, host.deep, core_version=tls.version if tls else None)


def check_injection(host: HostContext) -> list[Finding]:
    """Host check: a server that answers a command pipelined with STARTTLS inside TLS lets
    an attacker on the path inject commands into the encrypted session (CVE-2011-0411)."""
    probe = host.injection
    if probe is None or probe.outcome is not ProbeOutcome.ANSWERED:
        return []
    return [
        finding(
            "starttls.command-injection",
            host.subject,
            probe.detail,
            evidence=probe.detail,
            severity=Severity.FAIL,
        )
    ]


def evaluate_deep(
    subject: Subject, probes: tuple[DeepProbe, ...], *, core_version: str | None = None
) -> list[Finding]:
    """One finding per weakness accepted, plus what could not be tested.

    A probe adds facts; it never judges again what the core session (which negotiated
    `core_version`) already proved, so the verdict is the same with and without `--deep`.
    """
    if not probes:
        return []
    by_name = {p.name: p for p in probes}
    findings: list[Finding] = []
    for version, code in _LEGACY_VERSIONS.items():
        probe = by_name.get(version)
        if probe is not None and probe.outcome is ProbeOutcome.ACCEPTED:
            findings.append(finding(code, subject, f"accepts {tls_name(version)} ({probe.detail})"))
    modern = [by_name[v] for v in _MODERN_VERSIONS if v in by_name]
    # With a legacy core session, "nothing newer than TLS 1.1" is tls.version-deprecated's
    # fact already (see tls_version.py): the probes only confirm it.
    if (
        modern
        and all(p.outcome is ProbeOutcome.REFUSED for p in modern)
        and not legacy_only(core_version)
    ):
        message = "accepts neither TLS 1.2 nor TLS 1.3"
        findings.append(finding("tls.no-modern-version", subject, message))
    findings += [
        finding(_CIPHER_CODES[p.name], subject, f"accepts {p.name} ciphers ({p.detail})")
        for p in probes
        if p.kind is ProbeKind.CIPHER and p.outcome is ProbeOutcome.ACCEPTED
    ]
    order = by_name.get("server-order")
    if order is not None and order.outcome is ProbeOutcome.CLIENT_ORDER:
        message = f"follows the client's cipher order ({order.detail})"
        findings.append(finding("cipher.client-order", subject, message))
    untestable = [p.name for p in probes if p.outcome is ProbeOutcome.UNTESTABLE]
    if untestable:
        message = "not testable with this OpenSSL: " + ", ".join(untestable)
        findings.append(finding("deep.untestable", subject, message))
    return findings
