"""Bulk runs as a user runs them: a real child process, real loopback servers, JSONL read
while the run is still going, SIGKILL and resume, Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from starttls_check.demo.loopback.pki import chain_pem, make_ca, make_leaf
from starttls_check.demo.loopback.smtp_server import server_tls_context, standard_session
from tests.support.threaded import BackgroundLoop

from .harness import good_script, mail_world

FAST = [f"d{n}.test" for n in range(20)]
SLOW = [f"s{n}.test" for n in range(12)]
ZONE = (
    "mx.shared.test. IN A 127.0.0.2\n"
    + "".join(f"{d}. IN MX 10 mx.shared.test.\n" for d in FAST)
    + "".join(f"{d}. IN MX 10 mx.{d}.\nmx.{d}. IN A 127.0.0.3\n" for d in SLOW)
)
SLOW_DELAY = 0.35  # per session; one at a time to 127.0.0.3, so 12 take about 4 s


@dataclass
class Cli:
    dns_port: int
    smtp_port: int
    ca_file: Path

    def args(self, *args: str) -> list[str]:
        return [
            sys.executable,
            "-m",
            "starttls_check",
            "--nameserver",
            f"127.0.0.1:{self.dns_port}",
            "--port",
            str(self.smtp_port),
            "--ca-file",
            str(self.ca_file),
            "--timeout",
            "3",
            "--ehlo",
            "client.test",
            "--no-policy-checks",
            "--retries",
            "0",
            *args,
        ]

    def __call__(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.args(*args), input=stdin, capture_output=True, text=True, timeout=90, check=False
        )

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.args(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    ca = make_ca("bulk cli CA")
    ca_file = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca_file.write_bytes(ca.cert_pem)
    leaf = make_leaf([f"mx.{d}" for d in SLOW], ca)
    slow = partial(
        standard_session,
        hostname="mx.slow.test",
        tls_context=server_tls_context(chain_pem(leaf, ca), leaf.key_pem),
        greeting_delay=SLOW_DELAY,
    )
    servers = {"127.0.0.2": good_script("mx.shared.test", ca), "127.0.0.3": slow}
    with BackgroundLoop() as background:
        world = background.enter_async_context(mail_world(ZONE, servers, ca=ca))
        yield Cli(dns_port=world.dns.port, smtp_port=world.port, ca_file=ca_file)


def records(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def reports(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in found if "record" not in r]


def test_input_file_with_comments_csv_and_bad_lines(cli: Cli, tmp_path: Path) -> None:
    source = tmp_path / "targets.csv"
    source.write_text(
        "domain,customer\n# a comment\n\nd1.test,acme\nd2.test  # trailing comment\n"
        "exa mple.test\n[127.0.0.2],direct\nhttp://x.test/\n",
        encoding="utf-8",
    )
    result = cli("--input", str(source), "--format", "jsonl")
    assert result.returncode == 0, result.stderr
    found = records(result.stdout)
    assert found[0]["record"] == "run"
    assert found[-1]["record"] == "summary"
    errors = [
        (r["line"], r["problem"].split(":")[0]) for r in found if r.get("record") == "input-error"
    ]
    assert errors == [(6, "bad domain 'exa mple.test'"), (8, "bad target 'http")]
    assert sorted(r["ascii_domain"] for r in reports(found)) == [
        "[127.0.0.2]",
        "d1.test",
        "d2.test",
    ]
    summary = found[-1]
    assert (summary["domains"], summary["input_errors"], summary["exit_code"]) == (3, 2, 0)


def test_the_lines_validate_against_the_jsonl_schema(cli: Cli) -> None:
    from importlib.resources import files

    from referencing import Registry, Resource

    schemas = files("starttls_check") / "schema"
    report = json.loads((schemas / "report.schema.json").read_text(encoding="utf-8"))
    lines = json.loads((schemas / "jsonl.schema.json").read_text(encoding="utf-8"))
    # Registered under its own $id, as any validator finds it: the reference must name it.
    registry = Resource.from_contents(report) @ Registry()
    validator = jsonschema.Draft202012Validator(lines, registry=registry)
    result = cli("d1.test", "s1.test", "--format", "jsonl", "--summary", stdin="")
    for record in records(result.stdout):
        validator.validate(record)
    bad = {"record": "input-error", "line": "one", "text": "", "problem": ""}
    assert list(validator.iter_errors(bad))  # the schema does constrain the lines


def test_an_unreadable_input_file_is_one_line_and_exit_2(cli: Cli, tmp_path: Path) -> None:
    result = cli("--input", str(tmp_path / "missing.txt"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"starttls-check: error: cannot read input file {tmp_path / 'missing.txt'}: "
        "No such file or directory"
    ]


def test_stdin_and_table_lines(cli: Cli) -> None:
    result = cli("--input", "-", stdin="d3.test\nd4.test\nnot a domain\n")
    assert result.returncode == 0, result.stderr
    lines = sorted(result.stdout.splitlines())
    assert lines[0].startswith("d3.test: PASS — ")
    assert lines[1].startswith("d4.test: PASS — ")
    assert lines[2].startswith("input line 3: bad domain 'not a domain'")


def test_the_config_file_may_name_the_input(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "list.txt").write_text("d5.test\n", encoding="utf-8")
    config = tmp_path / "check.toml"
    config.write_text('input = "list.txt"\n', encoding="utf-8")
    result = cli("--config", str(config), "--format", "jsonl")
    assert result.returncode == 0, result.stderr
    assert [r["ascii_domain"] for r in reports(records(result.stdout))] == ["d5.test"]


def test_jsonl_lines_arrive_while_the_run_goes_on(cli: Cli, tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text("\n".join([*SLOW, *FAST]) + "\n", encoding="utf-8")
    with cli.start("--input", str(source), "--format", "jsonl") as child:
        assert child.stdout is not None
        seen = []
        while len(seen) < 3:  # the run record, then the first reports
            seen.append(json.loads(child.stdout.readline()))
        assert child.poll() is None  # the slow domains are still being checked
        assert all("record" not in r for r in seen[1:])
        rest = records(child.stdout.read())
        child.wait(timeout=60)
    assert child.returncode == 0
    done = reports(seen + rest)
    assert sorted(r["ascii_domain"] for r in done) == sorted(SLOW + FAST)
    reused = [h["reused_from"] for r in done for h in r["hosts"] if r["domain"] in FAST]
    assert reused.count(None) == 1  # one of the 20 opened the shared MX's session
    assert rest[-1]["sessions_opened"] == 1 + len(SLOW)


def test_resume_after_sigkill_loses_none_and_repeats_none(cli: Cli, tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text("\n".join(SLOW) + "\nbad one\n", encoding="utf-8")
    results = tmp_path / "results.jsonl"
    with cli.start("--input", str(source), "--resume", str(results), "--window", "2") as child:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(_report_lines(results)) < 3:
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    assert child.returncode == -signal.SIGKILL
    done_before = {r["ascii_domain"] for r in _report_lines(results)}
    assert 3 <= len(done_before) < len(SLOW)
    with results.open("a", encoding="utf-8") as stream:
        stream.write('{"domain": "s11.test", "ascii_dom')  # as if killed mid-write
    resumed = cli("--input", str(source), "--resume", str(results), "--format", "jsonl")
    assert resumed.returncode == 0, resumed.stderr
    final = _report_lines(results)
    assert sorted(r["ascii_domain"] for r in final) == sorted(SLOW)  # each exactly once
    summary = records(resumed.stdout)[-1]
    assert summary["skipped"] == len(done_before)
    assert summary["domains"] == len(SLOW) - len(done_before)
    errors = [r for r in _all_lines(results) if r.get("record") == "input-error"]
    assert len(errors) == 1  # the bad line reported once over both runs


def test_ctrl_c_flushes_what_is_done_and_exits_130(cli: Cli, tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text("\n".join(SLOW) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    with cli.start("--input", str(source), "--output", f"jsonl:{out}", "--window", "1") as child:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(_report_lines(out)) < 2:
            time.sleep(0.05)
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=20)
    assert child.returncode == 130, err
    assert "interrupted" in err
    assert "Traceback" not in err
    lines = out.read_text(encoding="utf-8").splitlines()
    assert all(json.loads(line) for line in lines)  # every line whole
    assert 2 <= len(_report_lines(out)) < len(SLOW)


def test_summarize_a_finished_file(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    run = cli("d6.test", "d7.test", "s2.test", "--output", f"jsonl:{out}", "--format", "jsonl")
    assert run.returncode == 0, run.stderr
    result = cli("--summarize", str(out), "--format", "json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["domains"] == 3
    assert summary["starttls"] == {"offered": {"count": 3, "share": 1.0}}
    assert summary["certificate"]["valid"]["count"] == 3
    providers = {p["provider"]: p["domains"] for p in summary["providers"]}
    assert providers == {"shared.test": 2, "s2.test": 1}
    table = cli("--summarize", str(out))
    assert "3 domains" in table.stdout
    assert "shared.test" in table.stdout
    markdown = cli("--summarize", str(out), "--format", "markdown")
    assert "| shared\\.test | 2 | 100% | 100% | 100% |" in markdown.stdout


def _all_lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            found.append(json.loads(line))
        except ValueError:
            continue
    return found


def _report_lines(path: Path) -> list[dict[str, Any]]:
    return reports(_all_lines(path))


def test_no_dask_is_imported_without_dask() -> None:
    code = (
        "import sys, starttls_check.cli.bulk, starttls_check.run.bulk, starttls_check.cli.command;"
        "print(any(m == 'dask' or m.startswith(('dask.', 'distributed')) for m in sys.modules))"
    )
    env = {**os.environ}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.stdout.strip() == "False", done.stderr


def test_dask_local_from_the_command_line(cli: Cli, tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    source = tmp_path / "in.txt"
    source.write_text("d8.test\nd9.test\nnot valid\ns3.test\n", encoding="utf-8")
    result = cli("--input", str(source), "--format", "jsonl", "--dask", "local:2", "--summary")
    assert result.returncode == 0, result.stderr
    found = records(result.stdout)
    assert sorted(r["ascii_domain"] for r in reports(found)) == ["d8.test", "d9.test", "s3.test"]
    assert [r["line"] for r in found if r.get("record") == "input-error"] == [3]
    assert found[-1]["aggregate"]["domains"] == 3


def test_a_pipe_that_stays_open_still_gets_its_reports(cli: Cli) -> None:
    with subprocess.Popen(
        cli.args("--input", "-", "--format", "jsonl"),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as child:
        assert child.stdin is not None
        assert child.stdout is not None
        child.stdin.write("d6.test\n")
        child.stdin.flush()  # and the pipe stays open: more lines might follow
        started = time.monotonic()
        guard = threading.Timer(20, child.kill)  # a hang fails the test, not the suite
        guard.start()
        first = json.loads(child.stdout.readline())
        report = json.loads(child.stdout.readline() or "{}")
        guard.cancel()
        assert time.monotonic() - started < 20
        assert child.poll() is None
        child.stdin.close()
        rest = records(child.stdout.read())
        child.wait(timeout=30)
    assert first["record"] == "run"
    assert report["ascii_domain"] == "d6.test"
    assert child.returncode == 0
    assert rest[-1]["record"] == "summary"


def test_an_input_of_only_bad_lines_is_inconclusive(cli: Cli) -> None:
    result = cli("--input", "-", "--format", "jsonl", stdin="not a domain\n-bad-.test\n")
    assert result.returncode == 3, result.stderr
    found = records(result.stdout)
    assert [r["record"] for r in found] == ["run", "input-error", "input-error", "summary"]
    assert found[-1]["exit_code"] == 3


def test_progress_on_a_piped_stderr_only_when_asked(cli: Cli, tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text("d7.test\nd8.test\nd9.test\n", encoding="utf-8")
    quiet = cli("--input", str(source), "--format", "jsonl")
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == ""
    shown = cli("--input", str(source), "--format", "jsonl", "--progress")
    assert shown.returncode == 0, shown.stderr
    assert "3/3" in shown.stderr  # done/total
    assert "domains/s" in shown.stderr
    assert "0 failing" in shown.stderr
    assert shown.stdout.count("\n") == quiet.stdout.count("\n")  # stdout is the report alone


def test_progress_appears_when_stderr_is_a_terminal(cli: Cli, tmp_path: Path) -> None:
    import pty

    source = tmp_path / "in.txt"
    source.write_text("d10.test\nd11.test\n", encoding="utf-8")
    main, terminal = pty.openpty()
    try:
        with subprocess.Popen(
            cli.args("--input", str(source), "--format", "jsonl"),
            stdout=subprocess.PIPE,
            stderr=terminal,
            text=True,
        ) as child:
            os.close(terminal)
            terminal = -1
            out, _ = child.communicate(timeout=60)
        seen = b""
        while True:  # what the child wrote to the terminal; EIO once it has gone
            try:
                chunk = os.read(main, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(main)
        if terminal >= 0:
            os.close(terminal)
    assert child.returncode == 0
    assert len(reports(records(out))) == 2
    assert b"2/2" in seen
    assert b"domains/s" in seen


def _one_usage_line(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("starttls-check: error: ")
    for word in words:
        assert word in line


def test_the_input_file_is_never_also_the_results_file(cli: Cli, tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text("d1.test\n", encoding="utf-8")
    _one_usage_line(cli("--input", str(source), "--resume", str(source)), "input file")
    _one_usage_line(cli("--input", str(source), "--output", f"jsonl:{source}"), "input file")
    assert source.read_text(encoding="utf-8") == "d1.test\n"
    results = tmp_path / "r.jsonl"
    both = cli("--input", str(source), "--resume", str(results), "--output", f"jsonl:{results}")
    _one_usage_line(both, "are one file")
    assert not results.exists()
    _one_usage_line(cli("--input", str(source), "--resume", "-"), "--resume needs a file")


@pytest.mark.parametrize(
    "content",
    [
        "d1.test\nd2.test",
        '{"domain": "d1.test"}\n',
        '{\n  "schema": "starttls-check/report"\n}\n',
        "important data without a newline",
    ],
    ids=["domain-list", "other-json-lines", "json-report", "one-line-no-newline"],
)
def test_resume_refuses_a_file_it_did_not_write(cli: Cli, tmp_path: Path, content: str) -> None:
    source = tmp_path / "in.txt"
    source.write_text("d1.test\n", encoding="utf-8")
    victim = tmp_path / "victim.txt"
    victim.write_text(content, encoding="utf-8")
    earlier = tmp_path / "earlier.jsonl"
    earlier.write_text('{"record":"run"}\n', encoding="utf-8")  # an output of some run
    refused = cli("--input", str(source), "--resume", str(victim), "--output", f"jsonl:{earlier}")
    _one_usage_line(refused, "not a starttls-check")
    assert victim.read_text(encoding="utf-8") == content  # nothing cut, nothing appended
    assert earlier.read_text(encoding="utf-8") == '{"record":"run"}\n'  # nor emptied


def test_summarize_takes_only_a_file_this_tool_wrote(cli: Cli, tmp_path: Path) -> None:
    listing = tmp_path / "domains.txt"
    listing.write_text("d1.test\n", encoding="utf-8")
    _one_usage_line(cli("--summarize", str(listing)), "not a starttls-check")
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    _one_usage_line(cli("--summarize", str(empty)), "empty")
    out = tmp_path / "out.jsonl"
    assert cli("d2.test", "--output", f"jsonl:{out}").returncode == 0
    _one_usage_line(cli("--summarize", str(out), "d3.test"), "no targets")
    _one_usage_line(cli("--summarize", str(out), "--input", str(listing)), "no targets")
    _one_usage_line(cli("--summarize", str(out), "--format", "junit"), "table, markdown or json")
    for extra in (
        ["--output", f"json:{tmp_path / 's.json'}"],
        ["--resume", str(out)],
        ["--summary"],
    ):
        _one_usage_line(cli("--summarize", str(out), *extra), f"does not take {extra[0]}")
    cut = tmp_path / "cut.jsonl"
    cut.write_bytes(b'{"record":"run","sche')  # killed while writing its first line
    _one_usage_line(cli("--summarize", str(cut)), "holds no complete run")


def test_an_empty_input_is_inconclusive(cli: Cli) -> None:
    for given in ("", "# only a comment\n\n"):
        result = cli("--input", "-", "--format", "jsonl", stdin=given)
        assert result.returncode == 3, result.stderr
        assert records(result.stdout)[-1]["exit_code"] == 3


def test_a_one_column_csv_header_is_skipped(cli: Cli) -> None:
    result = cli("--input", "-", "--format", "jsonl", stdin="Domain\nd12.test\n")
    assert result.returncode == 0, result.stderr
    found = records(result.stdout)
    assert [r["ascii_domain"] for r in reports(found)] == ["d12.test"]
    assert not [r for r in found if r.get("record") == "input-error"]


def test_a_config_naming_the_input_is_enough(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "list.txt").write_text("d13.test\n", encoding="utf-8")
    config = tmp_path / "check.toml"
    config.write_text('input = "list.txt"\n', encoding="utf-8")
    result = cli("--config", str(config), "-q")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("d13.test: PASS — ")
    # Targets on the command line replace the config's input, as they replace its domains.
    given = cli("--config", str(config), "d14.test", "--format", "jsonl")
    assert given.returncode == 0, given.stderr
    assert [r["ascii_domain"] for r in reports(records(given.stdout))] == ["d14.test"]


def test_the_progress_total_leaves_out_a_header() -> None:
    import io

    from starttls_check.cli.bulk_input import count_targets

    assert count_targets(io.StringIO("domain,owner\nd1.test,a\n# note\n\nd2.test\n")) == 2
    assert count_targets(io.StringIO("Domain\nd1.test\n")) == 1
    assert count_targets(io.StringIO("d1.test\nd2.test\n")) == 2


def test_progress_into_a_pipe_comes_while_the_run_goes_on(cli: Cli, tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text("\n".join(SLOW) + "\n", encoding="utf-8")  # about 4 s, one at a time
    args = ("--input", str(source), "--format", "jsonl", "--progress", "--window", "1")
    with cli.start(*args) as child:
        assert child.stderr is not None
        first = child.stderr.readline()
        still_running = child.poll() is None
        _, rest = child.communicate(timeout=60)
    assert still_running, "the first progress line came only at the end"
    assert first.startswith("progress: ")
    assert f"/{len(SLOW)} (" in first
    assert "domains/s" in first
    assert "failing" in first
    assert rest.strip().splitlines()[-1].startswith(f"progress: {len(SLOW)}/{len(SLOW)} (100%)")
