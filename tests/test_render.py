"""Renderers: terminal safety, the table and JSON against golden files, the schema.

Golden files are regenerated only on purpose:
`UPDATE_GOLDEN=1 python -m pytest tests/test_render.py`.
"""

from __future__ import annotations

import dataclasses
import json
import os
from importlib.resources import files
from pathlib import Path

import jsonschema
import pytest

from starttls_check.model.catalogue import finding
from starttls_check.model.dns import DnsStatus, TxtLookup
from starttls_check.model.findings import Verdict
from starttls_check.model.report import (
    Delivery,
    DomainReport,
    HostReport,
    MtaStsFacts,
    PolicyFacts,
    PolicyUse,
    SenderOutcome,
    SenderOutcomes,
    StsMode,
)
from starttls_check.model.session import CertProblem, SessionFacts, TlsResult, TrustVerdict
from starttls_check.render import render
from starttls_check.render.columns import (
    fitting_level,
    hosts_table,
    layout,
    short_cipher,
    tls_name,
)
from starttls_check.render.findings import ADVISORY_HEADING
from starttls_check.render.json_report import render_json
from starttls_check.render.sanitize import terminal_safe
from starttls_check.render.table import render_table
from starttls_check.render.terminal import render_to_text
from starttls_check.render.transcript import render_transcript
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
    ("delivery", "use", "absent", "short"),
    [
        (Delivery.ENCRYPTED, PolicyUse.ABSENT, "no policy", "no policy → encrypted"),
        (Delivery.REFUSED, PolicyUse.APPLIED, "no policy", "REFUSES"),
        (Delivery.ENCRYPTED, PolicyUse.TESTING, "no policy", "testing, reports"),
        (Delivery.CLEAR_TEXT, PolicyUse.IGNORED, "no TLSA", "TLSA ignored → CLEAR TEXT"),
        (Delivery.AUTHENTICATED, PolicyUse.APPLIED, "no TLSA", "encrypted, authenticated"),
        (Delivery.ENCRYPTED, PolicyUse.APPLIED, "no TLSA", "encrypted, unauthenticated"),
        (Delivery.ENCRYPTED, PolicyUse.NOT_APPLICABLE, "", "encrypted"),
        (Delivery.DEFERRED_IF_SIGNED, PolicyUse.APPLIED, "no TLSA", "defers if signed"),
    ],
)
def test_sender_outcomes_are_shortened_without_losing_the_consequence(
    delivery: Delivery, use: PolicyUse, absent: str, short: str
) -> None:
    from starttls_check.render.table import _sender_word

    outcome = SenderOutcome(delivery=delivery, policy=use, reason="(the sentence)")
    assert _sender_word(outcome, absent) == short


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
    opportunistic = "delivers encrypted (TLS 1.2), certificate not checked"
    senders = SenderOutcomes(
        opportunistic=SenderOutcome(
            delivery=Delivery.ENCRYPTED, policy=PolicyUse.NOT_APPLICABLE, reason=opportunistic
        ),
        mta_sts=SenderOutcome(
            delivery=Delivery.AUTHENTICATED,
            policy=PolicyUse.APPLIED,
            reason="delivers encrypted and authenticated",
        ),
        dane=SenderOutcome(
            delivery=Delivery.ENCRYPTED,
            policy=PolicyUse.ABSENT,
            reason="no TLSA records: " + opportunistic,
        ),
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
        fetch=None,
        policy_text="version: STSv1\nmode: enforce\nmx: mail.policy.test\nmax_age: 86400\n",
        mode=StsMode.ENFORCE,
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


def _table_words(hosts: tuple[HostReport, ...], width: int) -> tuple[str, list[str]]:
    """The hosts table alone at `width`, and every word its headers and cells hold."""
    level = fitting_level(hosts, width)
    chosen = layout(hosts, level)
    words = [w for h in chosen.headers for w in h.split()]
    words += [w for row in chosen.rows for cell in row for w in cell.plain.split()]
    return render_to_text([hosts_table(hosts, width)], color=False, width=width), words


def _lines_holding(text: str, word: str) -> list[str]:
    return [line for line in text.splitlines() if word in line.split()]


@pytest.mark.parametrize("width", range(72, 201, 4))
def test_no_cell_is_split_inside_a_word(width: int) -> None:
    for report in (sample_report(), policy_report()):
        text, words = _table_words(report.hosts, width)
        for word in words:
            assert _lines_holding(text, word), (width, word, text)
        assert len(text.splitlines()) == 1 + len(report.hosts), text  # one line per address
        assert max(len(line) for line in text.splitlines()) <= width


def _provider_host(mx: str, address: str, cipher: str) -> HostReport:
    tls = TlsResult(
        version="TLSv1.2",
        cipher=cipher,
        cipher_bits=256,
        chain=(cert_info(mx, 200),),
        handshake_ms=1.0,
    )
    trust = TrustVerdict(problems=(), trusted_path=(), checked_name=mx, detail="")
    return host_report(mx, address, facts=SessionFacts(tls=tls), trust=trust, preference=0)


@pytest.mark.parametrize(
    ("mx", "address", "cipher"),
    [
        # A hosted-mail MX name of 39 characters on IPv4 ...
        ("policy-test.mail.protection.example.net", "192.0.2.25", "ECDHE-RSA-AES256-GCM-SHA384"),
        # ... and a short one on a long IPv6 address.
        ("aspmx.l.example.net", "2001:db8:400c:c0b::1b", "ECDHE-ECDSA-CHACHA20-POLY1305"),
    ],
)
def test_ordinary_results_keep_one_line_per_address_at_80_columns(
    mx: str, address: str, cipher: str
) -> None:
    hosts = (_provider_host(mx, address, cipher), _provider_host(mx, "192.0.2.26", cipher))
    text, words = _table_words(hosts, 80)
    assert len(text.splitlines()) == 3, text
    for word in words:
        assert _lines_holding(text, word), (word, text)


def test_too_long_for_any_level_wraps_at_spaces_before_folding() -> None:
    mx = "mx-eu-west-1.mail.prot.example.net"  # with an IPv6 address, too wide for one line
    hosts = (_provider_host(mx, "2001:db8:400c:c0b::1b", "ECDHE-RSA-AES128-GCM-SHA256"),)
    text, words = _table_words(hosts, 80)
    lines = text.splitlines()
    assert lines[1].startswith(mx + " ")  # the name whole, the preference under it
    assert lines[2].split() == ["(0)"]
    for word in words:
        assert _lines_holding(text, word), (word, text)
    # Shorter by three, but with two certificate problems: the certificate wraps too.
    bad = dataclasses.replace(
        _provider_host(mx[3:], "2001:db8:400c:c0b::1b", "ECDHE-RSA-AES128-GCM-SHA256"),
        trust=TrustVerdict(
            problems=(CertProblem.EXPIRED, CertProblem.SELF_SIGNED),
            trusted_path=(),
            checked_name=mx[3:],
            detail="",
        ),
    )
    text, words = _table_words((bad,), 80)
    lines = text.splitlines()
    assert lines[1].split() == [mx[3:], "2001:db8:400c:c0b::1b", "TLS", "1.2", "expired", "pass"]
    assert lines[2].split() == ["(0)", "+1"]


def test_a_word_is_folded_only_in_the_mx_name_and_only_when_nothing_else_fits() -> None:
    mx = "a-very-long-mail-exchanger-name.mail.protection.example.net"
    hosts = (_provider_host(mx, "2001:db8:400c:c0b::1b", "ECDHE-RSA-AES128-GCM-SHA256"),)
    for width in (60, 80):
        text, _words = _table_words(hosts, width)
        lines = text.splitlines()
        assert lines[0].split() == ["MX", "(pref)", "Address", "STARTTLS", "Cert", "Verdict"]
        assert lines[1].split()[1:] == ["2001:db8:400c:c0b::1b", "TLS", "1.2", "valid", "pass"]
        assert mx not in text  # folded, and only the name
        assert max(len(line) for line in lines) <= width


@pytest.mark.parametrize(
    ("cipher", "short"),
    [
        ("TLS_AES_256_GCM_SHA384", "AES256-GCM"),
        ("TLS_AES_128_CCM_8_SHA256", "AES128-CCM8"),
        ("TLS_CHACHA20_POLY1305_SHA256", "CHACHA20"),
        ("ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-AES128-GCM"),
        ("ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-CHACHA20"),
        ("DHE-RSA-AES256-GCM-SHA384", "DHE-AES256-GCM"),
        ("ECDHE-RSA-AES256-SHA384", "ECDHE-AES256-SHA384"),  # CBC: its MAC stays
        ("AES256-SHA", "AES256-SHA"),  # static RSA, as OpenSSL names it
        ("AES256-GCM-SHA384", "AES256-GCM-SHA384"),
        ("DES-CBC3-SHA", "DES-CBC3-SHA"),
    ],
)
def test_ciphers_are_abbreviated_keeping_key_exchange_and_bulk_cipher(
    cipher: str, short: str
) -> None:
    assert short_cipher(cipher) == short


@pytest.mark.parametrize(
    ("version", "name"),
    [
        ("TLSv1", "TLS 1.0"),
        ("TLSv1.1", "TLS 1.1"),
        ("TLSv1.2", "TLS 1.2"),
        ("TLSv1.3", "TLS 1.3"),
        ("SSLv3", "SSL 3.0"),
        ("unknown", "unknown"),
    ],
)
def test_versions_are_named_as_people_read_them(version: str, name: str) -> None:
    assert tls_name(version) == name


def test_human_output_names_versions_json_keeps_openssl_values() -> None:
    legacy = dataclasses.replace(sample_report(), hosts=(_legacy_host(),))
    table = render_table([legacy], color=False, width=120)
    transcript = render_transcript([legacy], color=False, width=120)
    assert "TLS 1.0" in table
    assert "TLSv1" not in table
    assert "TLS 1.0, " in transcript
    facts = json.loads(render_json([legacy], NOW))["reports"][0]["hosts"][0]["facts"]
    assert facts["tls"]["version"] == "TLSv1"


def _legacy_host() -> HostReport:
    host = _provider_host("mx.legacy.test", "127.0.0.2", "ECDHE-RSA-AES256-SHA")
    assert host.facts.tls is not None
    tls = dataclasses.replace(host.facts.tls, version="TLSv1")
    return dataclasses.replace(host, facts=dataclasses.replace(host.facts, tls=tls))


def test_senders_line_indents_where_it_wraps() -> None:
    text = render_table([policy_report()], color=False, width=80)
    senders = text.index("senders: ")
    first, second = text[text.rindex("\n", 0, senders) + 1 :].splitlines()[:2]
    assert first.startswith("mail.policy.test [127.0.0.9, ::1] senders: opportunistic")
    assert second.startswith("  ")
    assert not second.startswith("   ")
    wide = render_table([policy_report()], color=False, width=200)
    assert sum("senders:" in line for line in wide.splitlines()) == 1  # one line when it fits


# --- advisories -------------------------------------------------------------------------------


def _with_advisories() -> DomainReport:
    """sample_report() plus the advisories of policy_report(), listed first."""
    report = sample_report()
    return dataclasses.replace(report, findings=policy_report().findings + report.findings)


def test_advisories_come_after_transport_findings_one_line_each() -> None:
    text = render_table([_with_advisories()], color=False, width=80)
    lines = text.splitlines()
    heading = lines.index(ADVISORY_HEADING)
    assert heading > max(i for i, line in enumerate(lines) if line.startswith(("✗ smtp", "! cert")))
    advisory_lines = lines[heading + 1 : heading + 4]
    assert [line.split()[1] for line in advisory_lines] == [
        "spf.pass-all",
        "dmarc.missing",
        "tls-rpt.missing",
    ]
    assert lines[heading + 4].startswith("example.test: FAIL")  # then the verdict: no hints
    assert "v=spf1 mx -all" not in text


def test_verbose_gives_advisories_their_hints() -> None:
    text = render_table([_with_advisories()], color=False, width=80, transcript=True)
    assert "v=spf1 mx -all" in text
    assert text.index(ADVISORY_HEADING) < text.index("v=spf1 mx -all")


def test_no_advisories_hides_them_and_nothing_else() -> None:
    shown = render_table([_with_advisories()], color=False, width=80)
    hidden = render_table([_with_advisories()], color=False, width=80, advisories=False)
    for code in ("spf.pass-all", "dmarc.missing", "tls-rpt.missing"):
        assert code in shown
        assert code not in hidden
    assert ADVISORY_HEADING not in hidden
    assert hidden == shown.replace(
        shown[shown.index(ADVISORY_HEADING) : shown.index("example.test: FAIL")], ""
    )


def test_an_advisory_line_is_cut_at_the_terminal_edge() -> None:
    long = finding("dmarc.missing", "policy.test", "no DMARC record " + "x " * 100)
    report = dataclasses.replace(sample_report(), findings=(long,))
    text = render_table([report], color=False, width=80)
    (line,) = [line for line in text.splitlines() if "dmarc.missing" in line]
    assert line.endswith("…")
    assert len(line) == 80


# --- many domains: the closing count, -v, -q ----------------------------------------------------


def test_many_domains_close_with_a_count_of_verdicts() -> None:
    reports = [dataclasses.replace(sample_report(), verdict=v) for v in Verdict]
    last = render_table(reports, color=False, width=120).splitlines()[-1]
    # Every verdict the model has is counted, in its order: a new one needs no change here.
    assert last == " · ".join(f"1 {v.value}" for v in Verdict)
    two = render_table([sample_report(), policy_report()], color=False, width=120)
    assert two.splitlines()[-1] == "1 pass · 0 warn · 1 fail · 0 inconclusive"
    one = render_table([sample_report()], color=False, width=120)
    assert " · 0 inconclusive" not in one


def test_verbose_puts_each_transcript_beside_its_own_table() -> None:
    from .test_transcript import transcript_report

    text = render_table([transcript_report(), policy_report()], color=False, transcript=True)
    first_dialogue = text.index("=== mx1.example.test")
    first_table = text.index("MX (pref)")
    second_title = text.index("\npolicy.test\n")
    second_dialogue = text.index("=== mail.policy.test")
    second_table = text.index("MX (pref)", second_dialogue)
    assert first_dialogue < first_table < second_title < second_dialogue < second_table


def test_quiet_prints_one_unwrapped_line_per_domain() -> None:
    reports = [sample_report(), policy_report()]
    text = render_quiet(reports, color=False, width=60)
    assert text.splitlines() == [
        "example.test: FAIL — mail to this domain can travel in clear text, or not at all",
        "policy.test: PASS — mail to this domain travels encrypted, to certificates valid "
        "for each MX",
    ]
    assert (
        render("table", reports, generated_at=NOW, quiet=True, width=60) == text
    )  # what -q asks of the dispatcher


def test_a_warning_verdict_names_its_causes() -> None:
    """A stock Postfix goes from PASS to WARN under --deep for static-RSA ciphers: the
    verdict sentence says which findings made it a warning."""
    from starttls_check.render.summary import verdict_sentence

    static = finding("cipher.static-rsa", "mx.example.test", "accepts static-rsa ciphers")
    report = dataclasses.replace(
        sample_report(), hosts=(), findings=(static,), verdict=Verdict.WARN
    )
    assert verdict_sentence(report).endswith("somewhere (cipher.static-rsa)")
