"""Findings and verdicts: what the facts mean, and the owner's policy for judging them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    """How much a finding matters; ordered by `SEVERITY_RANK`."""

    INFO = "info"
    WARN = "warn"
    FAIL = "fail"


SEVERITY_RANK = {Severity.INFO: 0, Severity.WARN: 1, Severity.FAIL: 2}


class Verdict(StrEnum):
    """The judgement on one address or one domain."""

    # every MX upgrades to TLS >= 1.2 with a certificate valid for its name
    PASS = "pass"  # noqa: S105 - a verdict, not a password
    WARN = "warn"  # TLS works but is weak or unauthenticated
    FAIL = "fail"  # mail cannot be received over TLS
    INCONCLUSIVE = "inconclusive"  # could not be tested from here (timeouts, DNS unreachable)
    UNTESTED = "untested"  # deliberately not probed (e.g. no IPv6 route on this host)
    NO_MAIL = "no-mail"  # a null MX (RFC 7505): the domain accepts no mail at all


@dataclass(frozen=True, slots=True, kw_only=True)
class Subject:
    """What a finding is about: a domain or MX host, or one address and port of an MX."""

    host: str  # the MX host name; for domain-wide findings, the domain
    address: str | None = None
    port: int | None = None

    def __str__(self) -> str:
        if self.address is None:
            return self.host
        return f"{self.host} [{self.address}]:{self.port}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """A judgement with a stable code, for people (message, hint) and machines (code)."""

    code: str
    severity: Severity
    subject: Subject
    message: str
    hint: str
    evidence: str | None = None
    waived: bool = False  # matched an --allow waiver: still shown, never counted

    @property
    def host(self) -> str:
        """The MX host (or domain) the finding is about."""
        return self.subject.host


@dataclass(frozen=True, slots=True, kw_only=True)
class Waiver:
    """`--allow CODE[@HOST]`: a finding code accepted, everywhere or on one MX host."""

    code: str
    host: str | None = None

    def covers(self, finding: Finding) -> bool:
        return finding.code == self.code and self.host in (None, finding.host)


@dataclass(frozen=True, slots=True, kw_only=True)
class Policy:
    """What the domain owner demands; the defaults are the tool's default judgement."""

    fail_on: Severity = Severity.FAIL  # the severity that makes the run fail (exit 1)
    min_tls: str | None = None  # "1.2" or "1.3": a lower negotiated version is a failure
    require_valid_cert: bool = False  # certificate problems become failures
    cert_expiry_days: int = 14  # a valid certificate expiring sooner is a warning
    allow: tuple[Waiver, ...] = ()
    require_dane: bool = False
    require_mta_sts: bool = False
