"""What a run hands to the judge: every fact gathered for one target, nothing judged yet.

The run (run/) fills these with I/O; `judge_domain` turns them into a report without any.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..dns.targets import ProbeTarget
from ..model.dns import DnsFacts, TlsaLookup, TxtLookup
from ..model.report import DmarcFallback, SpfWalk
from ..model.session import DeepProbe, SessionFacts, SessionOutcome
from ..policy.mta_sts import FetchResult


@dataclass(frozen=True, slots=True, kw_only=True)
class GatheredHost:
    """One address: its final session, the attempts before it, its deep probes."""

    target: ProbeTarget
    outcome: SessionOutcome
    earlier_attempts: tuple[SessionFacts, ...] = ()
    deep: tuple[DeepProbe, ...] = ()
    injection: DeepProbe | None = None  # the STARTTLS command injection probe
    tlsa: TlsaLookup | None = None
    reused_from: str | None = None  # the target whose session this was (bulk runs share them)


@dataclass(frozen=True, slots=True, kw_only=True)
class GatheredPolicies:
    """The domain's policy records as DNS and HTTPS gave them."""

    tlsa: tuple[TlsaLookup, ...]
    mta_sts: TxtLookup
    tls_rpt: TxtLookup
    spf: TxtLookup
    dmarc: TxtLookup
    fetch: FetchResult | None  # the MTA-STS policy fetch; None when none was announced
    spf_walk: SpfWalk | None = None  # SPF's includes followed; None without one SPF record
    dmarc_fallback: DmarcFallback | None = None  # only when the domain has no DMARC record
    dmarc_applied: str | None = None  # the `_dmarc` name whose record applies


@dataclass(frozen=True, slots=True, kw_only=True)
class GatheredDomain:
    """One target as asked: DNS, every address, and the domain's policy records."""

    text: str  # as the user wrote it
    key: str  # the canonical target in A-labels: what reports and baselines are keyed by
    name: str  # A-labels: the domain, host or address
    checked_at: datetime
    elapsed_ms: float
    dns: DnsFacts
    hosts: tuple[GatheredHost, ...]
    policies: GatheredPolicies | None = None  # None without policy checks
