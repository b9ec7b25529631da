"""Findings about the served certificate chain, one per independent problem."""

from __future__ import annotations

from typing import assert_never

from ..model.catalogue import finding
from ..model.findings import Finding, Policy, Severity, Subject
from ..model.report import StsMode
from ..model.session import CertificateInfo, CertProblem, TrustVerdict
from .context import HostContext

_NOTE = "opportunistic senders still encrypt; senders that authenticate (MTA-STS) refuse it"
_MOOT = (
    "DANE-EE authenticates this MX, so DANE senders ignore the certificate's names and dates"
    " (RFC 7671 §5.1), and no MTA-STS policy asks other senders to check them"
)


def check_certificate(host: HostContext) -> tuple[Finding, ...]:
    """Host check: the served chain, judged offline (`host.trust`).

    Where a DNSSEC-secure DANE-EE record matches the served key and the domain publishes no
    MTA-STS policy, no sender that authenticates looks at the certificate itself: its
    problems are facts worth knowing, not weaknesses (information).
    """
    if host.trust is None or host.facts.tls is None:
        return ()
    chain = host.facts.tls.chain
    if not (_dane_ee_authenticates(host) and not _mta_sts_applies(host)):
        return evaluate_certificate(host.subject, host.trust, chain)
    return tuple(
        finding(_code(problem), host.subject, f"{text}: {_MOOT}", severity=Severity.INFO)
        for problem, text in _problems(host.trust, chain)
    )


def _dane_ee_authenticates(host: HostContext) -> bool:
    dane = host.dane
    return (
        dane is not None
        and dane.authenticated
        and any(m.record.split(" ", 1)[0] == "3" for m in dane.matches)
    )


def _mta_sts_applies(host: HostContext) -> bool:
    mta = host.mta_sts
    return mta is None or mta.mode in (StsMode.ENFORCE, StsMode.TESTING)  # None: unknown


def check_expiry(host: HostContext) -> list[Finding]:
    """Host check: a valid certificate close to its end (`--cert-expiry-days`)."""
    if host.trust is None or host.facts.tls is None:
        return []
    return expiry_findings(host.subject, host.facts.tls.chain, host.trust, host.policy)


def expiry_findings(
    subject: Subject, chain: tuple[CertificateInfo, ...], trust: TrustVerdict, policy: Policy
) -> list[Finding]:
    """`cert.expiring-soon` for a leaf still valid but within `cert_expiry_days` of its end."""
    unknowable = ("expired", "not-yet-valid", "no-certificate", "unparseable")
    if not chain or any(p.value in unknowable for p in trust.problems):
        return []
    leaf = chain[0]
    if leaf.days_left >= policy.cert_expiry_days:
        return []
    message = (
        f"certificate expires on {leaf.not_after:%Y-%m-%d %H:%M} UTC, in {leaf.days_left} days"
        f" (policy: warn within {policy.cert_expiry_days} days)"
    )
    return [finding("cert.expiring-soon", subject, message)]


def evaluate_certificate(
    subject: Subject, verdict: TrustVerdict, chain: tuple[CertificateInfo, ...]
) -> tuple[Finding, ...]:
    """One finding per problem, each saying what a person needs to act on it."""
    return tuple(
        finding(_code(problem), subject, text if bare else f"{text}: {_NOTE}")
        for problem, text, bare in (
            (p, _message(p, verdict, chain), _is_bare(p, chain)) for p in verdict.problems
        )
    )


def _code(problem: CertProblem) -> str:
    return f"cert.{problem.value}" if problem is not CertProblem.NO_CERTIFICATE else "cert.none"


def _problems(
    verdict: TrustVerdict, chain: tuple[CertificateInfo, ...]
) -> list[tuple[CertProblem, str]]:
    return [(p, _message(p, verdict, chain)) for p in verdict.problems]


def _is_bare(problem: CertProblem, chain: tuple[CertificateInfo, ...]) -> bool:
    """Messages that are the verdict's own detail carry no note on what senders do."""
    return not chain or problem in (CertProblem.NO_CERTIFICATE, CertProblem.UNPARSEABLE)


def _message(
    problem: CertProblem, verdict: TrustVerdict, chain: tuple[CertificateInfo, ...]
) -> str:
    leaf = chain[0] if chain else None
    name = verdict.checked_name
    if leaf is None or problem is CertProblem.NO_CERTIFICATE:
        return verdict.detail
    match problem:
        case CertProblem.EXPIRED:
            expired = next((c for c in chain if c.days_left < 0), leaf)
            which = "certificate" if expired is leaf else f"chain certificate {expired.subject}"
            text = f"{which} expired on {expired.not_after:%Y-%m-%d} ({_ago(expired.days_left)})"
        case CertProblem.NOT_YET_VALID:
            text = f"certificate is not valid before {leaf.not_before:%Y-%m-%d %H:%M} UTC"
        case CertProblem.NAME_MISMATCH:
            names = ", ".join(leaf.san_dns[:6]) or leaf.subject
            text = f"certificate is for {names}, not {name}"
        case CertProblem.WEAK_KEY:
            text = f"weak key in the chain (leaf: {leaf.key_type} {leaf.key_bits} bits)"
        case CertProblem.SHA1_SIGNATURE:
            text = "the chain is signed with SHA-1 or MD5"
        case (
            CertProblem.SELF_SIGNED
            | CertProblem.UNTRUSTED
            | CertProblem.INCOMPLETE_CHAIN
            | CertProblem.BAD_SIGNATURE
            | CertProblem.CONSTRAINT_VIOLATION
        ):
            text = verdict.detail
        case CertProblem.WRONG_PURPOSE:
            text = "the certificate's extendedKeyUsage does not allow TLS servers (serverAuth)"
        case CertProblem.NO_CERTIFICATE | CertProblem.UNPARSEABLE:
            return verdict.detail
        case _:
            assert_never(problem)
    return text


def _ago(days_left: int) -> str:
    return f"{-days_left} days ago" if days_left < 0 else "less than a day ago"
