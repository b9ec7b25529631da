"""Findings about the protocol version: one verdict per fact, whichever session saw it.

The fact is the best version the server accepts. The core session offers everything up to
TLS 1.3, so the version it negotiates is that fact; `--deep` probes only confirm it, or
supply it when the core session never reached TLS. Judged once, the same way on both paths:
- deprecated versions only (RFC 8996): a warning, `tls.version-deprecated` from the core
  session, or `tls.no-modern-version` from the probes when the core session had no answer;
- a failure only when the owner asks for more: `--min-tls`, `tls.below-minimum`.
"""

from __future__ import annotations

from ..model.catalogue import finding
from ..model.findings import Finding, Policy, Subject
from ..model.session import (
    DEPRECATED_TLS,
    TLS_VERSIONS,
    DeepProbe,
    ProbeKind,
    ProbeOutcome,
    TlsResult,
    tls_name,
)
from .context import HostContext

TLS_ORDER = {version: rank for rank, version in enumerate(TLS_VERSIONS)}
_MINIMUM = {"1.2": "TLSv1.2", "1.3": "TLSv1.3"}


def check_minimum_version(host: HostContext) -> list[Finding]:
    """Host check: `--min-tls`, against the best version the server accepts."""
    version = best_version(host.facts.tls, host.deep)
    return tls_minimum_findings(host.subject, version, host.policy)


def best_version(core: TlsResult | None, deep: tuple[DeepProbe, ...]) -> str | None:
    """What the core session negotiated; without one, the newest a deep probe got."""
    if core is not None:
        return core.version
    accepted = [
        p.name
        for p in deep
        if p.kind is ProbeKind.VERSION
        and p.outcome is ProbeOutcome.ACCEPTED
        and p.name in TLS_ORDER
    ]
    return max(accepted, key=TLS_ORDER.__getitem__, default=None)


def legacy_only(version: str | None) -> bool:
    """The core session's version proves the server accepts nothing newer than TLS 1.1."""
    return version in DEPRECATED_TLS


def deprecated_version_findings(subject: Subject, tls: TlsResult | None) -> list[Finding]:
    """`tls.version-deprecated`: the core session, offered up to TLS 1.3, got TLS 1.1 or less."""
    if tls is None or not legacy_only(tls.version):
        return []
    message = f"TLS upgrade succeeded with {tls_name(tls.version)} (deprecated)"
    return [finding("tls.version-deprecated", subject, message)]


def tls_minimum_findings(subject: Subject, version: str | None, policy: Policy) -> list[Finding]:
    """`tls.below-minimum` when a version was negotiated below `--min-tls`."""
    if version is None or policy.min_tls is None:
        return []
    wanted = _MINIMUM[policy.min_tls]
    if TLS_ORDER.get(version, -1) >= TLS_ORDER[wanted]:
        return []
    message = f"negotiated {tls_name(version)}, below the policy's minimum {wanted}"
    return [finding("tls.below-minimum", subject, message)]
