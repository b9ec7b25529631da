"""Bulk throughput on loopback: N generated domains whose MX point at (a) 20 shared
addresses or (b) one address per domain (127.1.x.y, one listener each, one server loop).

Prints domains/s, sessions/s, client CPU ms per session and peak RSS, in process.

    PYTHONPATH=src python benchmarks/bench_bulk.py --domains 1000 --layout shared
    PYTHONPATH=src python benchmarks/bench_bulk.py --domains 1000 --layout distinct

Not covered here yet: the `--dask local:2` column and the sslyze comparison of the issue.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import time

from starttls_check.demo.loopback.dns_server import LoopbackDnsServer
from starttls_check.demo.loopback.pki import chain_pem, make_ca, make_leaf
from starttls_check.demo.loopback.shared_port import servers_on_shared_port
from starttls_check.demo.loopback.smtp_server import server_tls_context, standard_session
from starttls_check.model.settings import Nameserver
from starttls_check.run.bulk import BulkRun, BulkSettings, stream_items
from starttls_check.run.check import CheckSettings
from starttls_check.tls.certs import TrustStore

SOA = "test. 300 IN SOA ns.test. hostmaster.test. 1 3600 600 86400 300\ntest. 300 IN NS ns.test.\n"


def address(n: int, layout: str) -> str:
    index = n % 20 if layout == "shared" else n
    return f"127.1.{index // 250}.{index % 250 + 1}"


async def bench(count: int, layout: str) -> None:
    from functools import partial

    ca = make_ca("bench CA")
    addresses = sorted({address(n, layout) for n in range(count)})
    leaf = make_leaf([f"mx{n}.bench.test" for n in range(len(addresses))], ca)
    context = server_tls_context(chain_pem(leaf, ca), leaf.key_pem)
    script = partial(standard_session, hostname="mx.bench.test", tls_context=context)
    mx = {a: f"mx{i}.bench.test" for i, a in enumerate(addresses)}
    zone = "".join(f"{name}. IN A {a}\n" for a, name in mx.items())
    zone += "".join(f"d{n}.test. IN MX 10 {mx[address(n, layout)]}.\n" for n in range(count))
    async with (
        LoopbackDnsServer({"test.": SOA + zone}) as dns,
        servers_on_shared_port(dict.fromkeys(addresses, script)) as port,
    ):
        settings = CheckSettings(
            nameservers=(Nameserver(host=dns.host, port=dns.port),),
            port=port,
            timeout=10,
            ehlo_name="bench.test",
            trust_store=TrustStore([ca.cert]),
            retries=0,
            policy_checks=False,
        )
        bulk = BulkSettings()
        run = BulkRun(settings, settings.trust_store, bulk)  # type: ignore[arg-type]
        started, cpu = time.perf_counter(), time.process_time()
        done = 0
        async for _ in stream_items((f"d{n}.test" for n in range(count)), settings, run=run):
            done += 1
        wall, used = time.perf_counter() - started, time.process_time() - cpu
    sessions = run.sessions.opened
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{layout} N={count}: {done / wall:.0f} domains/s, {sessions / wall:.0f} sessions/s, "
        f"{sessions} sessions, CPU {used * 1000 / max(1, sessions):.2f} ms/session "
        f"(servers in the same process), peak RSS {rss:.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--domains", type=int, default=1000)
    parser.add_argument("--layout", choices=["shared", "distinct"], default="shared")
    args = parser.parse_args()
    asyncio.run(bench(args.domains, args.layout))


if __name__ == "__main__":
    main()
