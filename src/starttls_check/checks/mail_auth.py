"""Mail authentication findings: TLS-RPT (RFC 8460), SPF (RFC 7208) and DMARC (RFC 7489).
Pure; the records are parsed in policy/mail_auth.py, and each problem becomes a finding
with its catalogue severity, except where the context below decides otherwise.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

from ..model.catalogue import finding
from ..model.dns import DnsStatus
from ..model.findings import Finding, Severity
from ..model.report import DmarcFallback, SpfWalk
from ..policy.dmarc import lint_dmarc, lint_inherited_dmarc
from ..policy.mail_auth import RecordProblem, lint_spf, lint_tls_rpt, spf_record
from ..policy.spf_walk import MAX_LOOKUPS, MAX_VOID, walk

_UNREPORTED = "; MTA-STS or DANE is in use, and its failures would go unreported"


def evaluate_tls_rpt(
    domain: str, txt: Sequence[str] | None, *, policy_in_use: bool
) -> list[Finding]:
    """Findings for the TXT records at `_smtp._tls.<domain>`. `policy_in_use` (MTA-STS or
    DANE published) makes a missing record a warning: failures then block delivery, and
    TLS-RPT reports are how the owner learns of them."""
    findings = _findings(domain, lint_tls_rpt(domain, txt))
    if not policy_in_use:
        return findings
    return [
        dataclasses.replace(f, severity=Severity.WARN, message=f.message + _UNREPORTED)
        if f.code == "tls-rpt.missing"
        else f
        for f in findings
    ]


def evaluate_spf(
    domain: str, txt: Sequence[str] | None, walk_facts: SpfWalk | None = None
) -> list[Finding]:
    """Findings for the TXT records at `<domain>` (RFC 7208). With the include walk's
    facts, the lookup limit is counted across includes instead of in this record alone."""
    problems = lint_spf(domain, txt)
    record = spf_record(txt)
    if walk_facts is not None and record is not None:
        problems = [p for p in problems if p.code != "spf.too-many-lookups"]
        problems += _walk_problems(domain, record, walk_facts)
    return _findings(domain, problems)


def _walk_problems(domain: str, record: str, facts: SpfWalk) -> list[RecordProblem]:
    answers = {(q.name, q.rdtype): q for q in facts.queries}
    result = walk(domain, record, answers)
    evidence = "\n".join(
        f"{q.name}: {r}" for q in facts.queries if q.rdtype == "TXT" for r in q.records
    )
    evidence = f"{domain}: {record}" + (f"\n{evidence}" if evidence else "")
    out: list[RecordProblem] = []
    if result.loop:
        message = (
            f"SPF include loop: {' → '.join(result.loop)}; receivers return permerror "
            f"when the loop passes {MAX_LOOKUPS} lookups (RFC 7208 §4.6.4)"
        )
        out.append(RecordProblem("spf.include-loop", message, evidence))
    elif result.over_limit:
        message = (
            f"SPF evaluation for {domain} needs more than {MAX_LOOKUPS} DNS lookups, the 11th "
            f"in the record of {result.over_limit[-1]} (via {' → '.join(result.over_limit)}): "
            "receivers return permerror (RFC 7208 §4.6.4)"
        )
        out.append(RecordProblem("spf.too-many-lookups", message, evidence))
    if result.missing:
        message = (
            f"SPF evaluation for {domain} reaches {', '.join(result.missing)}, which has no "
            "single SPF record: receivers return permerror (RFC 7208 §5.2, §6.1)"
        )
        out.append(RecordProblem("spf.include-missing", message, evidence))
    if len(result.void) > MAX_VOID:
        message = (
            f"SPF evaluation for {domain} makes {len(result.void)} void lookups "
            f"({', '.join(result.void)}), over the limit of {MAX_VOID}: receivers may "
            "return permerror (RFC 7208 §4.6.4)"
        )
        out.append(RecordProblem("spf.void-lookups", message, evidence))
    return out


def evaluate_dmarc(
    domain: str, txt: Sequence[str] | None, fallback: DmarcFallback | None = None
) -> list[Finding]:
    """Findings for the TXT records at `_dmarc.<domain>` (RFC 7489). With the facts of
    policy discovery (`fallback`), a domain without a record of its own is judged by its
    organisational domain's, as receivers do (§6.6.3)."""
    problems = lint_dmarc(domain, txt)
    if fallback is None or [p.code for p in problems] != ["dmarc.missing"]:
        return _findings(domain, problems)
    lookup, organisational = fallback.lookup, fallback.organisational_domain
    if fallback.unknown:  # not absent: unknown, and said so rather than guessed
        why = f"; whether its organisational domain's record applies is unknown: {fallback.reason}"
        return _findings(domain, [_amended(problems[0], why)])
    if lookup is None or organisational is None:
        return _findings(domain, problems)
    if lookup.status not in (DnsStatus.OK, DnsStatus.NO_DATA, DnsStatus.NXDOMAIN):
        why = f"; the organisational domain's record at {lookup.name} is unknown ({lookup.status})"
        return _findings(domain, [_amended(problems[0], why)])
    inherited = lint_inherited_dmarc(domain, organisational, lookup.records)
    if [p.code for p in inherited] == ["dmarc.missing"]:
        return _findings(domain, [_amended(problems[0], f", nor at {lookup.name}")])
    # The record's own problems are fixed at the organisational domain: hints name it.
    at_organisational = {"domain": organisational}
    return [
        finding(p.code, domain, p.message, evidence=p.evidence)
        if p.code == "dmarc.inherited"
        else finding(
            p.code,
            domain,
            p.message,
            evidence=p.evidence,
            values=at_organisational,
            case="inherited" if p.code == "dmarc.policy-none" else None,
        )
        for p in inherited
    ]


def _amended(problem: RecordProblem, more: str) -> RecordProblem:
    return problem._replace(message=problem.message + more)


def _findings(domain: str, problems: Iterable[RecordProblem]) -> list[Finding]:
    return [finding(p.code, domain, p.message, evidence=p.evidence) for p in problems]
