"""One sentence per domain saying why it got its verdict, from the findings that counted.

Never claims more than the findings show: a waived 'STARTTLS not offered' is a pass of the
policy, not encrypted mail; a policy failure with TLS working is not 'clear text'.
"""

from __future__ import annotations

from ..judge.counting import counts, is_advisory
from ..model.findings import Finding, Severity, Verdict
from ..model.report import DomainReport

_CLEAR_TEXT = ("starttls.", "connect.", "smtp.", "tls.handshake-failed", "tls.ehlo-failed")
_NO_ROUTE = ("dns.", "mx.")


def verdict_sentence(report: DomainReport) -> str:
    """Why `report.verdict`, in words a mail administrator would use."""
    counted = [f for f in report.all_findings() if counts(f)]
    waived = sum(1 for f in report.all_findings() if f.waived)
    where = "this host" if _direct(report) else "this domain"
    if report.dns is not None and report.dns.null_mx:
        return "accepts no mail (null MX, RFC 7505): nothing to encrypt"
    sentence = _by_verdict(report, counted, where)
    if report.verdict is Verdict.WARN and report.policy.fail_on is Severity.WARN:
        sentence += "; fails the run (fail_on = warn)"
    if waived:
        sentence += f" ({waived} finding{'s' if waived > 1 else ''} waived)"
    return sentence


def _by_verdict(report: DomainReport, counted: list[Finding], where: str) -> str:
    codes = sorted({f.code for f in counted if f.severity is not Severity.INFO})
    if report.verdict is Verdict.PASS:
        if any(f.waived and not is_advisory(f) for f in report.all_findings()):
            return "passes the policy, thanks to waivers"
        return f"mail to {where} travels encrypted, to certificates valid for each MX"
    if report.verdict is Verdict.INCONCLUSIVE:
        blocked = any(c == "connect.timeout" for c in codes)
        return "could not be tested from here" + (
            " (every connection timed out: outbound port 25 may be blocked)" if blocked else ""
        )
    if report.verdict is Verdict.WARN:
        if any(c.startswith(("cert.", "tls.", "cipher.")) for c in codes):
            why = "mail travels encrypted, but TLS is weak or not authenticated somewhere"
            return f"{why} ({_listed(codes)})"  # the causes: --deep may have added some
        return "works, with warnings: " + _listed(codes)
    failing = sorted({f.code for f in counted if f.severity is Severity.FAIL})
    if any(c.startswith(_NO_ROUTE) for c in failing):
        return "DNS does not lead to a working mail server: " + ", ".join(failing)
    if any(c.startswith(_CLEAR_TEXT) for c in failing):
        return f"mail to {where} can travel in clear text, or not at all"
    if failing:
        return "TLS works, but the policy fails it: " + ", ".join(failing)
    return "fails under the policy: " + ", ".join(codes)


def _listed(codes: list[str], shown: int = 4) -> str:
    more = len(codes) - shown
    return ", ".join(codes[:shown]) + (f" and {more} more" if more > 0 else "")


def _direct(report: DomainReport) -> bool:
    return report.ascii_domain.startswith("[")
