"""Start-up and concurrency figures for starttls-check, all measured in one run here.

1. ``--version`` / ``--help`` wall time against ``python -c 'import click'``
   (target: ``--help`` <= 1.2 x import click).
2. A cold one-MX check in a fresh process against the "import floor", a fresh process
   importing only the project modules that check loads (target: <= 1.2 x floor + 10 ms).
3. A ten-MX domain whose servers each wait 1 s before their greeting, in-process and by
   the CLI (target: <= 1.3 s, i.e. the ten sessions run concurrently).

Everything stays on loopback: a DNS server and SMTP servers run in this process on a
background event loop; the checker always gets ``--nameserver 127.0.0.1:PORT``.
Figures, not tests: the exit status is 0 whether targets are met or not.

    python benchmarks/bench_startup_and_concurrency.py [--quick] [--startup-runs N]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' support code

from tests.support.threaded import BackgroundLoop

from starttls_check.demo.loopback.dns_server import LoopbackDnsServer
from starttls_check.demo.loopback.pki import Issued, chain_pem, make_ca, make_leaf
from starttls_check.demo.loopback.shared_port import servers_on_shared_port
from starttls_check.demo.loopback.smtp_server import Script, server_tls_context, standard_session
from starttls_check.model.findings import Verdict
from starttls_check.model.settings import Nameserver, Timeouts
from starttls_check.run.check import CheckSettings, check_domain_async

PY = sys.executable
CLI = (PY, "-m", "starttls_check")
CONSOLE_SCRIPT = Path(PY).with_name("starttls-check")  # same interpreter, via its shebang

HELP_RATIO = 1.2  # --help <= 1.2 x `import click`
FLOOR_RATIO, FLOOR_SLACK = 1.2, 0.010  # cold check <= 1.2 x import floor + 10 ms
LIBRARY_RATIO = 1.25  # cold check <= 1.25 x importing the libraries it stands on
# What any checker in Python pays before doing anything: the libraries a plain check
# imports, not our modules. bench_cold_check confirms the check imports each of them.
LIBRARIES = ("click", "rich.console", "rich.table", "dns.asyncresolver", "cryptography.x509")
LIBRARIES += ("ssl", "asyncio")
CONCURRENT_LIMIT = 1.3  # ten 1 s greetings in <= 1.3 s: concurrent, not 10 s
GREETING_DELAY = 1.0
SECTIONS = ("startup", "cold", "instructions", "ten")
TIMEOUT = 5.0

ONE_ADDRESS = "127.0.0.10"
TEN_ADDRESSES = tuple(f"127.0.0.{n}" for n in range(11, 21))
TEN_NAMES = tuple(f"mx{i}.ten.test" for i in range(1, 11))

ZONE = (
    """$TTL 300
test. IN SOA ns.test. hostmaster.test. 1 3600 600 86400 300
test. IN NS ns.test.
one.test. IN MX 10 mx.one.test.
"""
    + f"mx.one.test. IN A {ONE_ADDRESS}\n"
    + "".join(f"ten.test. IN MX {10 * i} {name}.\n" for i, name in enumerate(TEN_NAMES, 1))
    + "".join(f"{name}. IN A {a}\n" for name, a in zip(TEN_NAMES, TEN_ADDRESSES, strict=True))
)

# Variables that would slow or instrument the child interpreters unevenly.
# PYTHONDONTWRITEBYTECODE would make every run compile our modules from source: an
# installed package has its bytecode from pip, so the runs measured here must too.
_NOISY_ENV = ("PYTHONPROFILEIMPORTTIME", "PYTHONDEVMODE", "PYTHONTRACEMALLOC", "PYTHONWARNINGS")
_NOISY_ENV += ("PYTHONDONTWRITEBYTECODE",)
ENV = {k: v for k, v in os.environ.items() if k not in _NOISY_ENV} | {"NO_COLOR": "1"}

_IMPORTTIME = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|\s*(\S+)\s*$")


# --------------------------------------------------------------------------- timing


@dataclass(frozen=True, slots=True)
class Sample:
    """Wall times (seconds) of repeated runs of one thing."""

    label: str
    times: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def min(self) -> float:
        return min(self.times)

    def line(self) -> str:
        return f"  {self.label:<44} median {ms(self.median):>9}   min {ms(self.min):>9}"


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the summary table."""

    figure: str
    value: str  # the median, with what it means
    min: str
    target: str
    ok: bool | None  # None: could not be measured


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def run_once(cmd: Sequence[str], expect_rc: int = 0) -> float:
    """Wall time of one fresh process; a wrong exit code makes the figure meaningless."""
    started = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV)
    elapsed = time.perf_counter() - started
    if done.returncode != expect_rc:
        stderr = done.stderr.decode(errors="replace").strip()
        raise RuntimeError(f"{' '.join(cmd)} exited {done.returncode}: {stderr[-500:]}")
    return elapsed


