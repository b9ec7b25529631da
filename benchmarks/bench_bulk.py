"""Bulk throughput on loopback, the CLI as a user runs it, beside sslyze.

A server process holds a DNS zone of N generated domains whose MX point at (a) 20 shared
addresses or (b) one address per domain (127.1.x.y, one listener each, one event loop),
and counts the SMTP sessions it serves. The client is `starttls-check --input FILE
--format jsonl`, in process and with `--dask local:2`, and, on the addresses of (b),
`sslyze --targets_in FILE --starttls smtp` from its own venv (created on first use).

    python benchmarks/bench_bulk.py              # N = 1,000 and 10,000, all columns
    python benchmarks/bench_bulk.py --quick      # N = 1,000, no Dask, sslyze on 200 hosts
    python benchmarks/bench_bulk.py --rss        # peak RSS at 10,000 vs 100,000 domains

Every client runs with `--no-policy-checks --no-injection-probe`: one session per
address, so sessions are comparable with sslyze's hosts. Client CPU comes from the
client's own rusage (its Dask workers included, once reaped); peak RSS is the largest
VmHWM of the client or one of its workers in /proc; the server's CPU is not counted.
Rates are over the whole command, start-up included, and "steady" between the first and
the last report line. Exits 0 whatever the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

SHARED_ADDRESSES = 20
SOA = "test. 300 IN SOA ns.test. hostmaster.test. 1 3600 600 86400 300\ntest. 300 IN NS ns.test.\n"
SSLYZE_VENV = Path(tempfile.gettempdir()) / "starttls-check-bench-sslyze"
CLIENT_TARGETS = (
    "--no-policy-checks",
    "--no-injection-probe",
    "--retries",
    "0",
    "--timeout",
    "20",
    "--ehlo",
    "bench.test",
)


def address(n: int, layout: str) -> str:
    index = n % SHARED_ADDRESSES if layout == "shared" else n
    return f"127.1.{index // 250}.{index % 250 + 1}"


def mx_name(index: int) -> str:
    return f"mx{index}.bench.test"


# --- the server process ---------------------------------------------------------------


def serve(count: int, layout: str, folder: Path) -> None:
    """Run the DNS and SMTP servers; print where they are; answer 'count' on stdin."""
    from starttls_check.demo.loopback.dns_server import LoopbackDnsServer
    from starttls_check.demo.loopback.pki import chain_pem, make_ca, make_leaf
    from starttls_check.demo.loopback.shared_port import servers_on_shared_port
    from starttls_check.demo.loopback.smtp_server import server_tls_context, standard_session

    addresses = sorted({address(n, layout) for n in range(count)})
    ca = make_ca("bench CA")
    leaf = make_leaf(["*.bench.test"], ca)  # one small certificate for every MX name
    (folder / "ca.pem").write_bytes(ca.cert_pem)
    context = server_tls_context(chain_pem(leaf, ca), leaf.key_pem)
    mx = {a: mx_name(i) for i, a in enumerate(addresses)}
    zone = SOA + "".join(f"{name}. IN A {a}\n" for a, name in mx.items())
    zone += "".join(f"d{n}.test. IN MX 10 {mx[address(n, layout)]}.\n" for n in range(count))
    (folder / "domains.txt").write_text("".join(f"d{n}.test\n" for n in range(count)))
    (folder / "sslyze.txt").write_text("".join(f"{mx[a]}:PORT{{{a}}}\n" for a in addresses))
    sessions = [0]

    async def counted(conn: Any) -> None:
        sessions[0] += 1
        await standard_session(conn, hostname="mx.bench.test", tls_context=context)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        stdin_done = loop.create_future()
        async with (
            LoopbackDnsServer({"test.": zone}) as dns,
            servers_on_shared_port(dict.fromkeys(addresses, counted)) as port,
        ):
            print(json.dumps({"dns": dns.port, "smtp": port, "addresses": len(addresses)}))
            sys.stdout.flush()

            def read_stdin() -> None:
                for _ in sys.stdin:  # each line asks for the session count so far
                    print(sessions[0], flush=True)
                loop.call_soon_threadsafe(stdin_done.set_result, None)

            threading.Thread(target=read_stdin, daemon=True).start()
            await stdin_done

    asyncio.run(main())


@dataclass
class World:
    folder: Path
    dns: int
    smtp: int
    addresses: int
    server: subprocess.Popen[str]

    def sessions(self) -> int:
        assert self.server.stdin
        assert self.server.stdout
        self.server.stdin.write("count\n")
        self.server.stdin.flush()
        return int(self.server.stdout.readline())


@contextmanager
def world(count: int, layout: str) -> Iterator[World]:
    with tempfile.TemporaryDirectory(prefix="bench-bulk-") as name:
        folder = Path(name)
        command = [sys.executable, __file__, "--serve", str(count), layout, name]
        server = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            assert server.stdout
            ready = json.loads(server.stdout.readline())
            yield World(folder, ready["dns"], ready["smtp"], ready["addresses"], server)
        finally:
            if server.stdin:
                server.stdin.close()
            server.wait(30)


# --- the clients ----------------------------------------------------------------------


@dataclass
class Figures:
    label: str
    targets: int
    sessions: int
    wall: float
    steady: float
    cpu: float
    rss_mb: float
    failed: int

    def line(self) -> str:
        per_session = self.cpu * 1000 / max(1, self.sessions)
        per_target = self.cpu * 1000 / max(1, self.targets)
        steady = f"{self.targets / self.steady:,.0f}/s steady" if self.steady > 0 else "-"
        return (
            f"  {self.label:<26} {self.targets / self.wall:>7,.0f}/s ({steady})  "
            f"{self.sessions / self.wall:>6,.0f} sessions/s  {self.sessions:>6} sessions  "
            f"CPU {per_session:5.2f} ms/session {per_target:5.2f} ms/target  "
            f"peak RSS {self.rss_mb:4.0f} MB"
            + (f"  NOT PASSED: {self.failed}" if self.failed else "")
        )


def peak_rss_kb(pid: int) -> int:
    """The largest VmHWM of `pid` and the processes under it (Dask's workers), from /proc.

    Not the rusage's ru_maxrss: a child started by vfork, as subprocess starts it, carries
    the parent's peak through exec, so it would count this script's memory too."""
    peak, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            children = Path(f"/proc/{current}/task/{current}/children").read_text()
        except OSError:
            continue  # gone already
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peak = max(peak, int(line.split()[1]))
        pending += [int(child) for child in children.split()]
    return peak


def timed(
    command: list[str], stamped: TextIO, env: dict[str, str] | None = None
) -> tuple[float, Any, int]:
    """Run `command`, writing each stdout line to `stamped` after its arrival time: kept
    on disk, not here, and parsed after the run, so this process stays small and idle.
    Returns wall time, rusage and peak RSS in kB."""
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    assert child.stdout
    peak, sampled = 0, 0.0
    for line in child.stdout:
        now = time.perf_counter()
        stamped.write(f"{now - started:.6f} {line}")
        if now - sampled > 0.1:  # a few samples a second, and at the final summary line
            peak, sampled = max(peak, peak_rss_kb(child.pid)), now
    peak = max(peak, peak_rss_kb(child.pid))
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    return time.perf_counter() - started, usage, peak


def starttls_check(w: World, count: int, dask: str | None) -> Figures:
    command = [sys.executable, "-m", "starttls_check", "--input", str(w.folder / "domains.txt")]
    command += ["--format", "jsonl", "--nameserver", f"127.0.0.1:{w.dns}", "--port", str(w.smtp)]
    command += ["--ca-file", str(w.folder / "ca.pem"), *CLIENT_TARGETS]
    command += ["--dask", dask] if dask else []
    before = w.sessions()
    arrivals: list[float] = []
    verdicts: list[str] = []
    with tempfile.TemporaryFile("w+") as stamped:
        wall, usage, peak = timed(command, stamped)
        stamped.seek(0)
        for line in stamped:
            at, text = line.split(" ", 1)
            record = json.loads(text)
            if "record" not in record:
                arrivals.append(float(at))
                verdicts.append(record.get("verdict", ""))
    failed = sum(1 for v in verdicts if v != "pass")
    steady = arrivals[-1] - arrivals[0] if len(arrivals) > 1 else 0.0
    return Figures(
        label=f"starttls-check{' --dask ' + dask if dask else ''}",
        targets=len(arrivals),
        sessions=w.sessions() - before,
        wall=wall,
        steady=steady,
        cpu=usage.ru_utime + usage.ru_stime,
        rss_mb=peak / 1024,
        failed=failed + count - len(arrivals),
    )


def sslyze_bin() -> Path:
    binary = SSLYZE_VENV / "bin" / "sslyze"
    if not binary.exists():
        print(f"  (installing sslyze into {SSLYZE_VENV})", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(SSLYZE_VENV)], check=True)
        pip = [str(SSLYZE_VENV / "bin" / "pip"), "install", "-q", "sslyze"]
        subprocess.run(pip, check=True, stderr=subprocess.DEVNULL)
    return binary


def sslyze(w: World, hosts: int, scan: list[str], label: str) -> Figures:
    targets = w.folder / f"sslyze-{hosts}.txt"
    lines = (w.folder / "sslyze.txt").read_text().splitlines()[:hosts]
    targets.write_text("".join(line.replace("PORT", str(w.smtp)) + "\n" for line in lines))
    command = [str(sslyze_bin()), "--targets_in", str(targets), "--starttls", "smtp"]
    command += ["--json_out", str(w.folder / "sslyze.json"), "--quiet", *scan]
    before = w.sessions()
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    with tempfile.TemporaryFile("w+") as stamped:
        wall, usage, peak = timed(command, stamped, env=env)
    results = json.loads((w.folder / "sslyze.json").read_text())["server_scan_results"]
    completed = sum(1 for r in results if r.get("scan_status") == "COMPLETED")
    return Figures(
        label=label,
        targets=len(results),
        sessions=w.sessions() - before,
        wall=wall,
        steady=0.0,
        cpu=usage.ru_utime + usage.ru_stime,
        rss_mb=peak / 1024,
        failed=len(lines) - completed,
    )


# --- the runs -------------------------------------------------------------------------


def throughput(counts: list[int], dask: bool, sslyze_hosts: int) -> None:
    for count in counts:
        for layout in ("shared", "distinct"):
            with world(count, layout) as w:
                print(f"{layout} (N={count:,}, {w.addresses:,} addresses):", flush=True)
                ours = starttls_check(w, count, None)
                print(ours.line(), flush=True)
                if dask:
                    print(starttls_check(w, count, "local:2").line(), flush=True)
                if layout == "distinct" and sslyze_hosts:
                    compare_sslyze(w, min(w.addresses, sslyze_hosts), ours)


def compare_sslyze(w: World, hosts: int, ours: Figures) -> None:
    """sslyze's default scans and its certificate scan alone, on the first `hosts`."""
    ours_rate = ours.targets / ours.wall
    for scan, label in (([], "default scans"), (["--certinfo"], "--certinfo")):
        theirs = sslyze(w, hosts, scan, f"sslyze {label} ({hosts})")
        print(theirs.line(), flush=True)
        ratio = ours_rate / (theirs.targets / theirs.wall)
        print(f"    hosts/s, starttls-check / sslyze {label}: {ratio:.1f}x", flush=True)


def rss(counts: list[int]) -> None:
    for count in counts:
        with world(count, "shared") as w:
            figures = starttls_check(w, count, None)
            print(f"shared N={count:,}:", flush=True)
            print(figures.line(), flush=True)


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]), sys.argv[3], Path(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 1,000, no Dask")
    parser.add_argument("--rss", action="store_true", help="10,000 vs 100,000 domains")
    parser.add_argument("--sslyze-hosts", type=int, default=1000, help="hosts sslyze scans")
    args = parser.parse_args()
    if args.rss:
        rss([10_000, 100_000])
    elif args.quick:
        throughput([1000], dask=False, sslyze_hosts=min(args.sslyze_hosts, 200))
    else:
        throughput([1000, 10_000], dask=True, sslyze_hosts=args.sslyze_hosts)


if __name__ == "__main__":
    main()
