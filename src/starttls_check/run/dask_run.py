"""A bulk run on a Dask cluster (the `dask` extra): `--dask ADDRESS` or `--dask local[:N]`.

The input is cut into chunks; each chunk goes to a worker, which runs the same asyncio
bulk checker over it (with its own DNS and session caches) and sends back each domain's
report as a JSON document. Chunks are handed out a few per worker at a time, so the
input is still read lazily; results are written as chunks finish, to the same JSONL,
summary and resume file as an in-process run. Dask redoes the chunk of a worker that dies
(its `allowed-failures`); a chunk that raises is retried once.

Imported only with `--dask`: nothing of Dask loads otherwise.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

from ..dns.targets import Target
from ..model.bulk import InputProblem
from ..model.report import DomainReport
from .bulk import BulkSettings
from .check import CheckSettings

PER_WORKER = 2  # chunks in flight per worker: one running, one queued behind it
DEFAULT_LOCAL_WORKERS = 2
CONNECT = "10s"  # to reach the scheduler: a wrong address fails in seconds, not Dask's 30


class DaskUnavailable(RuntimeError):
    """The `dask` extra is not installed, or the scheduler cannot be reached."""


def check_chunk(
    targets: list[Target], settings: CheckSettings, bulk: BulkSettings
) -> tuple[list[DomainReport], int, int]:
    """On a worker: check one chunk; (records, sessions opened, sessions reused)."""
    import asyncio

    return asyncio.run(_check_chunk(targets, settings, bulk))


async def _check_chunk(
    targets: list[Target], settings: CheckSettings, bulk: BulkSettings
) -> tuple[list[DomainReport], int, int]:
    from ..tls.trust_store import load_trust_store
    from .bulk import BulkRun, stream_items

    store = settings.trust_store or load_trust_store(
        settings.ca_files, use_system=settings.use_system_trust
    )
    run = BulkRun(settings, store, bulk)
    reports: list[DomainReport] = []
    async for report in stream_items(targets, settings, bulk, run=run):
        assert isinstance(report, DomainReport)  # chunks hold targets only
        reports.append(report)
    return reports, run.sessions.opened, run.sessions.reused


def run_on_dask(
    address: str,
    items: Iterator[Target | InputProblem],
    settings: CheckSettings,
    bulk: BulkSettings,
    on_report: Callable[[DomainReport], None],
    on_problem: Callable[[InputProblem], None],
) -> dict[str, int]:
    """Check `items` on the cluster at `address` (or a local one); each report and input
    problem goes to its callback as its chunk comes back."""
    import importlib

    try:  # through importlib: typed as Any, and no stubs needed where the extra is absent
        distributed: Any = importlib.import_module("distributed")
    except ImportError:
        problem = "--dask needs the dask extra: pip install 'starttls-check[dask]'"
        raise DaskUnavailable(problem) from None
    cluster: Any = None
    if address.startswith("local"):
        workers = int(address.partition(":")[2] or DEFAULT_LOCAL_WORKERS)
        cluster = distributed.LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
    try:
        client = distributed.Client(cluster if cluster is not None else address, timeout=CONNECT)
    except (OSError, TimeoutError) as exc:  # Dask's "Timed out trying to connect to ..."
        if cluster is not None:
            cluster.close()
        reason = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
        raise DaskUnavailable(f"cannot reach the Dask scheduler at {address}: {reason}") from None
    totals = {"sessions_opened": 0, "sessions_reused": 0}
    try:
        workers = max(1, len(client.scheduler_info()["workers"]))
        chunks = _chunks(items, bulk.chunk, on_problem)
        running = distributed.as_completed()
        for chunk in itertools.islice(chunks, workers * PER_WORKER):
            running.add(client.submit(check_chunk, chunk, settings, bulk, retries=1, pure=False))
        for future in running:
            reports, opened, reused = future.result()
            future.release()
            for report in reports:
                on_report(report)
            totals["sessions_opened"] += opened
            totals["sessions_reused"] += reused
            more = next(chunks, None)
            if more is not None:
                running.add(client.submit(check_chunk, more, settings, bulk, retries=1, pure=False))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return totals


def _chunks(
    items: Iterator[Target | InputProblem], size: int, on_problem: Callable[[InputProblem], None]
) -> Iterator[list[Target]]:
    """Targets in chunks of `size`; input problems go straight to their callback."""
    chunk: list[Target] = []
    for item in items:
        if isinstance(item, InputProblem):
            on_problem(item)
            continue
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