def time_interleaved(
    commands: Mapping[str, Callable[[], float]], runs: int, warmup: int = 1
) -> dict[str, Sample]:
    """Run each command `runs` times in rounds (A B C A B C ...), so drift in machine
    load hits every command alike; `warmup` rounds first fill caches and are dropped."""
    times: dict[str, list[float]] = {label: [] for label in commands}
    for round_ in range(warmup + runs):
        for label, measure in commands.items():
            elapsed = measure()
            if round_ >= warmup:
                times[label].append(elapsed)
    return {label: Sample(label, tuple(t)) for label, t in times.items()}


def verdict(ok: bool | None) -> str:
    return {True: "PASS", False: "MISS", None: "ERROR"}[ok]


# --------------------------------------------------------------------------- 1. start-up


def bench_startup(runs: int) -> list[Row]:
    print(f"\n== 1. start-up (fresh processes, {runs} runs each, interleaved) ==")
    commands: dict[str, Sequence[str]] = {
        "python -c pass (bare interpreter)": (PY, "-c", "pass"),
        "python -c 'import click' (baseline)": (PY, "-c", "import click"),
        "python -m starttls_check --version": (*CLI, "--version"),
        "python -m starttls_check --help": (*CLI, "--help"),
    }
    if CONSOLE_SCRIPT.is_file():
        commands["starttls-check --help (console script)"] = (str(CONSOLE_SCRIPT), "--help")
    samples = time_interleaved({k: partial(run_once, v) for k, v in commands.items()}, runs)
    for sample in samples.values():
        print(sample.line())
    bare = samples["python -c pass (bare interpreter)"]
    click = samples["python -c 'import click' (baseline)"]
    print(f"  import click costs {ms(click.median - bare.median)} above a bare interpreter")
    rows: list[Row] = []
    for label, sample in samples.items():
        if "starttls" not in label:
            continue
        ratio = sample.median / click.median
        ok = ratio <= HELP_RATIO
        print(
            f"  {label}: {ratio:.2f}x import click "
            f"(+{ms(sample.median - click.median)}) -> {verdict(ok)}"
        )
        rows.append(
            Row(
                label.removeprefix("python -m starttls_check ").removeprefix("starttls-check "),
                f"{ms(sample.median)} = {ratio:.2f}x click",
                ms(sample.min),
                f"<= {HELP_RATIO}x import click ({ms(HELP_RATIO * click.median)})",
                ok,
            )
        )
    return rows


# --------------------------------------------------------------------------- loopback world


@dataclass(frozen=True, slots=True)
class World:
    """The loopback servers the checks talk to, and how to reach them."""

    dns: LoopbackDnsServer
    smtp_port: int
    ca_file: Path

    @property
    def dns_port(self) -> int:
        return self.dns.port

    def cli_args(self, domain: str, *extra: str) -> tuple[str, ...]:
        return (
            *CLI,
            "--nameserver",
            f"127.0.0.1:{self.dns_port}",
            "--port",
            str(self.smtp_port),
            "--ca-file",
            str(self.ca_file),
            "--timeout",
            str(TIMEOUT),
            *extra,
            domain,
        )

    def settings(self) -> CheckSettings:
        # ca_files (plus the system bundle) as the CLI gets them, not a ready TrustStore.
        return CheckSettings(
            nameservers=(Nameserver(host="127.0.0.1", port=self.dns_port),),
            port=self.smtp_port,
            timeouts=Timeouts.per_phase(TIMEOUT),
            ca_files=(self.ca_file,),
        )


def _session(name: str, ca: Issued, *, greeting_delay: float) -> Script:
    leaf = make_leaf([name], ca)
    ctx = server_tls_context(chain_pem(leaf, ca), leaf.key_pem)
    return partial(standard_session, hostname=name, tls_context=ctx, greeting_delay=greeting_delay)


def start_world(background: BackgroundLoop, tmp: Path) -> World:
    ca = make_ca("starttls-check benchmark CA")
    ca_file = tmp / "ca.pem"
    ca_file.write_bytes(ca.cert_pem)
    scripts = {ONE_ADDRESS: _session("mx.one.test", ca, greeting_delay=0.0)}
    for name, address in zip(TEN_NAMES, TEN_ADDRESSES, strict=True):
        scripts[address] = _session(name, ca, greeting_delay=GREETING_DELAY)
    dns = background.enter_async_context(LoopbackDnsServer({"test.": ZONE}))
    smtp_port = background.enter_async_context(servers_on_shared_port(scripts))
    return World(dns=dns, smtp_port=smtp_port, ca_file=ca_file)


