"""What DNSSEC validation concludes about one answer, and the ways a walk ends early.

Shared by the walk (dns/dnssec.py), the judging of responses (dns/answers.py) and the
proofs (dns/signatures.py, dns/nsec.py, dns/nsec3.py). No queries, no dnspython.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..model.dns import DnssecStatus, DnsStatus

__all__ = ["DnssecStatus", "ValidatedAnswer", "ValidationEnd"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ValidatedAnswer:
    """One question's answer and what validation concluded about it."""

    status: DnssecStatus
    reason: str
    """One line: why, e.g. ``RRSIG for mx.example.test. A expired 2026-11-01 00:00:00 UTC``."""
    dns_status: DnsStatus | None = None
    """The answer's outcome; ``None`` when validation stopped before asking for it."""
    records: tuple[str, ...] = ()
    """The answer's records as text; empty unless SECURE or INSECURE."""
    cname_chain: tuple[str, ...] = ()
    """Aliases followed to reach the records."""


class ValidationEnd(Exception):
    """Ends validation early with a result."""

    def __init__(self, answer: ValidatedAnswer) -> None:
        super().__init__(answer.reason)
        self.answer = answer


class ProvenInsecure(Exception):
    """The walk met a proven-unsigned delegation: the answer is fetched, not validated."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UncheckedProof(ProvenInsecure):
    """A signed NSEC3 proof too costly to check (RFC 9276 §3.2): insecure, unless what it
    was asked for turns out not to need it."""


def bogus(reason: str, dns_status: DnsStatus | None = None) -> ValidationEnd:
    return ValidationEnd(
        ValidatedAnswer(status=DnssecStatus.BOGUS, reason=reason, dns_status=dns_status)
    )


def indeterminate(reason: str, dns_status: DnsStatus | None = None) -> ValidationEnd:
    answer = ValidatedAnswer(
        status=DnssecStatus.INDETERMINATE, reason=reason, dns_status=dns_status
    )
    return ValidationEnd(answer)


def with_chain(
    answer: ValidatedAnswer,
    *,
    chain: list[str],
    reason: str | None = None,
    dns_status: DnsStatus | None = None,
) -> ValidatedAnswer:
    """``answer`` with the aliases followed, and a reason or a DNS status if given."""
    return ValidatedAnswer(
        status=answer.status,
        reason=answer.reason if reason is None else reason,
        dns_status=answer.dns_status or dns_status,
        records=answer.records,
        cname_chain=tuple(chain),
    )


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:300]
