"""starttls-check: does mail sent to a domain travel encrypted?

    from starttls_check import CheckSettings, Nameserver, check_domain
    report = check_domain("example.com", CheckSettings(nameservers=(Nameserver(host="127.0.0.1"),)))
    print(report.verdict, [f.code for f in report.all_findings()])

The names below are imported on first use, so that `starttls-check --help` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "CheckSettings": "run.check",
    "check_domain": "run.check",
    "check_domain_async": "run.check",
    "check_domains_async": "run.check",
    "check_stream": "run.bulk",
    "BulkSettings": "run.bulk",
    "Nameserver": "model.settings",
    "Timeouts": "model.settings",
    "DomainReport": "model.report",
    "HostReport": "model.report",
    "Finding": "model.findings",
    "Severity": "model.findings",
    "Verdict": "model.findings",
}
__all__ = [
    "BulkSettings",
    "CheckSettings",
    "DomainReport",
    "Finding",
    "HostReport",
    "Nameserver",
    "Severity",
    "Timeouts",
    "Verdict",
    "__version__",
    "check_domain",
    "check_domain_async",
    "check_domains_async",
    "check_stream",
]

if TYPE_CHECKING:
    from .model.findings import Finding, Severity, Verdict
    from .model.report import DomainReport, HostReport
    from .model.settings import Nameserver, Timeouts
    from .run.bulk import BulkSettings, check_stream
    from .run.check import CheckSettings, check_domain, check_domain_async, check_domains_async


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'starttls_check' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f".{module}", __name__), name)
