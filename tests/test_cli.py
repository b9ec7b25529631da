"""The command line as a user runs it: a real process, real loopback servers, exit codes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from importlib.resources import files
from pathlib import Path

import jsonschema
import pytest

from starttls_check.demo.loopback.pki import Issued, make_ca
from starttls_check.demo.loopback.smtp_server import Script, ServerConnection, standard_session
from tests.support.threaded import BackgroundLoop

from .harness import good_script, mail_world

ZONE = (
    "good.test. IN MX 10 mx.good.test.\n"
    "mx.good.test. IN A 127.0.0.2\n"
    "plain.test. IN MX 10 mx.plain.test.\n"
    "mx.plain.test. IN A 127.0.0.3\n"
    "hostile.test. IN MX 10 mx.hostile.test.\n"
    "mx.hostile.test. IN A 127.0.0.4\n"
    "blocked.test. IN MX 10 mx.blocked.test.\n"
    "mx.blocked.test. IN A 127.0.0.5\n"
)
HOSTILE = "\x1b[2J\x1b]0;owned\x07 [bold red]x[/] \u202e"


async def hostile_greeting(conn: ServerConnection) -> None:
    await conn.send(f"421 {HOSTILE}\r\n".encode())
    await conn.read_line()


@dataclass
class Cli:
    """Runs `python -m starttls_check` against the loopback world."""

    dns_port: int
    smtp_port: int
    ca_file: Path

    def __call__(
        self, *args: str, env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "starttls_check", *args]
        inherited = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
        environment = {**inherited, **(env or {})}
        return subprocess.run(
            command, capture_output=True, text=True, timeout=60, env=environment, check=False
        )

    def check(
        self, *args: str, env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return self(
            "--nameserver",
            f"127.0.0.1:{self.dns_port}",
            "--port",
            str(self.smtp_port),
            "--ca-file",
            str(self.ca_file),
            "--timeout",
            "2",
            "--ehlo",
            "client.test",
            *args,
            env=env,
        )


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    ca: Issued = make_ca("cli test CA")
    ca_file = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca_file.write_bytes(ca.cert_pem)
    plain: Script = partial(
        standard_session, hostname="mx.plain.test", tls_context=None, offer_starttls=False
    )
    servers = {
        "127.0.0.2": good_script("mx.good.test", ca),
        "127.0.0.3": plain,
        "127.0.0.4": hostile_greeting,
    }
    with BackgroundLoop() as background:
        world = background.enter_async_context(
            mail_world(ZONE, servers, ca=ca, drop_names=["timeout.test."])
        )
        yield Cli(dns_port=world.dns.port, smtp_port=world.port, ca_file=ca_file)


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    return lines[0]


def test_pass_exits_0_with_a_readable_table(cli: Cli) -> None:
    result = cli.check("good.test", "--no-color")
    assert result.returncode == 0, result.stderr
    assert "good.test: PASS" in result.stdout
    assert "TLS 1.3" in result.stdout  # the version as people name it, not OpenSSL
    assert "\x1b" not in result.stdout
    assert result.stderr == ""


def test_fail_exits_1(cli: Cli) -> None:
    result = cli.check("good.test", "plain.test")
    assert result.returncode == 1
    assert "starttls.not-offered" in result.stdout
    assert "plain.test: FAIL" in result.stdout


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["exa mple.test"], "bad domain"),
        (["--nameserver", "ns.example.test", "good.test"], "bad name server"),
        (["--port", "0", "good.test"], "--port"),
        (["--timeout", "0", "good.test"], "bad timeout"),
        (["--ca-file", "/nonexistent/ca.pem", "good.test"], "--ca-file"),
        (["--format", "xml", "good.test"], "--format"),
        ([], "give at least one domain"),
        (["--demo", "good.test"], "--demo"),
        (["--bogus"], "--bogus"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(cli: Cli, args: list[str], fragment: str) -> None:
    result = cli(*args)
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert line.startswith("starttls-check: error: ")
    assert fragment in line
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("output", "fragment"),
    [
        ("json:/nonexistent/report.json", "folder /nonexistent does not exist"),
        ("json:{tmp}", "it is a folder"),
        ("junit:{tmp}/a.xml --output json:{tmp}/a.xml", "another --output writes there too"),
    ],
)
def test_output_paths_are_checked_before_anything_is_probed(
    cli: Cli, tmp_path: Path, output: str, fragment: str
) -> None:
    # timeout.test's name server never answers: were it asked, the run would take seconds
    # and exit 3; a path refused first exits 2 at once.
    args = [a.replace("{tmp}", str(tmp_path)) for a in output.split(" ")]
    result = cli.check("timeout.test", "--output", *args)
    assert result.returncode == 2
    assert fragment in one_line(result.stderr)
    assert result.stdout == ""


@pytest.mark.parametrize(("domain", "code"), [("good.test", 2), ("plain.test", 1)])
def test_an_output_that_fails_to_write_keeps_a_failing_verdict(
    cli: Cli, domain: str, code: int
) -> None:
    """/dev/full passes every check before the run and fails the write (ENOSPC)."""
    result = cli.check(domain, "--no-color", "--output", "json:/dev/full")
    assert result.returncode == code
    assert "cannot write json report to /dev/full: No space left on device" in one_line(
        result.stderr
    )
    assert f"{domain}: " in result.stdout  # the verdict is still shown


def test_ca_file_without_certificates_is_a_usage_error(cli: Cli, tmp_path: Path) -> None:
    empty = tmp_path / "empty.pem"
    empty.write_text("not a certificate\n")
    result = cli("--nameserver", f"127.0.0.1:{cli.dns_port}", "--ca-file", str(empty), "good.test")
    assert result.returncode == 2
    assert "no PEM certificates" in one_line(result.stderr)


def test_dns_timeout_is_inconclusive_exit_3(cli: Cli) -> None:
    result = cli.check("timeout.test", "--timeout", "1")
    assert result.returncode == 3, result.stdout
    assert "dns.timeout" in result.stdout
    assert "INCONCLUSIVE" in result.stdout


def test_unreachable_name_server_is_inconclusive_exit_3(cli: Cli) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens there any more: the name server cannot be reached.
    result = cli("--nameserver", f"127.0.0.1:{port}", "--timeout", "1", "good.test")
    assert result.returncode == 3, result.stdout
    # A closed UDP port gives no answer dnspython can tell from silence: a timeout.
    assert "dns.timeout" in result.stdout


def test_every_connection_timing_out_is_inconclusive_exit_3(cli: Cli) -> None:
    """A listener whose accept queue is full drops new SYNs: a real connect timeout."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.5", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        fillers = []
        try:
            for _ in range(4):
                filler = socket.socket()
                filler.setblocking(False)
                fillers.append(filler)
                filler.connect_ex(("127.0.0.5", port))
            result = cli(
                "--nameserver",
                f"127.0.0.1:{cli.dns_port}",
                "--port",
                str(port),
                "--timeout",
                "1",
                "blocked.test",
            )
        finally:
            for filler in fillers:
                filler.close()
    assert result.returncode == 3, result.stdout
    assert "connect.timeout" in result.stdout
    assert "port 25" in result.stdout  # says that outbound port 25 may be blocked


