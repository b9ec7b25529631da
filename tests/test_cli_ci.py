"""The CI-facing command line: config files, extra outputs, baselines, and the examples,
run as real processes against the built-in demo."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import xmlschema

from starttls_check.cli.config import load_config

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
JUNIT_XSD = Path(__file__).parent / "data" / "junit.xsd"


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "starttls_check", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cwd,
    )


def test_outputs_go_to_files_while_the_terminal_gets_the_table(tmp_path: Path) -> None:
    junit, report, summary = tmp_path / "r.xml", tmp_path / "r.json", tmp_path / "r.md"
    result = cli(
        "--demo",
        "--no-color",
        "--output",
        f"junit:{junit}",
        "--output",
        f"json:{report}",
        "--output",
        f"markdown:{summary}",
    )
    assert result.returncode == 1
    assert "good.test: PASS" in result.stdout  # the table, as without --output
    xmlschema.XMLSchema(JUNIT_XSD).validate(str(junit))
    assert json.loads(report.read_text())["exit_code"] == 1
    assert "plain\\.test" in summary.read_text()  # Markdown-escaped


def test_bad_output_argument_is_a_usage_error(tmp_path: Path) -> None:
    result = cli("--demo", "--output", "pdf:x.pdf")
    assert result.returncode == 2
    assert "bad output 'pdf:x.pdf'" in result.stderr
    unwritable = cli("--demo", "--output", f"json:{tmp_path}/missing/dir/r.json")
    assert unwritable.returncode == 2
    assert "cannot write json report" in unwritable.stderr


def test_config_policy_applies_and_the_command_line_wins(tmp_path: Path) -> None:
    config = tmp_path / "policy.toml"
    config.write_text(
        'allow = ["starttls.not-offered"]\n'
        'fail_on = "warn"\n'
        '[domains."good.test"]\n'
        '[domains."expired.test"]\n'
        'allow = ["cert.expired"]\n'
    )
    result = cli("--demo", "--config", str(config), "--format", "json")
    reports = {r["domain"]: r for r in json.loads(result.stdout)["reports"]}
    assert reports["expired.test"]["verdict"] == "pass"  # the domain's own waiver
    assert reports["expired.test"]["policy"]["fail_on"] == "warn"  # the file's default
    assert reports["wrongname.test"]["verdict"] == "warn"
    assert result.returncode == 1  # fail_on = "warn" and wrongname.test warns
    loosened = cli("--demo", "--config", str(config), "--fail-on", "fail", "--format", "json")
    assert loosened.returncode == 0
    assert {r["policy"]["fail_on"] for r in json.loads(loosened.stdout)["reports"]} == {"fail"}


def test_config_errors_name_file_and_line(tmp_path: Path) -> None:
    config = tmp_path / "policy.toml"
    config.write_text('fail_on = "warn"\n\n[domains."example.com"]\nrequire_valid_certs = true\n')
    result = cli("--config", str(config))
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert f"{config}:4: unknown key 'require_valid_certs'" in line


def test_baseline_reports_drift_and_refuses_newer_schemas(tmp_path: Path) -> None:
    first = tmp_path / "first.json"
    assert cli("--demo", "--output", f"json:{first}").returncode == 1
    again = cli("--demo", "--baseline", str(first), "--format", "json")
    assert again.returncode == 1  # drift alone is informational here
    codes = {f["code"] for r in json.loads(again.stdout)["reports"] for f in r["findings"]}
    drift = {c for c in codes if c.startswith("drift.")}
    assert drift <= {"drift.cert-changed", "drift.address-added", "drift.address-removed"}
    assert codes - drift == {"mta-sts.txt-missing"}  # the demo publishes no MTA-STS
    document = json.loads(first.read_text())
    document["schema_version"] = 99
    newer = tmp_path / "newer.json"
    newer.write_text(json.dumps(document))
    refused = cli("--demo", "--baseline", str(newer))
    assert refused.returncode == 2
    assert "newer starttls-check (schema version 99)" in refused.stderr


# --- examples/ ---------------------------------------------------------------------------


def test_example_config_loads() -> None:
    config = load_config(EXAMPLES / "starttls-check.toml")
    assert config.domains == ("example.com", "example.org", "example.net")


def example_command(path: Path) -> list[str]:
    """The starttls-check command line in a CI example, as its shell would split it."""
    (line,) = [
        line.strip().removeprefix("- ")
        for line in path.read_text().splitlines()
        if re.match(r"\s*(- )?starttls-check ", line)
    ]
    return shlex.split(line)[1:]


@pytest.mark.parametrize("example", ["github-actions.yml", "gitlab-ci.yml"])
def test_ci_example_command_runs_against_the_demo(example: str, tmp_path: Path) -> None:
    """The example's own options, with the demo standing in for the config's domains."""
    args = example_command(EXAMPLES / example)
    config_at = args.index("--config")
    del args[config_at : config_at + 2]
    result = cli("--demo", *args, cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert result.stderr == ""
    xmlschema.XMLSchema(JUNIT_XSD).validate(str(tmp_path / "starttls-check.xml"))
    assert json.loads((tmp_path / "starttls-check.json").read_text())["exit_code"] == 1
    assert "mixed\\.test" in (tmp_path / "starttls-check.md").read_text()
    if "--format" in args and args[args.index("--format") + 1] == "github":
        assert re.search(
            r"^::error title=starttls-check starttls\.not-offered::", result.stdout, re.M
        )


def test_monitor_reports_only_changes(tmp_path: Path) -> None:
    """Two runs of the cron/systemd monitor: the first reports, the second reports drift."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "starttls-check"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m starttls_check "$@"\n')
    wrapper.chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "STATE_DIR": str(tmp_path / "state"),
    }
    monitor = EXAMPLES / "monitor" / "starttls-check-monitor"

    def run_monitor() -> str:
        done = subprocess.run(
            ["sh", str(monitor), "--demo"],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    first = run_monitor()
    assert first.startswith("starttls-check: exit code 1 (was none)")
    assert (tmp_path / "state" / "last.json").is_file()
    second = run_monitor()  # the demo's certificates are new on every run: drift
    assert second.startswith("starttls-check: exit code 1 (was 1),")
    assert "drift.cert-changed" in second


def test_explain_prints_the_long_form_and_rejects_unknown_codes() -> None:
    result = cli("--explain", "cert.incomplete-chain")
    assert result.returncode == 0
    for heading in ("WHAT", "WHY IT MATTERS", "HOW TO FIX", "HOW TO VERIFY"):
        assert f"\n{heading}\n" in result.stdout
    assert "smtpd_tls_chain_files" in result.stdout
    typo = cli("--explain", "cert.expird")
    assert typo.returncode == 2
    (line,) = typo.stderr.strip().splitlines()
    assert "did you mean cert.expired" in line


def test_transcript_comes_before_the_table() -> None:
    result = cli("--demo", "--no-color", "-v")
    assert result.returncode == 1
    out = result.stdout
    assert out.index("=== mx.good.test [127.0.0.2]:") < out.index("good.test: PASS")
    assert "-> STARTTLS" in out
    assert "<- 220 2.0.0 Ready to start TLS" in out
    assert "chain    2 certificates, as served" in out
