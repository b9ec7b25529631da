"""Whether a finding counts: the one rule the verdicts, the gate and every output format
share, so that a finding shown as a failure is one that fails the run, and back."""

from __future__ import annotations

from ..model.findings import SEVERITY_RANK, Finding, Severity

# Shown with their severity but not part of the transport verdict: they are the domain's
# anti-spoofing measures, beside (not part of) whether mail travels encrypted.
ADVISORY_PREFIXES = ("spf.", "dmarc.", "tls-rpt.")
# Publishing no MTA-STS at all is a recommendation too; a broken policy is not (senders act
# on it), and neither is `--require-mta-sts` failing.
ADVISORY_CODES = frozenset({"mta-sts.txt-missing"})


def is_advisory(finding: Finding) -> bool:
    """SPF, DMARC, TLS-RPT and no MTA-STS: reported, never part of whether mail travels
    encrypted."""
    return finding.code.startswith(ADVISORY_PREFIXES) or finding.code in ADVISORY_CODES


def counts(finding: Finding) -> bool:
    """Whether the finding weighs on a verdict: not waived (`--allow`), not advisory."""
    return not finding.waived and not is_advisory(finding)


def fails_run(finding: Finding, fail_on: Severity) -> bool:
    """Whether the finding, on its own, fails the run under `fail_on` (`--fail-on`)."""
    return counts(finding) and SEVERITY_RANK[finding.severity] >= SEVERITY_RANK[fail_on]
