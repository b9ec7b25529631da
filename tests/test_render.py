"""Renderers: terminal safety, the table and JSON against golden files, the schema.

Golden files are regenerated only on purpose:
`UPDATE_GOLDEN=1 python -m pytest tests/test_render.py`.
"""

from __future__ import annotations

import json
import os
from importlib.resources import files
from pathlib import Path

import jsonschema
import pytest

from starttls_check.model.catalogue import finding
from starttls_check.model.dns import DnsStatus, TxtLookup
from starttls_check.model.findings import Verdict
from starttls_check.model.report import DomainReport, MtaStsFacts, PolicyFacts, SenderOutcomes
from starttls_check.model.session import SessionFacts, TlsResult, TrustVerdict
from starttls_check.render.json_report import render_json
from starttls_check.render.sanitize import terminal_safe
from starttls_check.render.table import render_table
from starttls_check.render.verdicts import render_quiet

from .samples import HOSTILE, NOW, cert_info, host_report, sample_report

GOLDEN = Path(__file__).parent / "golden"


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plain text", "plain text"),
        ("\x1b[2J", "\\x1b[2J"),
        ("bell\x07", "bell\\x07"),
        ("nul\x00", "nul\\x00"),
        ("csi\x9b", "csi\\x9b"),
        ("del\x7f", "del\\x7f"),
        ("cr\rlf\n", "cr\\x0dlf\\x0a"),
        ("rtl\u202eoverride", "rtl\\u202eoverride"),
        ("isolate\u2066x", "isolate\\u2066x"),
        ("[bold]markup[/]", "[bold]markup[/]"),
        ("bücher ✓", "bücher ✓"),
    ],
)
def test_terminal_safe(raw: str, shown: str) -> None:
    assert terminal_safe(raw) == shown


def test_terminal_safe_caps_length() -> None:
    assert terminal_safe("x" * 1000, limit=10) == "x" * 9 + "…"


def assert_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(text)
    assert text == path.read_text()


def test_table_golden() -> None:
    text = render_table([sample_report()], color=False, width=100)
    assert_golden("table.txt", text)


def test_table_never_lets_server_text_act_on_the_terminal() -> None:
    for color in (False, True):
        text = render_table([sample_report()], color=color, width=100)
        assert "\x1b[2J" not in text
        assert "\x07" not in text
        assert "\u202e" not in text
        assert "\x9b" not in text
        assert "[bold red]x[/]" in text  # printed as text, never interpreted as markup
    colored = render_table([sample_report()], color=True, width=100)
    assert "\x1b[" in colored  # colour is on when asked for


def test_json_golden_and_schema() -> None:
    text = render_json([sample_report()], NOW)
    assert_golden("report.json", text)
    assert text.isascii()
    document = json.loads(text)
    schema = json.loads(files("starttls_check").joinpath("schema/report.schema.json").read_text())
    jsonschema.validate(document, schema, format_checker=jsonschema.FormatChecker())
    greeting = document["reports"][0]["hosts"][2]["facts"]["greeting"]["lines"][0]
    assert greeting == HOSTILE  # JSON keeps the facts exact; escaping is JSON's own


def test_schema_rejects_what_it_should() -> None:
    document = json.loads(render_json([sample_report()], NOW))
    schema = json.loads(files("starttls_check").joinpath("schema/report.schema.json").read_text())
    document["reports"][0]["verdict"] = "maybe"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, schema)


@pytest.mark.parametrize(
    ("outcome", "short"),
    [
        (
            "no MTA-STS policy applies: delivers encrypted (TLSv1.3), certificate not checked",
            "no policy → encrypted",
        ),
        ("refuses delivery: no STARTTLS", "REFUSES"),
        (
            "delivers as without a policy, and reports: no STARTTLS (testing mode)",
            "testing, reports",
        ),
        (
            "TLSA records are not DNSSEC-secure and are ignored: delivers in clear text",
            "TLSA ignored → CLEAR TEXT",
        ),
        ("delivers encrypted and authenticated (TLSA matched)", "encrypted, authenticated"),
    ],
)
def test_sender_outcomes_are_shortened_without_losing_the_consequence(
    outcome: str, short: str
) -> None:
    from starttls_check.render.table import _sender_word

    assert _sender_word(outcome) == short


# --- the terminal table at 80 and 120 columns ----------------------------------------------


def policy_report() -> DomainReport:
    """policy.test: one MX on IPv4 and IPv6, MTA-STS in enforce mode, and the advisories a
    typical domain has (SPF `+all`, no DMARC, no TLS-RPT)."""
    tls = TlsResult(
        version="TLSv1.2",
        cipher="ECDHE-ECDSA-CHACHA20-POLY1305",
        cipher_bits=256,
        chain=(cert_info("mail.policy.test", 61),),
        handshake_ms=2.0,
    )
    trust = TrustVerdict(
        problems=(), trusted_path=(), checked_name="mail.policy.test", detail="chains to a root"
    )
    senders = SenderOutcomes(
        opportunistic="delivers encrypted (TLSv1.2), certificate not checked",
        mta_sts="delivers encrypted and authenticated",
        dane="no TLSA records: delivers encrypted (TLSv1.2), certificate not checked",
    )
    hosts = tuple(
        host_report(
            "mail.policy.test",
            address,
            facts=SessionFacts(tls=tls),
            trust=trust,
            senders=senders,
        )
        for address in ("127.0.0.9", "::1")
    )
    advisories = (
        finding("spf.pass-all", "policy.test", "SPF record ends in +all: anyone may send as it"),
        finding("dmarc.missing", "policy.test", "no DMARC record at _dmarc.policy.test"),
        finding("tls-rpt.missing", "policy.test", "no TLS-RPT record at _smtp._tls.policy.test"),
    )
    missing = TxtLookup(name="x.policy.test", status=DnsStatus.NO_DATA, records=())
    mta_sts = MtaStsFacts(
        txt=TxtLookup(name="_mta-sts.policy.test", status=DnsStatus.OK, records=("v=STSv1;",)),
        policy_host="mta-sts.policy.test",
        policy_address="127.0.0.10",
        fetch_failure=None,
        fetch_reason="",
        policy_text="version: STSv1\nmode: enforce\nmx: mail.policy.test\nmax_age: 86400\n",
        mode="enforce",
        mx_patterns=("mail.policy.test",),
    )
    policies = PolicyFacts(tlsa=(), mta_sts=mta_sts, tls_rpt=missing, spf=missing, dmarc=missing)
    return DomainReport(
        domain="policy.test",
        ascii_domain="policy.test",
        checked_at=NOW,
        elapsed_ms=8.0,
        dns=None,
        hosts=hosts,
        findings=advisories,
        verdict=Verdict.PASS,
        policies=policies,
    )


@pytest.mark.parametrize("width", [80, 120])
def test_table_golden_at_terminal_widths(width: int) -> None:
    text = render_table([sample_report(), policy_report()], color=False, width=width)
    assert_golden(f"table.{width}.txt", text)
    assert max(len(line) for line in text.splitlines()) <= width


def test_verbose_table_golden() -> None:
    from .test_transcript import transcript_report

    text = render_table(
        [transcript_report(), policy_report()], color=False, width=80, transcript=True
    )
    assert_golden("table.verbose.80.txt", text)


def test_quiet_golden() -> None:
    text = render_quiet([sample_report(), policy_report()], color=False, width=60)
    assert_golden("quiet.txt", text)
