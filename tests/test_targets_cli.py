"""Targets and --protocol on the command line: a real process against loopback servers."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest

from starttls_check.demo.loopback.shared_port import servers_on_shared_port, unused_port
from tests.support.threaded import BackgroundLoop

from .test_protocols_e2e import ServfailDns, imap_server, make_tls, pop3_server


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "starttls_check", *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@dataclass
class Servers:
    port: int
    dns: ServfailDns
    ca_file: Path
    imap_heard: list[str]
    pop3_heard: list[str]

    def check(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_cli(
            "--nameserver",
            f"127.0.0.1:{self.dns.port}",
            "--ca-file",
            str(self.ca_file),
            "--timeout",
            "2",
            "--ehlo",
            "client.test",
            *args,
        )


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    """IMAP on 127.0.0.2 and POP3 on 127.0.0.3 (one port), certificates for their IPs; a
    name server that fails every query, to show that none is asked."""
    imap_tls = make_tls("127.0.0.2")
    pop3_tls = make_tls("127.0.0.3", ca=imap_tls.ca)
    ca_file = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca_file.write_bytes(imap_tls.ca.cert_pem)
    imap_heard: list[str] = []
    pop3_heard: list[str] = []
    scripts = {
        "127.0.0.2": partial(imap_server, tls_context=imap_tls.context, heard=imap_heard),
        "127.0.0.3": partial(pop3_server, tls_context=pop3_tls.context, heard=pop3_heard),
    }
    with BackgroundLoop() as background:
        dns = background.enter_async_context(ServfailDns())
        port = background.enter_async_context(servers_on_shared_port(scripts))
        yield Servers(port, dns, ca_file, imap_heard, pop3_heard)
        assert dns.asked == []


def test_imap_on_a_bracketed_address_exits_0(servers: Servers) -> None:
    servers.imap_heard.clear()
    target = f"[127.0.0.2]:{servers.port}"
    # --port is overridden by the target's own port.
    result = servers.check(
        "--protocol", "imap", "--port", str(unused_port()), "--format", "json", target
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == ""
    (report,) = json.loads(result.stdout)["reports"]
    assert report["domain"] == target
    assert report["verdict"] == "pass"
    (host,) = report["hosts"]
    assert (host["address"], host["port"]) == ("127.0.0.2", servers.port)
    assert host["facts"]["tls"]["version"] == "TLSv1.3"
    assert host["findings"] == []
    assert servers.imap_heard == ["a1 CAPABILITY", "a2 STARTTLS", "a3 CAPABILITY", "a4 LOGOUT"]


def test_pop3_table_output(servers: Servers) -> None:
    servers.pop3_heard.clear()
    target = f"[127.0.0.3]:{servers.port}"
    result = servers.check("--protocol", "pop3", "--no-color", target)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == target  # as written, which is already canonical
    assert f"{target}: PASS" in result.stdout
    assert servers.pop3_heard == ["CAPA", "STLS", "CAPA", "QUIT"]


def test_wrong_protocol_for_the_server_fails_exit_1(servers: Servers) -> None:
    """An SMTP check against the IMAP server: its greeting is not an SMTP reply."""
    result = servers.check("--format", "json", f"[127.0.0.2]:{servers.port}")
    assert result.returncode == 1
    (report,) = json.loads(result.stdout)["reports"]
    codes = [f["code"] for h in report["hosts"] for f in h["findings"]]
    assert codes == ["smtp.protocol-error"]


NAME_300 = ".".join(["a" * 63] * 4 + ["a" * 44])  # valid labels: only the length is wrong


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["[mx"], "bad target '[mx'"),
        (["[]:25"], "bad target '[]:25'"),
        (["example.com:0"], "bad port '0'"),
        (["example.com:99999"], "bad port '99999'"),
        (["2001:db8::1"], "an IPv6 address goes in brackets"),
        (["a..b"], "bad domain 'a..b'"),
        (["a" * 300], "bad domain"),
        ([NAME_300], "bad domain"),
        (["[mx]x"], "bad target '[mx]x'"),
        (["[mx]:"], "bad port ''"),
        (["--protocol", "gopher", "example.com"], "'gopher' is not one of"),
    ],
    ids=[
        "unclosed-bracket",
        "empty-brackets",
        "port-0",
        "port-99999",
        "bare-ipv6",
        "empty-label",
        "300-char-label",
        "300-char-name",
        "junk-after-bracket",
        "empty-port",
        "unknown-protocol",
    ],
)
def test_invalid_targets_are_one_line_and_exit_2(args: list[str], fragment: str) -> None:
    assert len(NAME_300) == 300
    result = run_cli(*args)
    assert result.returncode == 2, result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("starttls-check: error: ")
    assert fragment in lines[0]
    assert result.stdout == ""


def test_a_report_of_one_host_on_two_ports_is_a_usable_baseline(
    servers: Servers, tmp_path: Path
) -> None:
    report = tmp_path / "report.json"
    targets = ("[127.0.0.2]", f"[127.0.0.2]:{servers.port}")
    common = ("--protocol", "imap", "--port", str(servers.port), *targets)
    first = servers.check("--output", f"json:{report}", *common)
    assert first.returncode == 0, first.stdout + first.stderr
    assert [r["domain"] for r in json.loads(report.read_text())["reports"]] == list(targets)
    again = servers.check("--baseline", str(report), *common)
    assert again.returncode == 0, again.stderr
