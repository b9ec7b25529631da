"""Findings about the served certificate chain, one per independent problem."""

from __future__ import annotations

from typing import assert_never

from ..judge.hints import finding
from ..model.findings import Finding
from ..model.session import CertificateInfo, CertProblem, TrustVerdict

_NOTE = "opportunistic senders still encrypt; senders that authenticate (MTA-STS) refuse it"


def evaluate_certificate(
    subject: str, verdict: TrustVerdict, chain: tuple[CertificateInfo, ...]
) -> tuple[Finding, ...]:
    """One finding per problem, each saying what a person needs to act on it."""
    return tuple(
        finding(
            f"cert.{problem.value}" if problem is not CertProblem.NO_CERTIFICATE else "cert.none",
            subject,
            _message(problem, verdict, chain),
        )
        for problem in verdict.problems
    )


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
    return f"{text}: {_NOTE}"


def _ago(days_left: int) -> str:
    return f"{-days_left} days ago" if days_left < 0 else "less than a day ago"
