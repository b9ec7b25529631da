"""Every check, in one explicit list each for addresses and for domains.

Order is the order findings are reported in: a session's dialogue before its TLS, TLS
before the certificate, the transport before the downgrade defences. To add a check,
write a pure function from a context (`checks/context.py`) to findings and list it here.
"""

from __future__ import annotations

from ..checks.capabilities import check_capabilities
from ..checks.certificate import check_certificate, check_expiry
from ..checks.context import DomainCheck, DomainContext, HostCheck
from ..checks.deep import check_deep, check_injection
from ..checks.mx import check_dns
from ..checks.policies import check_dane, check_policies
from ..checks.session import check_retries, check_session
from ..checks.tls_version import check_minimum_version
from ..model.findings import Finding

HOST_CHECKS: tuple[HostCheck, ...] = (
    check_retries,
    check_session,
    check_capabilities,
    check_minimum_version,
    check_certificate,
    check_expiry,
    check_injection,
    check_deep,
    check_dane,
)


def check_drift(domain: DomainContext) -> tuple[Finding, ...]:
    """Domain check: what changed since --baseline (loaded only when one is given)."""
    if domain.baseline is None:
        return ()
    from .baseline import check_drift as drift

    return drift(domain)


DOMAIN_CHECKS: tuple[DomainCheck, ...] = (
    check_dns,
    check_policies,
    check_drift,
)