# --------------------------------------------------------------------------- 2. cold check


def imported_modules(cmd: Sequence[str]) -> dict[str, int]:
    """Module name -> self import time (us), from one `-X importtime` run of `cmd`."""
    cmd = (cmd[0], "-X", "importtime", *cmd[1:])
    done = subprocess.run(cmd, capture_output=True, env=ENV)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {done.returncode}")
    found = (_IMPORTTIME.match(line) for line in done.stderr.decode().splitlines())
    return {m[3]: int(m[1]) for m in found if m}


def project_modules(loaded: Mapping[str, int]) -> list[str]:
    """Our modules among those loaded, but for `-m`'s entry point, which runs the check."""
    return sorted(
        m for m in loaded if m.startswith("starttls_check.") and m != "starttls_check.__main__"
    )


def import_floor(loaded: Mapping[str, int]) -> tuple[tuple[str, ...], dict[str, int]]:
    """The floor command, and the modules the check loads (`loaded`) that it does not."""
    ours = project_modules(loaded)
    floor_cmd = (PY, "-c", "import " + ", ".join(ours))
    floor_loaded = imported_modules(floor_cmd)
    residual = {m: t for m, t in loaded.items() if m not in floor_loaded}
    print(f"  project modules on the check path ({len(ours)}), imported by the floor:")
    print("    " + ", ".join(m.removeprefix("starttls_check.") for m in ours))
    top = sorted(residual.items(), key=lambda kv: -kv[1])[:8]
    print(
        f"  loaded by the check but not the floor: {len(residual)} modules, "
        f"{sum(residual.values()) / 1000:.1f} ms self time; heaviest: "
        + ", ".join(f"{m} {t / 1000:.1f}" for m, t in top)
    )
    return floor_cmd, residual


# Run in a child: time `dataclasses` creating the project's classes while the floor imports.
# It wraps `dataclasses._process_class`, private to CPython (3.11 to 3.13 have it): a
# measurement that needs the decorator's own time, not something the package relies on.
_DATACLASS_PROBE = """
import dataclasses, importlib, sys, time
spent, created, process = [0.0], [0], dataclasses._process_class
def timed(cls, *args, **kwargs):
    started = time.perf_counter()
    made = process(cls, *args, **kwargs)
    if made.__module__.startswith("starttls_check."):
        spent[0] += time.perf_counter() - started
        created[0] += 1
    return made
dataclasses._process_class = timed
for name in sys.argv[1:]:
    importlib.import_module(name)
print(created[0], spent[0])
"""


def dataclass_cost(modules: Sequence[str], runs: int = 5) -> None:
    """How much of the floor is `@dataclass` at work: Python 3.11 compiles each frozen,
    slotted class's methods (init, repr, eq, hash, setattr, delattr) one `exec` at a time."""
    times, count = [], 0
    for _ in range(runs):
        cmd = (PY, "-c", _DATACLASS_PROBE, *modules)
        out = subprocess.run(cmd, capture_output=True, env=ENV, check=True).stdout.split()
        count, times = int(out[0]), [*times, float(out[1])]
    print(
        f"  of the floor, creating the {count} project dataclasses: "
        f"{ms(statistics.median(times))} (median of {runs} runs)"
    )


def ratios(numerator: Sample, denominator: Sample) -> tuple[float, float]:
    """The ratio of the medians, and of the minimums (the least disturbed runs, steadier on
    a busy machine than any one round's pair)."""
    return numerator.median / denominator.median, numerator.min / denominator.min


