"""Memory stays flat as a bulk run grows: nothing per domain is kept once handed on."""

from __future__ import annotations

import tracemalloc

from starttls_check.demo.loopback.pki import make_ca
from starttls_check.run.bulk import BulkSettings, check_stream

from .harness import good_script, mail_world, run

MORE, FEWER = 1500, 300


def zone(count: int) -> str:
    return "mx.shared.test. IN A 127.0.0.2\n" + "".join(
        f"d{n}.test. IN MX 10 mx.shared.test.\n" for n in range(count)
    )


def test_peak_memory_does_not_grow_with_the_number_of_domains() -> None:
    ca = make_ca("memory CA")
    servers = {"127.0.0.2": good_script("mx.shared.test", ca)}
    bulk = BulkSettings(window=32, dns_cache=64)

    async def peak(count: int) -> int:
        done = 0
        async with mail_world(zone(MORE), servers, ca=ca, idle_timeout=30) as world:
            settings = world.settings()
            tracemalloc.start()
            try:
                targets = (f"d{n}.test" for n in range(count))
                async for report in check_stream(targets, settings, bulk):
                    done += report.verdict is not None
                _, top = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
        assert done == count
        return top

    fewer, more = run(peak(FEWER)), run(peak(MORE))
    # Six times the domains: the peak may differ by noise, not by anything per domain
    # (a kilobyte per domain kept would add 2 MB).
    assert more - fewer < 700_000, (fewer, more)
