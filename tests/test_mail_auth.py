"""Mail authentication records: TLS-RPT, SPF and DMARC TXT records → problems
(policy/mail_auth.py) → findings (checks/mail_auth.py). Table-driven: each row is a record
set and the (code, severity) pairs it yields."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest

from starttls_check.checks.mail_auth import (
    evaluate_dmarc,
    evaluate_spf,
    evaluate_tls_rpt,
)
from starttls_check.model.dns import DnsStatus
from starttls_check.model.findings import Finding, Severity
from starttls_check.model.report import SpfQuery, SpfWalk
from starttls_check.policy.dmarc import lint_dmarc
from starttls_check.policy.mail_auth import RecordProblem, lint_spf, lint_tls_rpt
from starttls_check.policy.spf_walk import walk

from .samples import CATALOGUE
from .samples import EXPLANATIONS as EXPLANATIONS_ALL

CODES = {c: r for c, r in CATALOGUE.items() if c.startswith(("tls-rpt.", "spf.", "dmarc."))}
EXPLANATIONS = {code: EXPLANATIONS_ALL[code] for code in CODES}


INFO, WARN, FAIL = Severity.INFO, Severity.WARN, Severity.FAIL
DOMAIN = "example.com"


def outcome(findings: list[Finding]) -> list[tuple[str, Severity]]:
    for f in findings:
        assert str(f.subject) == DOMAIN
        assert f.hint == CODES[f.code].hint
    return [(f.code, f.severity) for f in findings]


# --- TLS-RPT ----------------------------------------------------------------------------

TLS_RPT_GOOD = [
    "v=TLSRPTv1; rua=mailto:tlsrpt@example.com",
    "v=TLSRPTv1;rua=mailto:tlsrpt@example.com",
    "v=TLSRPTv1;  rua=mailto:tlsrpt@example.com ;  ",
    "v=TLSRPTv1; rua=https://reports.example.net/v1/tlsrpt",
    "v=TLSRPTv1; rua=mailto:a@example.com , https://reports.example.net:8443/x",
    "v=TLSRPTv1; rua=MAILTO:a@example.com,HTTPS://reports.example.net",
    "v=TLSRPTv1; rua=mailto:tlsrpt@example.com; ext_1=future",
]


@pytest.mark.parametrize("record", TLS_RPT_GOOD)
@pytest.mark.parametrize("policy_in_use", [False, True])
def test_tls_rpt_good(record: str, *, policy_in_use: bool) -> None:
    assert evaluate_tls_rpt(DOMAIN, [record], policy_in_use=policy_in_use) == []


def test_tls_rpt_ignores_other_txt_records_at_the_name() -> None:
    records = ["some-verification=abc", TLS_RPT_GOOD[0]]
    assert evaluate_tls_rpt(DOMAIN, records, policy_in_use=True) == []


@pytest.mark.parametrize(
    ("records", "policy_in_use", "expected"),
    [
        (None, False, [("tls-rpt.missing", INFO)]),
        ([], False, [("tls-rpt.missing", INFO)]),
        (None, True, [("tls-rpt.missing", WARN)]),
        (["v=spf1 -all"], True, [("tls-rpt.missing", WARN)]),
        # Lookalikes senders discard: the version tag is case-sensitive and ends in ";".
        (["v=tlsrptv1; rua=mailto:a@example.com"], False, [("tls-rpt.missing", INFO)]),
        ([" v=TLSRPTv1; rua=mailto:a@example.com"], True, [("tls-rpt.missing", WARN)]),
        (["v=TLSRPTv1 rua=mailto:a@example.com"], True, [("tls-rpt.missing", WARN)]),
        (["v=TLSRPTv1"], False, [("tls-rpt.missing", INFO)]),
        ([TLS_RPT_GOOD[0], TLS_RPT_GOOD[3]], False, [("tls-rpt.multiple", WARN)]),
        (["v=TLSRPTv1;"], False, [("tls-rpt.syntax", WARN)]),
        (["v=TLSRPTv1; rua=tlsrpt@example.com"], False, [("tls-rpt.syntax", WARN)]),
        (["v=TLSRPTv1; rua=mailto:"], False, [("tls-rpt.syntax", WARN)]),
        (["v=TLSRPTv1; rua=mailto:nobody"], False, [("tls-rpt.syntax", WARN)]),
        (["v=TLSRPTv1; rua=http://reports.example.net/"], False, [("tls-rpt.syntax", WARN)]),
        (["v=TLSRPTv1; rua=https://"], False, [("tls-rpt.syntax", WARN)]),
        (["v=TLSRPTv1; rua=mailto:a@example.com,"], False, [("tls-rpt.syntax", WARN)]),
        (["v=TLSRPTv1; RUA=mailto:a@example.com"], False, [("tls-rpt.syntax", WARN)]),
        (["v=TLSRPTv1; rua = mailto:a@example.com"], False, [("tls-rpt.syntax", WARN)]),
        (["v=TLSRPTv1; rua=mailto:a@example.com; junk"], False, [("tls-rpt.syntax", WARN)]),
        (
            ["v=TLSRPTv1; rua=mailto:a@example.com; rua=mailto:b@example.com"],
            False,
            [("tls-rpt.syntax", WARN)],
        ),
    ],
)
def test_tls_rpt_broken(
    records: Sequence[str] | None, *, policy_in_use: bool, expected: list[tuple[str, Severity]]
) -> None:
    findings = evaluate_tls_rpt(DOMAIN, records, policy_in_use=policy_in_use)
    assert outcome(findings) == expected


def test_tls_rpt_missing_says_why_it_matters_with_a_policy() -> None:
    (quiet,) = evaluate_tls_rpt(DOMAIN, None, policy_in_use=False)
    (loud,) = evaluate_tls_rpt(DOMAIN, None, policy_in_use=True)
    assert "_smtp._tls.example.com" in quiet.message
    assert "MTA-STS or DANE" in loud.message
    assert "MTA-STS" not in quiet.message


def test_the_parsers_give_problems_and_the_check_the_severity() -> None:
    """The same problem is info or a warning depending on context the parser never sees."""
    (problem,) = lint_tls_rpt(DOMAIN, [])
    assert problem == RecordProblem(
        "tls-rpt.missing", "no TLS-RPT record at _smtp._tls.example.com"
    )
    assert not hasattr(problem, "severity")
    assert CODES["tls-rpt.missing"].severity is INFO
    assert outcome(evaluate_tls_rpt(DOMAIN, [], policy_in_use=True)) == [("tls-rpt.missing", WARN)]
    (spf,) = lint_spf(DOMAIN, ["v=spf1 +all"])
    (dmarc,) = lint_dmarc(DOMAIN, ["v=DMARC1; p=none"])
    assert (spf.code, spf.evidence) == ("spf.pass-all", "v=spf1 +all")
    assert (dmarc.code, dmarc.evidence) == ("dmarc.policy-none", "v=DMARC1; p=none")


def test_tls_rpt_lookalike_is_reported_with_the_reason_and_the_record() -> None:
    record = "v=tlsrptv1; rua=mailto:a@example.com"
    (found,) = evaluate_tls_rpt(DOMAIN, [record], policy_in_use=False)
    assert "case-sensitive" in found.message
    assert found.evidence == record


def test_tls_rpt_syntax_names_each_bad_destination() -> None:
    record = "v=TLSRPTv1; rua=mailto:ok@example.com,mailto:nobody,ftp://x.example.com"
    (found,) = evaluate_tls_rpt(DOMAIN, [record], policy_in_use=False)
    assert "'mailto:nobody'" in found.message
    assert "'ftp://x.example.com'" in found.message
    assert "ok@example.com" not in found.message


# --- SPF --------------------------------------------------------------------------------

SPF_GOOD = [
    "v=spf1 mx -all",
    "v=spf1 -all",
    "V=SPF1 MX IP4:192.0.2.0/24 -ALL",
    "v=spf1  mx   ip4:192.0.2.1   ~all  ",
    "v=spf1 ip6:2001:db8::/32 ip6:::1 a:mail.example.com/24//64 mx//64 a/28 ?all",
    "v=spf1 include:_spf.example.net include:spf.example.org. -all",
    "v=spf1 redirect=_spf.example.net",
    "v=spf1 exists:%{i}._spf.%{d2} -all",
    "v=spf1 include:%{l1r-}.example.com -all exp=explain.%{d}",
    "v=spf1 mx -all future-modifier=value",
    "v=spf1 mx -all redirect=_spf.example.net",  # legal; redirect is ignored after all
]


@pytest.mark.parametrize("record", SPF_GOOD)
def test_spf_good(record: str) -> None:
    assert evaluate_spf(DOMAIN, [record]) == []


def test_spf_ignores_other_txt_records() -> None:
    records = ["google-site-verification=abc", "v=spf2.0/pra -all", "v=spf1 mx -all"]
    assert evaluate_spf(DOMAIN, records) == []


INCLUDES = " ".join(f"include:s{n}.example.net" for n in range(10))


@pytest.mark.parametrize(
    ("records", "expected"),
    [
        (None, [("spf.missing", WARN)]),
        ([], [("spf.missing", WARN)]),
        (["v=DMARC1; p=reject"], [("spf.missing", WARN)]),
        # Lookalikes receivers discard (RFC 7208 §4.5).
        ([" v=spf1 mx -all"], [("spf.missing", WARN)]),
        (["v=spf1\tmx -all"], [("spf.missing", WARN)]),
        (["v=spf1-all"], [("spf.missing", WARN)]),
        (["v=spf1 mx -all", "v=spf1 a -all"], [("spf.multiple", FAIL)]),
        (["v=spf1 mx -all", "V=SPF1 -all"], [("spf.multiple", FAIL)]),
        (["v=spf1"], [("spf.no-all", WARN)]),
        (["v=spf1 mx ip4:192.0.2.1"], [("spf.no-all", WARN)]),
        (["v=spf1 +all"], [("spf.pass-all", FAIL)]),
        (["v=spf1 mx all"], [("spf.pass-all", FAIL)]),
        (["v=spf1 mx +ALL"], [("spf.pass-all", FAIL)]),
        (["v=spf1 -all +all"], []),  # only the first all counts (§5.1)
        (["v=spf1 ptr -all"], [("spf.ptr", INFO)]),
        (["v=spf1 ptr:example.com -all"], [("spf.ptr", INFO)]),
        (["v=spf1 inculde:_spf.example.net -all"], [("spf.syntax", FAIL)]),
        (["v=spf1 ip:192.0.2.1 -all"], [("spf.syntax", FAIL)]),
        (["v=spf1 ip4:192.0.2.300 -all"], [("spf.syntax", FAIL)]),
        (["v=spf1 ip4:192.0.2.0/33 -all"], [("spf.syntax", FAIL)]),
        (["v=spf1 ip4:2001:db8::1 -all"], [("spf.syntax", FAIL)]),
        (["v=spf1 ip6:2001:db8::/129 -all"], [("spf.syntax", FAIL)]),
        (["v=spf1 ip6:fe80::1%eth0 -all"], [("spf.syntax", FAIL)]),
        (["v=spf1 include -all"], [("spf.syntax", FAIL)]),
        (["v=spf1 include: -all"], [("spf.syntax", FAIL)]),
        (["v=spf1 include:localhost -all"], [("spf.syntax", FAIL)]),  # needs ".toplabel"
        (["v=spf1 a:192.0.2.1 -all"], [("spf.syntax", FAIL)]),  # a name, not an address
        (["v=spf1 a:mail.example.com/24/64 -all"], [("spf.syntax", FAIL)]),
        (["v=spf1 all:example.com"], [("spf.syntax", FAIL), ("spf.no-all", WARN)]),
        (["v=spf1 mx\t-all"], [("spf.syntax", FAIL), ("spf.no-all", WARN)]),
        (["v=spf1 mx - all"], [("spf.syntax", FAIL), ("spf.pass-all", FAIL)]),
        (["v=spf1 exists:%{z}.example.com -all"], [("spf.syntax", FAIL)]),
        (["v=spf1 redirect=a.example.net redirect=b.example.net"], [("spf.syntax", FAIL)]),
        (["v=spf1 mx -all exp=a.example.net exp=b.example.net"], [("spf.syntax", FAIL)]),
        (["v=spf1 redirect="], [("spf.syntax", FAIL)]),
    ],
)
def test_spf_broken(records: Sequence[str] | None, expected: list[tuple[str, Severity]]) -> None:
    assert outcome(evaluate_spf(DOMAIN, records)) == expected


@pytest.mark.parametrize(
    ("record", "lookups"),
    [
        (f"v=spf1 {INCLUDES} -all", 10),
        (f"v=spf1 {INCLUDES} a -all", 11),
        (f"v=spf1 {INCLUDES} ip4:192.0.2.1 ip6:2001:db8::1 -all", 10),  # no lookup
        (f"v=spf1 {INCLUDES} exp=explain.example.com -all", 10),  # exp is not counted
        (f"v=spf1 {INCLUDES} redirect=_spf.example.net", 11),
        (f"v=spf1 {INCLUDES} -all redirect=_spf.example.net", 10),  # never followed (§6.1)
        (f"v=spf1 {INCLUDES} -all mx", 10),  # after all: never evaluated (§5.1)
        ("v=spf1 " + "a mx exists:%{i}.example.net ptr include:x.example.net " * 2 + "-all", 10),
        ("v=spf1 a mx exists:%{i}.example.net ptr include:x.example.net " * 1 + "-all", 5),
    ],
)
def test_spf_lookup_limit_is_ten(record: str, lookups: int) -> None:
    found = {f.code: f for f in evaluate_spf(DOMAIN, [record])}
    if lookups <= 10:
        assert "spf.too-many-lookups" not in found
    else:
        too_many = found["spf.too-many-lookups"]
        assert too_many.severity is FAIL
        assert f"has {lookups} DNS-querying terms" in too_many.message
        assert "counted statically: includes may add more" in too_many.message


def test_spf_lookalike_is_reported_with_the_reason() -> None:
    (found,) = evaluate_spf(DOMAIN, [" v=spf1 mx -all"])
    assert "ignored by receivers" in found.message
    assert found.evidence == " v=spf1 mx -all"


def test_spf_syntax_names_every_bad_term() -> None:
    (found,) = evaluate_spf(DOMAIN, ["v=spf1 inculde:x.example.net ip4:1.2.3 mx -all"])
    assert "'inculde:x.example.net'" in found.message
    assert "'ip4:1.2.3'" in found.message
    assert "'mx'" not in found.message


# --- DMARC ------------------------------------------------------------------------------

DMARC_GOOD = [
    "v=DMARC1; p=reject",
    "v=DMARC1;p=quarantine;rua=mailto:dmarc@example.com",
    "v=DMARC1; p=reject;",
    "v = DMARC1 ; P = Reject ; RUA = mailto:a@example.com , mailto:b@example.net!10m ;",
    "V=DMARC1; p=QUARANTINE; sp=none; np=reject; adkim=S; aspf=r; pct=0",
    "v=DMARC1; p=reject; pct=100; fo=1:d; rf=afrf; ri=86400; ruf=mailto:f@example.com!5k",
    "v=DMARC1; p=reject; psd=n; t=y",
]


@pytest.mark.parametrize("record", DMARC_GOOD)
def test_dmarc_good(record: str) -> None:
    assert evaluate_dmarc(DOMAIN, [record]) == []


def test_dmarc_ignores_other_txt_records() -> None:
    assert evaluate_dmarc(DOMAIN, ["v=spf1 -all", "v=DMARC1; p=reject"]) == []


@pytest.mark.parametrize(
    ("records", "expected"),
    [
        (None, [("dmarc.missing", WARN)]),
        ([], [("dmarc.missing", WARN)]),
        (["v=spf1 -all"], [("dmarc.missing", WARN)]),
        (["v=dmarc1; p=reject"], [("dmarc.missing", WARN)]),  # DMARC1 is upper case (§6.4)
        ([" v=DMARC1; p=reject"], [("dmarc.missing", WARN)]),
        (["v=DMARC1 p=reject"], [("dmarc.missing", WARN)]),
        (["v=DMARC1; p=reject", "v=DMARC1; p=none"], [("dmarc.multiple", FAIL)]),
        (["v=DMARC1; p=none"], [("dmarc.policy-none", INFO)]),
        (["v=DMARC1; p=None; rua=mailto:d@example.com"], [("dmarc.policy-none", INFO)]),
        (["v=DMARC1"], [("dmarc.syntax", WARN)]),
        (["v=DMARC1; rua=mailto:d@example.com"], [("dmarc.syntax", WARN)]),
        (["v=DMARC1; rua=mailto:d@example.com; p=reject"], [("dmarc.syntax", WARN)]),
        (["v=DMARC1; p=block"], [("dmarc.syntax", WARN)]),
        (["v=DMARC1; p=reject; p=none"], [("dmarc.syntax", WARN)]),
        (["v=DMARC1; p=reject; sp=all"], [("dmarc.syntax", WARN)]),
        (["v=DMARC1; p=reject; adkim=x"], [("dmarc.syntax", WARN)]),
        (["v=DMARC1; p=reject; aspf=relaxed"], [("dmarc.syntax", WARN)]),
        (["v=DMARC1; p=reject; pct=101"], [("dmarc.syntax", WARN)]),
        (["v=DMARC1; p=reject; pct=-1"], [("dmarc.syntax", WARN)]),
        (["v=DMARC1; p=reject; pct=half"], [("dmarc.syntax", WARN)]),
        (["v=DMARC1; p=reject; rua=dmarc@example.com"], [("dmarc.syntax", WARN)]),
        (["v=DMARC1; p=reject; rua=mailto:nobody"], [("dmarc.syntax", WARN)]),
        (["v=DMARC1; p=reject; rua=https://r.example.com/"], [("dmarc.syntax", WARN)]),
        (["v=DMARC1; p=reject; ruf=mailto:f@example.com!10x"], [("dmarc.syntax", WARN)]),
        (["v=DMARC1; p=reject; rua="], [("dmarc.syntax", WARN)]),
        (["v=DMARC1; p=reject; rau=mailto:d@example.com"], [("dmarc.syntax", WARN)]),
        (["v=DMARC1; p=reject; garbage"], [("dmarc.syntax", WARN)]),
        (["v=DMARC1; p=none; pct=200"], [("dmarc.syntax", WARN), ("dmarc.policy-none", INFO)]),
    ],
)
def test_dmarc_broken(records: Sequence[str] | None, expected: list[tuple[str, Severity]]) -> None:
    assert outcome(evaluate_dmarc(DOMAIN, records)) == expected


@pytest.mark.parametrize("pct", ["0", "1", "50", "99", "100", "050"])
def test_dmarc_pct_range(pct: str) -> None:
    assert evaluate_dmarc(DOMAIN, [f"v=DMARC1; p=reject; pct={pct}"]) == []


def test_dmarc_syntax_lists_every_problem() -> None:
    record = "v=DMARC1; rua=mailto:d@example.com; p=reject; pct=150; adkim=x"
    (found,) = evaluate_dmarc(DOMAIN, [record])
    assert "_dmarc.example.com" in found.message
    for problem in ("p= must come right after v=DMARC1", "pct=150", "adkim=x"):
        assert problem in found.message
    assert found.evidence == record


# --- Shared -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "evaluate",
    [
        evaluate_spf,
        evaluate_dmarc,
        lambda d, t: evaluate_tls_rpt(d, t, policy_in_use=False),
    ],
)
def test_a_single_string_is_a_caller_bug(evaluate: Callable[[str, str], object]) -> None:
    with pytest.raises(TypeError, match="sequence of records"):
        evaluate(DOMAIN, "v=spf1 -all")


def test_codes_and_explanations_match() -> None:
    assert CODES.keys() == EXPLANATIONS.keys()
    prefixes = {code.split(".")[0] for code in CODES}
    assert prefixes == {"tls-rpt", "spf", "dmarc"}


@pytest.mark.parametrize("code", sorted(CODES))
def test_every_code_says_what_to_publish_and_how_to_check(code: str) -> None:
    name = {"tls-rpt": "_smtp._tls.example.com", "spf": "example.com", "dmarc": "_dmarc."}
    explanation = EXPLANATIONS[code]
    assert f"$ dig +short TXT {name[code.split('.')[0]]}" in explanation.verify
    if code != "spf.too-many-lookups":  # its fix is removing terms, not a new record
        assert "IN TXT" in CODES[code].hint


# --- the SPF walk, without I/O (policy/spf_walk.py) -------------------------------------


def _txt(name: str, *records: str, status: str = "ok") -> tuple[tuple[str, str], SpfQuery]:
    query = SpfQuery(name=name, rdtype="TXT", status=DnsStatus(status), records=records)
    return (name, "TXT"), query


def test_the_walk_asks_only_what_evaluation_reaches() -> None:
    record = (
        "v=spf1 include:a.example.net exists:%{i}.x.example.net ptr a ip4:192.0.2.1 -all "
        "include:never.example.net"
    )
    result = walk(DOMAIN, record, {})
    assert result.lookups == 4  # include, exists, ptr, a; nothing after "all"
    assert result.needed == [
        ("a.example.net", "TXT"),
        ("example.com", "A"),
        ("example.com", "AAAA"),
    ]  # a macro and ptr depend on the message: counted, never asked


def test_the_walk_follows_answers_and_redirect_only_without_all() -> None:
    answers = dict(
        [
            _txt("a.example.net", "v=spf1 redirect=b.example.net"),
            _txt("b.example.net", "v=spf1 ip4:192.0.2.0/24 -all redirect=c.example.net"),
        ]
    )
    result = walk(DOMAIN, "v=spf1 include:a.example.net -all", answers)
    assert (result.lookups, result.needed, result.missing) == (2, [], [])


def test_a_failed_include_lookup_is_unknown_not_missing() -> None:
    answers = dict([_txt("a.example.net", status="servfail")])
    result = walk(DOMAIN, "v=spf1 include:a.example.net -all", answers)
    assert result.unknown == ["include:a.example.net (servfail)"]
    assert result.missing == []
    assert (
        evaluate_spf(
            DOMAIN,
            ["v=spf1 include:a.example.net -all"],
            SpfWalk(lookups=1, queries=tuple(answers.values())),
        )
        == []
    )


def test_several_spf_records_at_an_include_are_permerror() -> None:
    answers = dict([_txt("a.example.net", "v=spf1 -all", "v=spf1 mx -all")])
    result = walk(DOMAIN, "v=spf1 include:a.example.net -all", answers)
    assert result.missing == ["include:a.example.net"]