def bench_cold_check(world: World, runs: int) -> list[Row]:
    print(f"\n== 2. cold one-MX check vs import floor ({runs} runs each, interleaved) ==")
    check_cmd = world.cli_args("one.test")
    print("  check: " + " ".join(check_cmd).replace(PY, "python"))
    loaded = imported_modules(check_cmd)
    floor_cmd, _ = import_floor(loaded)
    dataclass_cost(project_modules(loaded))
    if unused := [m for m in LIBRARIES if m not in loaded]:
        print(f"  NOTE: the check does not import {', '.join(unused)}: the floor is unfair")
    library_cmd = (PY, "-c", "import " + ", ".join(LIBRARIES))
    samples = time_interleaved(
        {
            "import floor (python -c 'import ...')": partial(run_once, floor_cmd),
            "cold check of one.test (exit 0 = pass)": partial(run_once, check_cmd),
            "libraries (python -c 'import ...')": partial(run_once, library_cmd),
        },
        runs,
    )
    floor, cold, libraries = samples.values()
    print(f"  libraries: {', '.join(LIBRARIES)}")
    for sample in samples.values():
        print(sample.line())
    limit = FLOOR_RATIO * floor.median + FLOOR_SLACK
    ok = cold.median <= limit
    print(
        f"  check work above the floor: {ms(cold.median - floor.median)} "
        f"(limit {ms(limit)}) -> {verdict(ok)}"
    )
    median_ratio, min_ratio = ratios(cold, libraries)
    library_ok = median_ratio <= LIBRARY_RATIO
    print(
        f"  cold check / libraries: median {median_ratio:.2f}x, min {min_ratio:.2f}x"
        f" (check {ms(cold.median)} - libraries {ms(libraries.median)} ="
        f" {ms(cold.median - libraries.median)}; limit {LIBRARY_RATIO}x) -> {verdict(library_ok)}"
    )
    return [
        Row("import floor", ms(floor.median), ms(floor.min), "-", None),
        Row("import the libraries", ms(libraries.median), ms(libraries.min), "-", None),
        Row(
            "cold check vs libraries",
            f"{median_ratio:.2f}x (+{ms(cold.median - libraries.median)})",
            f"{min_ratio:.2f}x",
            f"<= {LIBRARY_RATIO}x",
            library_ok,
        ),
        Row(
            "cold one-MX check",
            f"{ms(cold.median)} (floor +{ms(cold.median - floor.median)})",
            ms(cold.min),
            f"<= {FLOOR_RATIO}x floor + {FLOOR_SLACK * 1000:.0f} ms ({ms(limit)})",
            ok,
        ),
    ]


def instructions(cmd: Sequence[str]) -> int:
    """Instructions one run of `cmd` executes, counted by valgrind's cachegrind: steadier
    than wall time on a small, busy machine (a few tenths of a percent run to run)."""
    valgrind = (
        "valgrind",
        "--tool=cachegrind",
        "--cache-sim=no",
        "--cachegrind-out-file=/dev/null",
    )
    done = subprocess.run((*valgrind, *cmd), capture_output=True, env=ENV)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} under valgrind exited {done.returncode}")
    found = re.search(rb"I\s+refs:\s+([0-9,]+)", done.stderr)
    if found is None:
        raise RuntimeError("no instruction count in valgrind's output")
    return int(found[1].replace(b",", b""))


def bench_cold_instructions(world: World) -> list[Row]:
    print("\n== 2b. cold one-MX check vs libraries, instructions (cachegrind, one run each) ==")
    if shutil.which("valgrind") is None:
        print("  valgrind is not installed: skipped")
        return [Row("cold check vs libraries, instructions", "no valgrind", "-", "-", None)]
    check = instructions(world.cli_args("one.test"))
    libraries = instructions((PY, "-c", "import " + ", ".join(LIBRARIES)))
    bare = instructions((PY, "-c", "pass"))
    ratio = check / libraries
    print(f"  cold check      {check:>15,}")
    print(f"  libraries       {libraries:>15,}")
    print(f"  bare python     {bare:>15,}")
    print(f"  cold check / libraries: {ratio:.2f}x (limit {LIBRARY_RATIO}x)")
    return [
        Row(
            "cold check vs libraries, instructions",
            f"{ratio:.2f}x ({check / 1e6:,.0f}M / {libraries / 1e6:,.0f}M)",
            "-",
            f"<= {LIBRARY_RATIO}x",
            ratio <= LIBRARY_RATIO,
        )
    ]


# --------------------------------------------------------------------------- 3. ten MX


def check_ten_in_process(settings: CheckSettings) -> float:
    started = time.perf_counter()
    report = asyncio.run(check_domain_async("ten.test", settings))
    elapsed = time.perf_counter() - started
    tls = sum(h.facts.tls is not None for h in report.hosts)
    if report.verdict != Verdict.PASS or len(report.hosts) != 10 or tls != 10:
        raise RuntimeError(f"ten.test: {report.verdict}, {len(report.hosts)} hosts, {tls} TLS")
    return elapsed


def validate_ten_cli(world: World) -> None:
    """One untimed JSON run: the CLI's exit 0 must mean ten hosts, all with TLS."""
    cmd = world.cli_args("ten.test", "--format", "json")
    done = subprocess.run(cmd, capture_output=True, env=ENV)
    report = json.loads(done.stdout)["reports"][0]
    tls = sum(h["facts"]["tls"] is not None for h in report["hosts"])
    if done.returncode != 0 or report["verdict"] != "pass" or tls != 10:
        raise RuntimeError(f"CLI ten.test: rc {done.returncode}, {report['verdict']}, {tls} TLS")


