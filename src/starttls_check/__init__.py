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
    "CheckSettings": "check",
    "check_domain": "check",
    "check_domain_async": "check",
    "check_domains_async": "check",
    "Nameserver": "dnsclient",
    "DomainReport": "model",
    "HostReport": "model",
    "Finding": "model",
    "Severity": "model",
    "Verdict": "model",
}
__all__ = [
    "CheckSettings",
    "DomainReport",
    "Finding",
    "HostReport",
    "Nameserver",
    "Severity",
    "Verdict",
    "__version__",
    "check_domain",
    "check_domain_async",
    "check_domains_async",
]

if TYPE_CHECKING:
    from .check import CheckSettings, check_domain, check_domain_async, check_domains_async
    from .dnsclient import Nameserver
    from .model import DomainReport, Finding, HostReport, Severity, Verdict


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'starttls_check' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f".{module}", __name__), name)
