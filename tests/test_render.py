"""Renderers: terminal safety, the table and JSON against golden files, the schema.

Golden files are regenerated only on purpose:
`UPDATE_GOLDEN=1 python -m pytest tests/test_render.py`.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path

import jsonschema
import pytest

from starttls_check.hints import finding
from starttls_check.model import (
    CertificateInfo,
    CertProblem,
    DnsFacts,
    DnsStatus,
    DomainReport,
    HostReport,
    MxHost,
    Reply,
    SessionFacts,
    TlsResult,
    TrustVerdict,
    Verdict,
)
from starttls_check.render.json_report import render_json
from starttls_check.render.sanitize import terminal_safe
from starttls_check.render.table import render_table

GOLDEN = Path(__file__).parent / "golden"
NOW = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)
HOSTILE = "\x1b[2J\x1b]0;owned\x07 [bold red]x[/] \u202egnp.exe \x9b31m"


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


def _cert(name: str, days_left: int) -> CertificateInfo:
    return CertificateInfo(
        subject=f"CN={name}",
        issuer="CN=Example CA",
        san_dns=(name,),
        san_ip=(),
        not_before=datetime(2026, 9, 1, tzinfo=UTC),
        not_after=datetime(2027, 2, 25, tzinfo=UTC),
        days_left=days_left,
        key_type="EC secp256r1",
        key_bits=256,
        signature_algorithm="ecdsa-with-SHA256",
        signature_hash="sha256",
        sha256_fingerprint="ab" * 32,
        spki_sha256="cd" * 32,
        is_ca=False,
        self_issued=False,
    )


def _host(mx: str, address: str, **kw: object) -> HostReport:
    values: dict[str, object] = {
        "mx": mx,
        "preference": 10,
        "address": address,
        "port": 25,
        "trust": None,
        "findings": (),
        "verdict": Verdict.PASS,
    }
    values.update(kw)
    return HostReport(**values)  # type: ignore[arg-type]


def sample_report() -> DomainReport:
    good_tls = TlsResult(
        version="TLSv1.3",
        cipher="TLS_AES_256_GCM_SHA384",
        cipher_bits=256,
        chain=(_cert("mx1.example.test", 89),),
        handshake_ms=3.2,
    )
    bad_tls = TlsResult(
        version="TLSv1.2",
        cipher="ECDHE-RSA-AES128-GCM-SHA256",
        cipher_bits=128,
        chain=(_cert("mail.other.test", -3),),
        handshake_ms=4.1,
    )
    subject2 = "mx2.example.test [127.0.0.3]:25"
    subject3 = "mx3.example.test [127.0.0.4]:25"
    hosts = (
        _host(
            "mx1.example.test",
            "127.0.0.2",
            facts=SessionFacts(greeting=Reply(code=220, lines=("mx1 ESMTP",)), tls=good_tls),
            trust=TrustVerdict(
                problems=(),
                trusted_path=("CN=mx1", "CN=Example CA"),
                checked_name="mx1.example.test",
                detail="chains to a trusted root",
            ),
        ),
        _host(
            "mx2.example.test",
            "127.0.0.3",
            preference=20,
            facts=SessionFacts(tls=bad_tls),
            trust=TrustVerdict(
                problems=(CertProblem.EXPIRED, CertProblem.NAME_MISMATCH),
                trusted_path=(),
                checked_name="mx2.example.test",
                detail="",
            ),
            findings=(
                finding("cert.expired", subject2, "certificate expired on 2026-11-25 (3 days ago)"),
                finding("cert.name-mismatch", subject2, "certificate is for mail.other.test"),
            ),
            verdict=Verdict.WARN,
        ),
        _host(
            "mx3.example.test",
            "127.0.0.4",
            preference=30,
            facts=SessionFacts(greeting=Reply(code=421, lines=(HOSTILE,))),
            findings=(
                finding(
                    "smtp.greeting-rejected",
                    subject3,
                    f"greeting refused the session: 421 {HOSTILE}",
                ),
            ),
            verdict=Verdict.FAIL,
        ),
    )
    mx_hosts = tuple(
        MxHost(
            name=h.mx,
            preference=h.preference,
            implicit=False,
            cname_chain=(),
            addresses=(h.address,),
            ipv4_status=DnsStatus.OK,
            ipv6_status=DnsStatus.NO_DATA,
        )
        for h in hosts
    )
    dns = DnsFacts(
        domain="example.test", mx_status=DnsStatus.OK, mx_detail="", null_mx=False, hosts=mx_hosts
    )
    return DomainReport(
        domain="example.test",
        ascii_domain="example.test",
        checked_at=NOW,
        elapsed_ms=12.5,
        dns=dns,
        hosts=hosts,
        findings=(),
        verdict=Verdict.FAIL,
    )


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
