"""The gather steps of one target, in one explicit list: what each fetches and what it waits
for. `gather_all` starts every step as soon as the steps it needs are done, so work that
waits on nothing runs at once: the TXT records beside the MX lookup, the TLSA records, the
MTA-STS fetch and the SPF walk beside the sessions.

The judging side is judge/registry.py (HOST_CHECKS, DOMAIN_CHECKS): steps gather facts
with I/O, checks turn facts into findings without any. To add a fact, write a step here
and list it in GATHER_STEPS; its result reaches the judge through `GatheredDomain`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from ..dns.targets import ProbeTarget, Target, probe_targets
from ..judge.gathered import GatheredHost
from ..model.dns import DnsFacts, TlsaLookup
from ..policy.gather import (
    PolicyEnvironment,
    gather_dmarc_fallback,
    gather_mta_sts,
    gather_spf_walk,
    gather_tlsa,
    gather_txt,
)


class Gatherer(Protocol):
    """What the steps ask of the run (run/check.py's `_Run`, or a bulk run's)."""

    async def resolve(self, target: Target, name: str) -> DnsFacts: ...

    async def probe(
        self, target: ProbeTarget, checked_at: datetime, tlsa: TlsaLookup | None = None
    ) -> GatheredHost: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Job:
    """One target being gathered: what every step may read."""

    target: Target
    name: str  # A-labels
    port: int
    checked_at: datetime
    env: PolicyEnvironment | None  # None: no policy checks for this target


Done = Mapping[str, Any]  # step name -> its result, for the steps it needs
Step = Callable[[Gatherer, Job, Done], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class GatherStep:
    name: str
    needs: tuple[str, ...]
    run: Step


def _has_mail_hosts(job: Job, done: Done) -> bool:
    dns: DnsFacts = done["dns"]
    return job.env is not None and bool(dns.hosts)


async def _dns(run: Gatherer, job: Job, done: Done) -> DnsFacts:
    return await run.resolve(job.target, job.name)


async def _txt(run: Gatherer, job: Job, done: Done) -> Any:
    """MTA-STS, TLS-RPT, SPF and DMARC records: they need only the domain."""
    return await gather_txt(job.env, job.name) if job.env is not None else None


async def _sessions(run: Gatherer, job: Job, done: Done) -> tuple[GatheredHost, ...]:
    targets = probe_targets(done["dns"], job.port)
    return tuple(await asyncio.gather(*(run.probe(t, job.checked_at) for t in targets)))


async def _tlsa(run: Gatherer, job: Job, done: Done) -> Any:
    if not _has_mail_hosts(job, done):
        return None
    assert job.env is not None
    hosts = done["dns"].hosts
    mx_names = [h.name for h in hosts if h.addresses]
    aliases = {h.name: h.cname_chain[-1] for h in hosts if h.cname_chain}
    return await gather_tlsa(job.env, job.name, mx_names, job.port, aliases)


async def _mta_sts(run: Gatherer, job: Job, done: Done) -> Any:
    if not _has_mail_hosts(job, done):
        return None
    assert job.env is not None
    return await gather_mta_sts(job.env, job.name, done["txt"]["mta_sts"])


async def _mail_auth(run: Gatherer, job: Job, done: Done) -> Any:
    """The SPF include walk and DMARC's organisational domain."""
    if not _has_mail_hosts(job, done):
        return None
    assert job.env is not None
    txt = done["txt"]
    return await asyncio.gather(
        gather_spf_walk(job.env, job.name, txt["spf"]),
        gather_dmarc_fallback(job.env, job.name, txt["dmarc"]),
    )


GATHER_STEPS: tuple[GatherStep, ...] = (
    GatherStep("dns", (), _dns),
    GatherStep("txt", (), _txt),
    GatherStep("sessions", ("dns",), _sessions),
    GatherStep("tlsa", ("dns",), _tlsa),
    GatherStep("mta_sts", ("dns", "txt"), _mta_sts),
    GatherStep("mail_auth", ("dns", "txt"), _mail_auth),
)


async def gather_all(
    run: Gatherer, job: Job, steps: tuple[GatherStep, ...] = GATHER_STEPS
) -> dict[str, Any]:
    """Every step's result by name; a step starts once the steps it needs are done. A step
    that raises (our bug: expected failures are facts) cancels the others."""
    tasks: dict[str, asyncio.Task[Any]] = {}

    async def one(step: GatherStep) -> Any:
        done = {need: await tasks[need] for need in step.needs}
        return await step.run(run, job, done)

    for step in steps:  # listed after what they need, so every need has its task already
        tasks[step.name] = asyncio.create_task(one(step))
    try:
        await asyncio.gather(*tasks.values())
    except BaseException:
        for task in tasks.values():
            task.cancel()
        await asyncio.gather(*tasks.values(), return_exceptions=True)
        raise
    return {name: task.result() for name, task in tasks.items()}
