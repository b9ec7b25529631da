"""The terminal report of real checks: loopback DNS and SMTP servers, the real checker,
golden tables at 80 and 120 columns; and the command line's `-q`, `--no-advisories` and
`-v` as a user runs them.

The certificates have fixed validity and the check a fixed clock, so days left do not move;
the SMTP port, chosen by the system, is written as 25 before rendering.
Regenerate on purpose: `UPDATE_GOLDEN=1 python -m pytest tests/test_render_loopback.py`.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pytest

from starttls_check.demo.loopback.pki import Issued, chain_pem, make_ca, make_leaf
from starttls_check.demo.loopback.smtp_server import Script, server_tls_context, standard_session
from starttls_check.model.findings import Finding
from starttls_check.model.report import DomainReport
from starttls_check.render.findings import ADVISORY_HEADING
from starttls_check.render.table import render_table
from starttls_check.run.check import check_domains_async
from tests.support.threaded import BackgroundLoop

from .harness import mail_world, run
from .test_cli import Cli

GOLDEN = Path(__file__).parent / "golden"
CLOCK = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
ZONE = (
    "good.test. IN MX 10 mx.good.test.\n"
    "mx.good.test. IN A 127.0.0.2\n"
    'good.test. IN TXT "v=spf1 +all"\n'
    "broken.test. IN MX 10 mx1.broken.test.\n"
    "broken.test. IN MX 20 mx2.broken.test.\n"
    "mx1.broken.test. IN A 127.0.0.3\n"
    "mx2.broken.test. IN A 127.0.0.4\n"
    'broken.test. IN TXT "v=spf1 mx -all"\n'
    '_dmarc.broken.test. IN TXT "v=DMARC1; p=reject"\n'
)


def _servers(ca: Issued) -> dict[str, Script]:
    def serving(names: list[str], **validity: datetime) -> Script:
        leaf = make_leaf(names, ca, **validity)
        context = server_tls_context(chain_pem(leaf, ca), leaf.key_pem)
        return partial(standard_session, hostname=names[0], tls_context=context)

    start = datetime(2026, 9, 1, tzinfo=UTC)
    return {
        "127.0.0.2": serving(
            ["mx.good.test"], not_before=start, not_after=datetime(2027, 2, 28, tzinfo=UTC)
        ),
        # expired two days before the clock, and for another name
        "127.0.0.3": serving(
            ["mail.other.test"], not_before=start, not_after=datetime(2026, 11, 29, tzinfo=UTC)
        ),
        "127.0.0.4": partial(
            standard_session, hostname="mx2.broken.test", tls_context=None, offer_starttls=False
        ),
    }


def _at_port_25(report: DomainReport, port: int) -> DomainReport:
    """The report as if the servers listened on port 25 (the system picked `port`)."""

    def at_25(f: Finding) -> Finding:
        hint = f.hint.replace(f"_{port}._tcp", "_25._tcp")
        return dataclasses.replace(f, subject=dataclasses.replace(f.subject, port=25), hint=hint)

    hosts = tuple(
        dataclasses.replace(h, port=25, findings=tuple(at_25(f) for f in h.findings))
        for h in report.hosts
    )
    return dataclasses.replace(report, hosts=hosts)


@pytest.fixture(scope="module")
def loopback_reports() -> list[DomainReport]:
    async def scenario() -> list[DomainReport]:
        ca = make_ca("render test CA")
        async with mail_world(ZONE, _servers(ca), ca=ca) as world:
            settings = world.settings(
                policy_checks=True, dnssec_mode="resolver", clock=lambda: CLOCK
            )
            reports = await check_domains_async(["good.test", "broken.test"], settings)
            return [_at_port_25(r, world.port) for r in reports]

    return run(scenario())


@pytest.mark.parametrize("width", [80, 120])
def test_loopback_table_golden(loopback_reports: list[DomainReport], width: int) -> None:
    text = render_table(loopback_reports, color=False, width=width)
    path = GOLDEN / f"loopback.{width}.txt"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(text)
    assert text == path.read_text()


def test_loopback_table_at_80_columns_reads_as_meant(loopback_reports: list[DomainReport]) -> None:
    text = render_table(loopback_reports, color=False, width=80)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80
    rows = [
        line for line in lines if line.startswith(("mx.good.test (", "mx1.broken", "mx2.broken"))
    ]
    assert len(rows) == 3  # one line per address
    assert "TLS 1.3" in rows[0]
    assert "valid" in rows[0]
    assert "expired +1" in rows[1]  # the certificate as a word
    # The advisories (SPF +all, no DMARC, no TLS-RPT) follow the transport findings, short.
    good = text[: text.index("good.test: PASS")]
    assert good.index(ADVISORY_HEADING) < good.index("spf.pass-all")
    assert "v=spf1 mx -all" not in text  # no advisory hint without -v
    assert lines[-1] == "1 pass · 0 warn · 1 fail · 0 inconclusive"


# --- the command line ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    ca = make_ca("render cli CA")
    ca_file = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca_file.write_bytes(ca.cert_pem)
    with BackgroundLoop() as background:
        world = background.enter_async_context(mail_world(ZONE, _servers(ca), ca=ca))
        yield Cli(dns_port=world.dns.port, smtp_port=world.port, ca_file=ca_file)


def test_quiet_prints_only_the_verdict_lines(cli: Cli) -> None:
    result = cli.check(
        "-q", "--dnssec", "resolver", "good.test", "broken.test", env={"COLUMNS": "60"}
    )
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines() == [
        "good.test: PASS — mail to this domain travels encrypted, to certificates valid for "
        "each MX",
        "broken.test: FAIL — mail to this domain can travel in clear text, or not at all",
    ]


def test_quiet_and_verbose_together_are_a_usage_error(cli: Cli) -> None:
    result = cli.check("-q", "-v", "good.test")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "-q" in result.stderr


def test_no_advisories_hides_them_from_the_table_not_from_json(cli: Cli, tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    args = ("--dnssec", "resolver", "--no-color", "good.test", "--output", f"json:{report}")
    shown = cli.check(*args)
    hidden = cli.check("--no-advisories", *args)
    assert shown.returncode == hidden.returncode == 0
    assert "spf.pass-all" in shown.stdout
    assert "spf.pass-all" not in hidden.stdout
    assert "good.test: PASS" in hidden.stdout
    codes = [f["code"] for f in json.loads(report.read_text())["reports"][0]["findings"]]
    assert "spf.pass-all" in codes  # JSON is the full record
    as_json = cli.check("--no-advisories", "--format", "json", *args[:2], "good.test")
    assert "spf.pass-all" in as_json.stdout


def test_the_config_file_can_hide_advisories_and_the_command_line_show_them(
    cli: Cli, tmp_path: Path
) -> None:
    config = tmp_path / "check.toml"
    config.write_text('advisories = false\ndnssec = "resolver"\n[domains."good.test"]\n')
    hidden = cli.check("--config", str(config), "--no-color")
    shown = cli.check("--config", str(config), "--advisories", "--no-color")
    assert hidden.returncode == shown.returncode == 0, hidden.stderr
    assert "spf.pass-all" not in hidden.stdout
    assert "spf.pass-all" in shown.stdout


def test_verbose_puts_each_transcript_above_its_own_table(cli: Cli) -> None:
    result = cli.check("-v", "--no-color", "--dnssec", "resolver", "good.test", "broken.test")
    text = result.stdout
    order = [
        text.index("=== mx.good.test"),
        text.index("good.test: PASS"),
        text.index("=== mx1.broken.test"),
        text.index("broken.test: FAIL"),
    ]
    assert order == sorted(order)
    assert "v=spf1 mx -all" in text  # -v gives advisories their hints
    assert text.rstrip().endswith("1 pass · 0 warn · 1 fail · 0 inconclusive")