def test_json_validates_against_the_shipped_schema(cli: Cli) -> None:
    result = cli.check("good.test", "plain.test", "hostile.test", "--format", "json")
    assert result.returncode == 1
    document = json.loads(result.stdout)
    schema = json.loads(files("starttls_check").joinpath("schema/report.schema.json").read_text())
    jsonschema.validate(document, schema, format_checker=jsonschema.FormatChecker())
    assert document["exit_code"] == 1
    assert [r["verdict"] for r in document["reports"]] == ["pass", "fail", "fail"]
    assert result.stdout.isascii()  # C1 controls and bidi overrides are escaped


def test_hostile_server_text_is_inert_in_the_table(cli: Cli) -> None:
    for env in ({"NO_COLOR": "1"}, {}):
        result = cli.check("hostile.test", env=env)
        assert result.returncode == 1
        assert "\\x1b[2J" in result.stdout  # shown, visibly escaped
        assert "[bold red]x[/]" in result.stdout  # shown as text, not as markup
        assert "\\u202e" in result.stdout
        assert "\x1b[2J" not in result.stdout
        assert "\x07" not in result.stdout
        assert "\u202e" not in result.stdout


# Modules only --input, --config, --summarize, --dask, --headers, --postfix-config or
# --receive use, the "did you mean" suggestions, and DANE matching (secure TLSA records
# only): a plain check of a domain without TLSA records must not pay for them.
ONLY_FOR_OTHER_MODES = (
    "starttls_check.cli.bulk",
    "starttls_check.cli.config",
    "starttls_check.cli.sending",
    "starttls_check.run.bulk",
    "starttls_check.run.sending",
    "dask",
    "distributed",
    "difflib",
    "starttls_check.policy.dane",
)


def test_a_plain_check_does_not_import_what_other_modes_need(cli: Cli) -> None:
    result = cli.check("good.test", env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert result.returncode == 0, result.stderr
    imported = {
        line.rsplit("|", 1)[-1].strip()
        for line in result.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "starttls_check.run.check" in imported  # the listing is complete
    assert sorted(imported.intersection(ONLY_FOR_OTHER_MODES)) == []


def test_version_and_help() -> None:
    version = subprocess.run(
        [sys.executable, "-m", "starttls_check", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert version.returncode == 0
    assert version.stdout.startswith("starttls-check, version ")
    helptext = subprocess.run(
        [sys.executable, "-m", "starttls_check", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert helptext.returncode == 0
    for option in (
        "--nameserver",
        "--port",
        "--ca-file",
        "--timeout",
        "--ehlo",
        "--format",
        "--no-color",
        "--demo",
    ):
        assert option in helptext.stdout


def test_demo_runs_offline_and_reports_each_case() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "starttls_check", "--demo", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    reports = {r["domain"]: r for r in json.loads(result.stdout)["reports"]}
    assert {d: r["verdict"] for d, r in reports.items()} == {
        "secure.test": "pass",
        "good.test": "pass",
        "mixed.test": "fail",
        "plain.test": "fail",
        "expired.test": "warn",
        "wrongname.test": "warn",
        "nsec3.test": "pass",
    }

    def codes(domain: str) -> list[str]:
        return [f["code"] for h in reports[domain]["hosts"] for f in h["findings"]]

    assert codes("expired.test") == ["cert.expired"]
    assert codes("wrongname.test") == ["cert.name-mismatch"]
    assert codes("mixed.test") == ["starttls.not-offered"]
    # secure.test publishes DANE and MTA-STS: every kind of sender authenticates its MX.
    (host,) = reports["secure.test"]["hosts"]
    assert codes("secure.test") == ["dane.matched"]
    assert host["dane"]["authenticated"] is True
    assert host["senders"]["mta_sts"]["reason"] == "delivers encrypted and authenticated"
    assert host["senders"]["dane"]["delivery"] == "encrypted-authenticated"
    assert reports["secure.test"]["policies"]["mta_sts"]["mode"] == "enforce"
    # nsec3.test: the same DANE, with every absence on the way proven by NSEC3.
    assert codes("nsec3.test") == ["dane.matched"]
    assert reports["nsec3.test"]["hosts"][0]["dane"]["authenticated"] is True
