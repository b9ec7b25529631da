"""Bulk runs on a Dask LocalCluster of two worker processes, against loopback servers:
the same reports as in process, and a killed worker's chunk redone."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

distributed = pytest.importorskip("distributed")

from starttls_check.demo.loopback.pki import chain_pem, make_ca, make_leaf  # noqa: E402
from starttls_check.demo.loopback.smtp_server import (  # noqa: E402
    server_tls_context,
    standard_session,
)
from starttls_check.dns.targets import Target  # noqa: E402
from starttls_check.model.bulk import InputProblem  # noqa: E402
from starttls_check.model.report import DomainReport  # noqa: E402
from starttls_check.model.serialize import to_jsonable  # noqa: E402
from starttls_check.run.bulk import BulkSettings, stream_items  # noqa: E402
from starttls_check.run.check import CheckSettings  # noqa: E402
from starttls_check.run.dask_run import run_on_dask  # noqa: E402
from tests.support.threaded import BackgroundLoop  # noqa: E402

from .harness import good_script, mail_world  # noqa: E402

SHARED = [f"d{n}.test" for n in range(8)]
OWN = [f"o{n}.test" for n in range(6)]
ZONE = (
    "mx.shared.test. IN A 127.0.0.2\n"
    + "".join(f"{d}. IN MX 10 mx.shared.test.\n" for d in SHARED)
    + "".join(f"{d}. IN MX 10 mx.{d}.\nmx.{d}. IN A 127.0.0.3\n" for d in OWN)
)
TIMINGS = {"checked_at", "elapsed_ms", "at_ms", "handshake_ms", "reused_from", "days_left"}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CheckSettings]:
    ca = make_ca("dask CA")
    ca_file: Path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca_file.write_bytes(ca.cert_pem)
    leaf = make_leaf([f"mx.{d}" for d in OWN], ca)
    own = partial(
        standard_session,
        hostname="mx.own.test",
        tls_context=server_tls_context(chain_pem(leaf, ca), leaf.key_pem),
        greeting_delay=0.2,
    )
    servers = {"127.0.0.2": good_script("mx.shared.test", ca), "127.0.0.3": own}
    with BackgroundLoop() as background:
        found = background.enter_async_context(mail_world(ZONE, servers, ca=ca))
        # Sent to the workers: a CA file rather than a loaded store, which does not pickle.
        yield found.settings(trust_store=None, ca_files=(ca_file,), use_system_trust=False)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as running:
        yield running


def targets() -> list[Target]:
    return [Target(text=d, domain=d) for d in SHARED + OWN]


def comparable(value: Any) -> Any:
    """A report's JSON without its timings and whose session it reused."""
    if isinstance(value, dict):
        return {k: comparable(v) for k, v in value.items() if k not in TIMINGS}
    if isinstance(value, list):
        return [comparable(v) for v in value]
    return value


def in_process(settings: CheckSettings) -> dict[str, Any]:
    import asyncio

    async def go() -> list[DomainReport | InputProblem]:
        return [r async for r in stream_items(targets(), settings)]

    return {r.ascii_domain: comparable(to_jsonable(r)) for r in asyncio.run(go())}  # type: ignore[union-attr]


def on_cluster(address: str, settings: CheckSettings, **hooks: Any) -> dict[str, Any]:
    found: dict[str, Any] = {}
    problems: list[InputProblem] = []

    def take(report: DomainReport) -> None:
        assert report.ascii_domain not in found  # no domain twice
        found[report.ascii_domain] = comparable(to_jsonable(report))
        if "after_first" in hooks and len(found) == 1:
            hooks.pop("after_first")()

    run_on_dask(address, iter(targets()), settings, BulkSettings(chunk=3), take, problems.append)
    assert not problems
    return found


def test_the_cluster_reports_equal_the_in_process_run(world: CheckSettings, cluster: Any) -> None:
    expected = in_process(world)
    assert on_cluster(cluster.scheduler_address, world) == expected
    assert sorted(expected) == sorted(SHARED + OWN)


def test_a_dead_workers_chunk_is_redone(world: CheckSettings, cluster: Any) -> None:
    with distributed.Client(cluster) as client:
        pids = list(client.run(os.getpid).values())
    killed = threading.Event()

    def kill_one() -> None:
        os.kill(pids[0], signal.SIGKILL)
        killed.set()

    started = time.monotonic()
    found = on_cluster(cluster.scheduler_address, world, after_first=kill_one)
    assert killed.is_set()
    assert sorted(found) == sorted(SHARED + OWN)  # every domain once, none lost
    assert time.monotonic() - started < 60


def test_a_scheduler_that_cannot_be_reached_is_one_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from starttls_check.run import dask_run

    monkeypatch.setattr(dask_run, "CONNECT", "1s")  # a real connection, refused: no wait needed
    settings = CheckSettings(nameservers=())
    with pytest.raises(dask_run.DaskUnavailable, match=r"cannot reach the Dask scheduler at tcp"):
        run_on_dask("tcp://127.0.0.1:1", iter(()), settings, BulkSettings(), print, print)