def bench_ten_mx(world: World, runs: int) -> list[Row]:
    """Concurrency (one session per address, all addresses at once), then what the default
    STARTTLS injection probe adds: a second session per address, after the first, since
    each address gets one session at a time. A server that makes every client wait before
    its greeting makes it wait twice (postscreen waits only for clients it does not know
    yet, so the second session is quick there)."""
    print(f"\n== 3. ten MX hosts, each greeting after {GREETING_DELAY:.0f} s ({runs} runs) ==")
    validate_ten_cli(world)
    settings = dataclasses.replace(world.settings(), injection_probe=False)
    samples = time_interleaved(
        {
            "in-process check_domain_async": partial(check_ten_in_process, settings),
            "CLI (fresh process)": partial(
                run_once, world.cli_args("ten.test", "--no-injection-probe")
            ),
            "CLI with the injection probe (the default)": partial(
                run_once, world.cli_args("ten.test")
            ),
        },
        runs,
    )
    *concurrent, probed = samples.values()
    rows: list[Row] = []
    for label, sample in zip(samples, concurrent, strict=False):
        ok = sample.median <= CONCURRENT_LIMIT
        print(f"{sample.line()}   -> {verdict(ok)}")
        rows.append(
            Row(
                f"ten MX, 1 s greeting, {label.split()[0]}",
                f"{ms(sample.median)} (+{ms(sample.median - GREETING_DELAY)} over 1 s)",
                ms(sample.min),
                f"<= {ms(CONCURRENT_LIMIT)}",
                ok,
            )
        )
    cost = probed.median - concurrent[1].median
    print(f"{probed.line()}   (the injection probe adds {ms(cost)})")
    rows.append(
        Row(
            "  + injection probe (default)",
            f"{ms(probed.median)} (+{ms(cost)}: a second session)",
            ms(probed.min),
            "-",
            None,
        )
    )
    return rows


# --------------------------------------------------------------------------- main


def guarded(name: str, bench: Callable[[], list[Row]]) -> list[Row]:
    """A failing section becomes an ERROR row (traceback on stderr), not a lost report."""
    try:
        return bench()
    except Exception as exc:
        traceback.print_exc()
        return [Row(name, f"error: {exc}"[:60], "-", "n/a", None)]


def print_table(rows: Sequence[Row]) -> None:
    headers = ("figure", "median", "min", "target", "verdict")
    cells = [
        (r.figure, r.value, r.min, r.target, "-" if r.target == "-" else verdict(r.ok))
        for r in rows
    ]
    widths = [max(len(c[i]) for c in (headers, *cells)) for i in range(len(headers))]
    print("\n== summary ==")
    for line in (headers, tuple("-" * w for w in widths), *cells):
        print("  " + "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 start-up runs, 2 check runs")
    parser.add_argument("--startup-runs", type=int, help="default 15 (5 with --quick)")
    parser.add_argument("--check-runs", type=int, help="default 5 (2 with --quick)")
    parser.add_argument(
        "--only", choices=SECTIONS, action="append", help="run this section (repeatable)"
    )
    args = parser.parse_args()
    args.startup_runs = args.startup_runs or (5 if args.quick else 15)
    args.check_runs = args.check_runs or (2 if args.quick else 5)
    args.only = args.only or SECTIONS
    return args


def compile_package() -> None:
    """Bytecode for every module, as `pip install` leaves it, before anything is timed."""
    import compileall

    import starttls_check

    compileall.compile_dir(Path(starttls_check.__file__).parent, quiet=1)


def main() -> int:
    args = parse_args()
    print(f"python {sys.version.split()[0]} at {PY}; {os.cpu_count()} CPUs")
    compile_package()
    rows: list[Row] = []
    if "startup" in args.only:
        rows += guarded("start-up", lambda: bench_startup(args.startup_runs))
    with tempfile.TemporaryDirectory(prefix="starttls-bench-") as tmp, BackgroundLoop() as bg:
        world = start_world(bg, Path(tmp))
        print(f"\nloopback: DNS 127.0.0.1:{world.dns_port}, SMTP port {world.smtp_port}")
        if "cold" in args.only:
            rows += guarded("cold one-MX check", lambda: bench_cold_check(world, args.check_runs))
        if "instructions" in args.only:
            rows += guarded("cold instructions", lambda: bench_cold_instructions(world))
        if "ten" in args.only:
            rows += guarded("ten MX, 1 s greeting", lambda: bench_ten_mx(world, args.check_runs))
    world.dns.raise_errors()  # SMTP script errors are raised when their servers stop
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
