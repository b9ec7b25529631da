"""MTA-STS findings: the TXT record, the fetch, the policy file and whether every MX it
names takes mail as the policy demands (RFC 8461). Pure; parsing is in policy/mta_sts_txt.py
and policy/mta_sts.py."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

from ..model.catalogue import finding
from ..model.dns import DnsStatus
from ..model.findings import Finding, Severity
from ..policy.mta_sts import FetchResult, StsMode, StsPolicy, mx_matches, parse_policy
from ..policy.mta_sts_txt import StsTxt

_W, _F = Severity.WARN, Severity.FAIL
_EMPTY: Mapping[str, bool] = MappingProxyType({})


def check_mx_coverage(
    policy: StsPolicy,
    mx_hosts: Sequence[str],
    cert_valid_for: Mapping[str, bool],
    starttls_ok: Mapping[str, bool],
) -> tuple[Finding, ...]:
    """Every MX must match a pattern and, in enforce mode, offer STARTTLS with a certificate
    valid for its name (RFC 8461 §4.1, §4.2); failures in enforce mode, warnings in testing.

    The mappings are keyed by the names in `mx_hosts`; a host missing from one is unknown
    (not probed, inconclusive) and yields no finding. A host with several addresses is
    valid only if all of them were.
    """
    if policy.mode not in (StsMode.ENFORCE, StsMode.TESTING):
        return ()
    severity = _F if policy.mode is StsMode.ENFORCE else _W
    consequence = (
        "senders applying the policy will not deliver to it"
        if policy.mode is StsMode.ENFORCE
        else "senders would refuse it in enforce mode; in testing they deliver and report"
    )
    patterns = ", ".join(policy.mx) or "none"
    findings: list[Finding] = []
    for host in mx_hosts:
        if not any(mx_matches(p, host) for p in policy.mx):
            message = f"MX {host} matches no mx: pattern ({patterns}): {consequence}"
            findings.append(_finding("mta-sts.mx-not-covered", host, message, severity))
        elif starttls_ok.get(host) is False:
            message = f"MX {host} does not offer STARTTLS: {consequence}"
            findings.append(_finding("mta-sts.mx-no-starttls", host, message, severity))
        elif cert_valid_for.get(host) is False:
            message = f"MX {host} has no certificate valid for its name: {consequence}"
            findings.append(_finding("mta-sts.mx-invalid-cert", host, message, severity))
    return tuple(findings)


def txt_findings(
    domain: str, status: DnsStatus, txt: StsTxt, detail: str = ""
) -> tuple[Finding, ...]:
    """Findings for the `_mta-sts.<domain>` TXT lookup (`status`) and its records."""
    name = f"_mta-sts.{domain}"
    if status in (DnsStatus.NXDOMAIN, DnsStatus.NO_DATA):
        message = f"no MTA-STS: {name} has no TXT record"
        return (_finding("mta-sts.txt-missing", domain, message),)
    if status is not DnsStatus.OK:
        message = f"TXT lookup for {name} failed ({status})" + (f": {detail}" if detail else "")
        return (_finding("mta-sts.txt-lookup-failed", domain, message),)
    return tuple(_finding(p.code, domain, f"{name}: {p.message}") for p in txt.problems)


def fetch_finding(domain: str, fetch: FetchResult) -> Finding | None:
    """`mta-sts.policy-unavailable` when the fetch gave senders no policy, saying why."""
    if fetch.failure is None:
        return None
    message = f"policy {fetch.url} (from {fetch.address}): {fetch.failure}: {fetch.reason}"
    return _finding("mta-sts.policy-unavailable", domain, message)


def policy_findings(domain: str, policy: StsPolicy) -> tuple[Finding, ...]:
    """One finding per problem in the policy file."""
    return tuple(_finding(p.code, domain, p.message) for p in policy.problems)


def evaluate_mta_sts(
    domain: str,
    txt_status: DnsStatus,
    txt: StsTxt,
    fetch: FetchResult | None,
    *,
    mx_hosts: Sequence[str] = (),
    cert_valid_for: Mapping[str, bool] = _EMPTY,
    starttls_ok: Mapping[str, bool] = _EMPTY,
) -> tuple[Finding, ...]:
    """Everything above, in the order a sender meets it; `fetch` is None when not fetched.

    A sender that finds no valid TXT record, or cannot use the policy, applies none: then
    the MX hosts are not cross-checked. A policy body that arrived is linted even when the
    fetch failed on the certificate, so both fixes show at once.
    """
    findings = list(txt_findings(domain, txt_status, txt))
    if fetch is None or not txt.valid:
        return tuple(findings)
    if (unavailable := fetch_finding(domain, fetch)) is not None:
        findings.append(unavailable)
    if fetch.body is None:
        return tuple(findings)
    policy = parse_policy(fetch.body)
    findings += policy_findings(domain, policy)
    if unavailable is None and policy.valid:
        findings += check_mx_coverage(policy, mx_hosts, cert_valid_for, starttls_ok)
    return tuple(findings)


def _finding(code: str, subject: str, message: str, severity: Severity | None = None) -> Finding:
    return finding(code, subject, message, severity=severity)
