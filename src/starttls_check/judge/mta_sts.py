"""The MTA-STS facts a sender acts on, derived from the gathered TXT record and fetch: the
policy host's certificate judged as senders judge it (RFC 8461 §3.3), then the policy read.
Pure: the trust store and the clock are the run's."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from ..model.dns import TxtLookup
from ..model.report import FetchFailure, MtaStsFacts, PolicyFetch
from ..policy.mta_sts import FetchResult, authenticates, parse_policy
from ..tls.certs import TrustStore
from ..tls.chain_judgement import judge_chain


def judge_fetch(fetch: FetchResult, store: TrustStore, now: datetime) -> FetchResult:
    """The fetch with its served chain judged for the policy host. A certificate senders
    refuse is reported in preference to any HTTP failure, because a sender stops there."""
    if not fetch.chain_der:
        return fetch
    trust = judge_chain(fetch.chain_der, fetch.host, store, now)
    if authenticates(trust):
        return dataclasses.replace(fetch, trust=trust)
    problems = ", ".join(p.value for p in trust.problems)
    reason = f"certificate not valid for {fetch.host}: {problems} ({trust.detail})"
    return dataclasses.replace(fetch, trust=trust, failure=FetchFailure.CERTIFICATE, reason=reason)


def mta_sts_facts(domain: str, txt: TxtLookup, fetch: FetchResult | None) -> MtaStsFacts:
    """What senders get: the policy's mode and MX patterns only when they get the policy."""
    policy = (
        parse_policy(fetch.body)
        if fetch is not None and fetch.body is not None and fetch.failure is None
        else None
    )
    usable = policy is not None and policy.valid
    return MtaStsFacts(
        txt=txt,
        policy_host=f"mta-sts.{domain}",
        fetch=_report(fetch) if fetch is not None else None,
        policy_text=fetch.body if fetch is not None else None,
        mode=policy.mode if policy is not None and usable else None,
        mx_patterns=tuple(policy.mx) if policy is not None else (),
    )


def _report(fetch: FetchResult) -> PolicyFetch:
    return PolicyFetch(
        url=fetch.url,
        address=fetch.address,
        port=fetch.port,
        failure=fetch.failure,
        reason=fetch.reason,
        status=fetch.status,
        content_type=fetch.content_type,
        tls_version=fetch.tls_version,
        certificate=fetch.trust,
        elapsed_ms=fetch.elapsed_ms,
    )
