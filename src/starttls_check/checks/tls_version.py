"""Findings about the negotiated TLS version, measured against the owner's policy."""

from __future__ import annotations

from ..model.catalogue import finding
from ..model.findings import Finding, Policy, Subject
from ..model.session import TLS_VERSIONS
from .context import HostContext

TLS_ORDER = {version: rank for rank, version in enumerate(TLS_VERSIONS)}
_MINIMUM = {"1.2": "TLSv1.2", "1.3": "TLSv1.3"}


def check_minimum_version(host: HostContext) -> list[Finding]:
    """Host check: `--min-tls`."""
    tls = host.facts.tls
    return tls_minimum_findings(host.subject, tls.version if tls else None, host.policy)


def tls_minimum_findings(subject: Subject, version: str | None, policy: Policy) -> list[Finding]:
    """`tls.below-minimum` when a version was negotiated below `--min-tls`."""
    if version is None or policy.min_tls is None:
        return []
    wanted = _MINIMUM[policy.min_tls]
    if TLS_ORDER.get(version, -1) >= TLS_ORDER[wanted]:
        return []
    message = f"negotiated {version}, below the policy's minimum {wanted}"
    return [finding("tls.below-minimum", subject, message)]
