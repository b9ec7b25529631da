"""MTA-STS: the TXT record and policy parsers, the MX cross-check, the codes' texts, and
policy fetches from a loopback HTTPS server with real certificates, one per failure kind."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import ssl
import time
from datetime import UTC, datetime

import pytest

from starttls_check.checks.mta_sts import check_mx_coverage, evaluate_mta_sts
from starttls_check.demo.loopback.https_server import (
    HttpRequest,
    HttpResponse,
    LoopbackHttpsServer,
    RawResponse,
    Reply,
    encode_response,
)
from starttls_check.demo.loopback.pki import Issued, chain_pem, make_ca, make_leaf
from starttls_check.demo.loopback.smtp_server import server_tls_context
from starttls_check.judge.mta_sts import judge_fetch
from starttls_check.model.dns import DnsStatus
from starttls_check.model.findings import Severity
from starttls_check.model.session import CertProblem, TrustVerdict
from starttls_check.policy.https_fetch import fetch_policy
from starttls_check.policy.mta_sts import (
    FetchFailure,
    FetchResult,
    StsMode,
    StsPolicy,
    authenticates,
    mx_matches,
    parse_policy,
)
from starttls_check.policy.mta_sts_txt import parse_sts_txt
from starttls_check.policy.txt import decode_txt_rdata
from starttls_check.render.explanation import WIDTH, render_explanation
from starttls_check.tls.certs import TrustStore

from .samples import CATALOGUE
from .samples import EXPLANATIONS as EXPLANATIONS_ALL

HOST = "mta-sts.example.test"
POLICY = b"version: STSv1\r\nmode: enforce\r\nmx: mail.example.test\r\nmax_age: 604800\r\n"
INVALID, MISSING = "mta-sts.txt-invalid", "mta-sts.txt-missing"

# ------------------------------------------------------------------------------ TXT record


@pytest.mark.parametrize(
    ("records", "ident", "codes"),
    [
        (["v=STSv1; id=20261128T000000;"], "20261128T000000", []),
        (["v=STSv1;id=abc"], "abc", []),
        (["v=STSv1 ; id=abc ;  "], "abc", []),
        (["v=spf1 -all", "v=STSv1; id=1; ext_1=x"], "1", []),  # others and extensions ignored
        ([], None, [MISSING]),
        (["v=spf1 -all"], None, [MISSING]),
        (["v=stsv1; id=1"], None, [INVALID]),  # case-sensitive: not an STS record at all
        (["v=STSv10; id=1"], None, [INVALID]),
        (["v=STSv1; id=1", "v=STSv1; id=2"], None, ["mta-sts.txt-multiple"]),
        (["v=STSv1;"], None, [INVALID]),
        (["v=STSv1; id=2026-11-28"], None, [INVALID]),
        (["v=STSv1; id=" + "a" * 33], None, [INVALID]),
        (["v=STSv1; id=" + "a" * 32], "a" * 32, []),
        (["v=STSv1; id = abc"], None, [INVALID]),
        (["v=STSv1;; id=abc"], "abc", [INVALID]),
        (["v=STSv1; id=a; id=b"], "a", [INVALID]),
        (["v=STSv1; ID=abc"], None, [INVALID]),
        (["v=STSv1 id=abc"], None, [INVALID, INVALID]),  # no ';', hence no id either
        (["v=STSv1; id=abc; v=STSv1"], "abc", [INVALID]),
        (["v=STSv1; id=abc; bad field"], "abc", [INVALID]),
    ],
)
def test_txt_record(records: list[str], ident: str | None, codes: list[str]) -> None:
    txt = parse_sts_txt(records)
    assert [p.code for p in txt.problems] == codes
    assert txt.id == ident
    assert txt.valid == (not codes)


@pytest.mark.parametrize(
    ("record", "fragment"),
    [
        ("v=STSv1; id=2026-11-28", "contains '-': only letters and digits"),
        ("v=STSv1; id=" + "a" * 33, "33 characters long; at most 32"),
        ("v=STSv1; id = abc", "no spaces around '='"),
        ("v=STSv1;; id=abc", "two ';' in a row"),
        ("v=STSv1; ID=abc", "case-sensitive: write id="),
        ("v=STSv1;", "no id= field"),
    ],
)
def test_txt_problem_says_what_to_change(record: str, fragment: str) -> None:
    (problem,) = parse_sts_txt([record]).problems
    assert fragment in problem.message


def test_txt_near_miss_is_named_rather_than_called_missing() -> None:
    (problem,) = parse_sts_txt(["v=spf1 -all", "v=stsv1; id=1"]).problems
    assert "exactly `v=STSv1`" in problem.message
    (missing,) = parse_sts_txt(["v=spf1 -all"]).problems
    assert "1 other TXT records ignored" in missing.message


@pytest.mark.parametrize(
    ("rdata", "text"),
    [
        ('"v=STSv1; id=abc;"', "v=STSv1; id=abc;"),
        ('"v=STSv1; " "id=abc;"', "v=STSv1; id=abc;"),  # strings concatenated
        ('"say \\"hi\\"" "\\059x"', 'say "hi";x'),
        ('"caf\\195\\169"', "café"),
    ],
)
def test_txt_rdata_decoded(rdata: str, text: str) -> None:
    assert decode_txt_rdata(rdata) == text


CODES = {code: rule for code, rule in CATALOGUE.items() if code.startswith("mta-sts.")}
EXPLANATIONS = {code: EXPLANATIONS_ALL[code] for code in CODES}


# ----------------------------------------------------------------------------- policy file

GOOD = (
    "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\n"
    "max_age: 604800\r\n"
)


def problems(policy: StsPolicy) -> list[tuple[str, Severity]]:
    return [(p.code, CATALOGUE[p.code].severity) for p in policy.problems]  # as findings get it


def test_good_policy_crlf_and_lf_read_alike() -> None:
    for text in (GOOD, GOOD.replace("\r\n", "\n"), GOOD.rstrip("\r\n")):
        policy = parse_policy(text)
        assert policy.valid
        assert policy.problems == ()
        assert (policy.version, policy.mode, policy.max_age) == ("STSv1", StsMode.ENFORCE, 604800)
        assert policy.mx == ("mail.example.com", "*.example.net")


W, INFO = Severity.WARN, Severity.INFO
INV = ("mta-sts.policy-invalid", W)
KEY = ("mta-sts.key-unknown", W)
STANDARD = {"version": "STSv1", "mode": "enforce", "mx": "a.example", "max_age": "604800"}


def policy_text(*extra: str, **changed: str | None) -> str:
    """A good policy with some lines changed (None drops the line), then `extra` lines."""
    fields = {**STANDARD, **changed}
    return "\n".join([*(f"{k}: {v}" for k, v in fields.items() if v is not None), *extra])


@pytest.mark.parametrize(
    ("text", "valid", "expected", "fragment"),
    [
        (policy_text(version=None), False, [INV], "no version"),
        (policy_text(version="STSv2"), False, [INV], "exactly STSv1"),
        (policy_text(mode="Enforce"), False, [INV], "case-sensitive: write enforce"),
        (policy_text(mode="block"), False, [INV], "'block' is not enforce"),
        (policy_text(mode=None), False, [INV], "no mode"),
        (policy_text(max_age=None), False, [INV], "no max_age"),
        (policy_text(max_age="1w"), False, [INV], "'1w' is not a number"),
        (policy_text(mx=None), False, [INV], "no mx"),
        (policy_text(mode="none", mx=None), True, [("mta-sts.mode-none", INFO)], "none"),
        (policy_text(mode="testing"), True, [("mta-sts.mode-testing", INFO)], "testing"),
        (policy_text(max_age="31557601"), False, [("mta-sts.max-age", W)], "maximum 31557600"),
        (policy_text(max_age="31557600"), True, [], ""),
        (policy_text(max_age="3600"), True, [("mta-sts.max-age", W)], "under a day"),
        (policy_text(mode="none", mx=None, max_age="0"), True, [("mta-sts.mode-none", INFO)], ""),
        (policy_text("max-age: 1", max_age=None), False, [KEY, INV], "did you mean max_age"),
        (policy_text("maxage: 1", max_age=None), False, [KEY, INV], "did you mean max_age"),
        (policy_text("Version: STSv1", version=None), False, [KEY, INV], "case-sensitive"),
        (policy_text("version : STSv1", version=None), False, [KEY, INV], "mean version"),
        (policy_text("foo: bar"), True, [KEY], "'foo', ignored by senders"),
        (policy_text("mode: testing"), True, [("mta-sts.policy-ambiguous", W)], "first on line 2"),
        (policy_text("mode enforce", mode=None), False, [INV, INV], "line 4 'mode enforce'"),
        (policy_text(mx="192.0.2.25"), True, [("mta-sts.mx-ip-literal", W)], "IP address"),
        (policy_text(mx="[2001:db8::25]"), True, [("mta-sts.mx-ip-literal", W)], "IP address"),
        (policy_text(mx="mail.example.com."), True, [("mta-sts.mx-pattern", W)], "with a dot"),
        (policy_text(mx="mail.*.example.com"), True, [("mta-sts.mx-pattern", W)], "leftmost"),
        (policy_text(mx="*mail.example.com"), True, [("mta-sts.mx-pattern", W)], "leftmost"),
        (policy_text(mx="*.com"), True, [("mta-sts.mx-pattern", W)], "top-level domain"),
        (policy_text(mx="mx_1.example.com"), True, [("mta-sts.mx-pattern", W)], "valid host"),
        (policy_text(mx="mäil.example.com"), True, [("mta-sts.mx-pattern", W)], "A-labels"),
        (policy_text(mx=""), False, [("mta-sts.mx-pattern", W), INV], "no mx: pattern"),
    ],
)
def test_policy_lint(
    text: str, valid: bool, expected: list[tuple[str, Severity]], fragment: str
) -> None:
    policy = parse_policy(text)
    assert problems(policy) == expected
    assert policy.valid is valid
    assert fragment in " | ".join(p.message for p in policy.problems)


def test_unknown_keys_are_kept_as_extensions() -> None:
    policy = parse_policy(GOOD + "foo: bar\r\n")
    assert policy.extensions == (("foo", "bar"),)


# ------------------------------------------------------------------------ MX cross-check


@pytest.mark.parametrize(
    ("pattern", "host", "matches"),
    [
        ("mail.example.com", "mail.example.com", True),
        ("mail.example.com", "MAIL.Example.COM.", True),
        ("mail.example.com.", "mail.example.com", True),  # linted, but not held against the MX
        ("mail.example.com", "mx.example.com", False),
        ("*.example.com", "mx1.example.com", True),
        ("*.example.com", "a.b.example.com", False),  # one label only (RFC 8461 §4.1)
        ("*.example.com", "example.com", False),
        ("*.example.com", ".example.com", False),
        ("*.example.com", "mx1.example.com.evil", False),
        ("192.0.2.25", "192.0.2.25", False),  # addresses never match
        ("", "mail.example.com", False),
    ],
)
def test_mx_matches(pattern: str, host: str, matches: bool) -> None:
    assert mx_matches(pattern, host) is matches


def policy_of(mode: str, *mx: str) -> StsPolicy:
    lines = [f"version: STSv1\nmode: {mode}\nmax_age: 604800", *(f"mx: {m}" for m in mx)]
    return parse_policy("\n".join(lines))


def coverage(policy: StsPolicy) -> list[tuple[str, str, Severity]]:
    hosts = ["mx1.example.com", "mx2.example.com", "backup.example.org", "new.example.com"]
    certs = {"mx1.example.com": True, "mx2.example.com": False, "new.example.com": True}
    starttls = {"mx1.example.com": True, "mx2.example.com": True, "new.example.com": False}
    findings = check_mx_coverage(policy, hosts, certs, starttls)
    return [(f.code, f.host, f.severity) for f in findings]


def test_enforce_mode_fails_every_mx_a_sender_would_refuse() -> None:
    assert coverage(policy_of("enforce", "*.example.com")) == [
        ("mta-sts.mx-invalid-cert", "mx2.example.com", Severity.FAIL),
        ("mta-sts.mx-not-covered", "backup.example.org", Severity.FAIL),
        ("mta-sts.mx-no-starttls", "new.example.com", Severity.FAIL),
    ]


def test_testing_mode_warns_instead() -> None:
    assert {s for _, _, s in coverage(policy_of("testing", "*.example.com"))} == {Severity.WARN}
    assert len(coverage(policy_of("testing", "*.example.com"))) == 3


def test_mode_none_asks_nothing_and_unprobed_hosts_are_not_judged() -> None:
    assert coverage(policy_of("none")) == []
    policy = policy_of("enforce", "*.example.com")
    assert check_mx_coverage(policy, ["mx9.example.com"], {}, {}) == ()


def test_uncovered_message_lists_the_patterns() -> None:
    (finding,) = check_mx_coverage(policy_of("enforce", "a.example", "*.b.example"), ["c"], {}, {})
    assert "a.example, *.b.example" in finding.message
    assert finding.hint == CODES["mta-sts.mx-not-covered"].hint


def test_weak_keys_alone_do_not_stop_mta_sts_senders() -> None:
    def verdict(*problems: CertProblem) -> TrustVerdict:
        return TrustVerdict(problems=problems, trusted_path=(), checked_name="x", detail="")

    assert authenticates(verdict(CertProblem.WEAK_KEY, CertProblem.SHA1_SIGNATURE))
    assert not authenticates(verdict(CertProblem.EXPIRED))
    assert not authenticates(verdict(CertProblem.NAME_MISMATCH, CertProblem.WEAK_KEY))


# ------------------------------------------------------------------- findings end to end

TXT_OK = parse_sts_txt(["v=STSv1; id=1"])


def fetched(body: str | None, failure: FetchFailure | None = None) -> FetchResult:
    return FetchResult(
        host="mta-sts.example.com",
        address="192.0.2.1",
        port=443,
        failure=failure,
        reason="HTTP 404 Not Found" if failure else "",
        body=body,
    )


def test_no_record_is_information_only() -> None:
    for status in (DnsStatus.NXDOMAIN, DnsStatus.NO_DATA):
        (finding,) = evaluate_mta_sts("example.com", status, parse_sts_txt([]), None)
        assert (finding.code, finding.severity) == ("mta-sts.txt-missing", Severity.INFO)
    (failed,) = evaluate_mta_sts("example.com", DnsStatus.TIMEOUT, parse_sts_txt([]), None)
    assert (failed.code, failed.message) == (
        "mta-sts.txt-lookup-failed",
        "TXT lookup for _mta-sts.example.com failed (timeout)",
    )


def test_unavailable_policy_says_why_and_stops_there() -> None:
    result = fetched(None, FetchFailure.HTTP_STATUS)
    (finding,) = evaluate_mta_sts("example.com", DnsStatus.OK, TXT_OK, result, mx_hosts=["x"])
    assert finding.code == "mta-sts.policy-unavailable"
    assert "http-status: HTTP 404 Not Found" in finding.message
    assert "https://mta-sts.example.com/.well-known/mta-sts.txt" in finding.message


def test_policy_behind_a_bad_certificate_is_linted_but_not_applied() -> None:
    result = dataclasses.replace(
        fetched(GOOD.replace("max_age", "max-age")), failure=FetchFailure.CERTIFICATE
    )
    findings = evaluate_mta_sts("example.com", DnsStatus.OK, TXT_OK, result, mx_hosts=["x"])
    assert [f.code for f in findings] == [
        "mta-sts.policy-unavailable",
        "mta-sts.key-unknown",
        "mta-sts.policy-invalid",
    ]


def test_invalid_txt_means_the_policy_is_not_looked_at() -> None:
    txt = parse_sts_txt(["v=STSv1; id=no-dashes"])
    findings = evaluate_mta_sts("example.com", DnsStatus.OK, txt, fetched(GOOD), mx_hosts=["x"])
    assert [f.code for f in findings] == ["mta-sts.txt-invalid"]


def test_valid_policy_is_cross_checked_an_invalid_one_is_not() -> None:
    findings = evaluate_mta_sts(
        "example.com", DnsStatus.OK, TXT_OK, fetched(GOOD), mx_hosts=["mx.example.org"]
    )
    assert [(f.code, f.severity) for f in findings] == [("mta-sts.mx-not-covered", Severity.FAIL)]
    broken = GOOD.replace("version: STSv1", "version: 1")
    findings = evaluate_mta_sts(
        "example.com", DnsStatus.OK, TXT_OK, fetched(broken), mx_hosts=["mx.example.org"]
    )
    assert [f.code for f in findings] == ["mta-sts.policy-invalid"]


# ---------------------------------------------------------------------- codes and texts


def test_codes_have_their_severities() -> None:
    assert len(CODES) == 17
    for code in ("mta-sts.txt-missing", "mta-sts.mode-testing", "mta-sts.mode-none"):
        assert CODES[code].severity is Severity.INFO


def test_every_code_produced_is_in_the_table() -> None:
    texts = [
        "version: STSv1\nmode: testing\nmode: none\nmx: 192.0.2.1\nmx: a.\nfoo: 1\nmax_age: 1",
        "x",
    ]
    produced = {p.code for t in texts for p in parse_policy(t).problems}
    produced |= {
        p.code for r in (["v=STSv1"], [], ["v=STSv1", "v=STSv1"]) for p in parse_sts_txt(r).problems
    }
    assert produced <= set(CODES)


def test_fixes_name_the_records_to_publish() -> None:
    hint = CODES["mta-sts.txt-missing"].hint
    for text in (
        "v=STSv1; id=20261128T000000;",
        "https://mta-sts.example.com/.well-known/mta-sts.txt",
        "text/plain",
        "version: STSv1",
        "mode: enforce",
        "mx: mx.example.com",  # the example MX; a check names the real one
        "max_age: 604800",
    ):
        assert text in hint
    assert "  mode: enforce" in EXPLANATIONS["mta-sts.txt-missing"].fix


@pytest.mark.parametrize("code", sorted(CODES))
def test_explanation_renders_as_the_catalogue_requires(code: str) -> None:
    for field in dataclasses.fields(EXPLANATIONS[code]):
        assert len(getattr(EXPLANATIONS[code], field.name).strip()) >= 20, field.name
    assert "$ " in EXPLANATIONS[code].verify
    text = render_explanation(code)
    lines = text.splitlines()
    assert lines[0] == f"{code} (default severity: {CODES[code].severity.value})"
    assert " ".join(CODES[code].hint.split()) in " ".join(text.split())
    assert all(len(line) <= WIDTH for line in lines), [x for x in lines if len(x) > WIDTH]
    assert all(line.count("`") % 2 == 0 for line in lines)


# --------------------------------------------------------------- fetches over loopback


@pytest.fixture(scope="module")
def ca() -> Issued:
    return make_ca("MTA-STS test CA")


@pytest.fixture(scope="module")
def store(ca: Issued) -> TrustStore:
    return TrustStore([ca.cert])


def context_for(leaf: Issued, *chain: Issued, **knobs: object) -> ssl.SSLContext:
    return server_tls_context(chain_pem(leaf, *chain), leaf.key_pem, **knobs)  # type: ignore[arg-type]


@pytest.fixture
def good_context(ca: Issued) -> ssl.SSLContext:
    return context_for(make_leaf([HOST], ca), ca)


def policy_response(body: bytes = POLICY, **knobs: object) -> HttpResponse:
    headers = (("Content-Type", "text/plain; charset=utf-8"),)
    return HttpResponse(status=200, headers=headers, body=body, **knobs)  # type: ignore[arg-type]


def fetch(
    reply: Reply,
    context: ssl.SSLContext | None,
    store: TrustStore,
    *,
    timeout: float = 2.0,
    max_bytes: int = 65536,
) -> tuple[FetchResult, LoopbackHttpsServer]:
    """One fetch from a fresh server answering every request with `reply`."""
    server = LoopbackHttpsServer(lambda _request: reply, tls_context=context)

    async def main() -> FetchResult:
        async with server:
            return await fetch_policy(
                "127.0.0.1", server.port, HOST, timeout=timeout, max_bytes=max_bytes
            )

    result = asyncio.run(main())
    server.raise_errors()
    # As a run does: the edge gathers, the judge decides what the served chain means.
    return judge_fetch(result, store, datetime.now(UTC)), server


def test_good_policy_is_fetched_as_senders_ask_for_it(
    good_context: ssl.SSLContext, store: TrustStore
) -> None:
    result, server = fetch(policy_response(), good_context, store)
    assert (result.failure, result.reason) == (None, "")
    assert (result.status, result.content_type) == (200, "text/plain; charset=utf-8")
    assert result.body == POLICY.decode()
    assert parse_policy(result.body).mode is StsMode.ENFORCE
    assert result.trust is not None
    assert result.trust.valid
    assert result.tls_version in ("TLSv1.2", "TLSv1.3")
    (request,) = server.requests
    assert (request.method, request.path, request.version) == (
        "GET",
        "/.well-known/mta-sts.txt",
        "HTTP/1.1",
    )
    assert request.header("host") == HOST
    assert request.header("connection") == "close"
    assert request.server_name == HOST  # SNI


def test_testing_mode_policy_reports_and_warns(
    good_context: ssl.SSLContext, store: TrustStore
) -> None:
    body = POLICY.replace(b"mode: enforce", b"mode: testing")
    result, _ = fetch(policy_response(body), good_context, store)
    assert result.failure is None
    findings = evaluate_mta_sts(
        "example.test",
        DnsStatus.OK,
        TXT_OK,
        result,
        mx_hosts=["mail.example.test", "other.example.test"],
        cert_valid_for={"mail.example.test": True},
        starttls_ok={"mail.example.test": True},
    )
    assert [(f.code, f.severity) for f in findings] == [
        ("mta-sts.mode-testing", Severity.INFO),
        ("mta-sts.mx-not-covered", Severity.WARN),
    ]


def test_chunked_policy_is_reassembled(good_context: ssl.SSLContext, store: TrustStore) -> None:
    result, _ = fetch(policy_response(framing="chunked", chunk_size=7), good_context, store)
    assert result.failure is None
    assert result.body == POLICY.decode()


def test_policy_delimited_by_close_is_read(good_context: ssl.SSLContext, store: TrustStore) -> None:
    result, _ = fetch(policy_response(framing="close"), good_context, store)
    assert (result.failure, result.body) == (None, POLICY.decode())


def test_not_found(good_context: ssl.SSLContext, store: TrustStore) -> None:
    result, _ = fetch(HttpResponse(status=404, body=b"nope"), good_context, store)
    assert result.failure is FetchFailure.HTTP_STATUS
    assert (result.status, result.body, result.reason) == (404, None, "HTTP 404 Not Found")


def test_wrong_content_type(good_context: ssl.SSLContext, store: TrustStore) -> None:
    reply = HttpResponse(status=200, headers=(("Content-Type", "text/html"),), body=POLICY)
    result, _ = fetch(reply, good_context, store)
    assert result.failure is FetchFailure.CONTENT_TYPE
    assert "'text/html'" in result.reason
    assert (result.content_type, result.body) == ("text/html", None)


def test_missing_content_type(good_context: ssl.SSLContext, store: TrustStore) -> None:
    result, _ = fetch(HttpResponse(status=200, body=POLICY), good_context, store)
    assert result.failure is FetchFailure.CONTENT_TYPE


def test_redirect_is_not_followed(good_context: ssl.SSLContext, store: TrustStore) -> None:
    location = "https://www.example.test/.well-known/mta-sts.txt"
    reply = HttpResponse(status=301, headers=(("Location", location),))
    result, server = fetch(reply, good_context, store)
    assert result.failure is FetchFailure.REDIRECT
    assert result.status == 301
    assert location in result.reason
    assert len(server.requests) == 1


@pytest.mark.parametrize("framing", ["length", "chunked", "close"])
def test_oversize_body(framing: str, good_context: ssl.SSLContext, store: TrustStore) -> None:
    body = POLICY + b"#" * (70 * 1024)
    result, _ = fetch(policy_response(body, framing=framing), good_context, store)
    assert result.failure is FetchFailure.TOO_LARGE
    assert result.body is None


def test_body_at_the_limit_is_accepted(good_context: ssl.SSLContext, store: TrustStore) -> None:
    body = POLICY + b"#" * (1000 - len(POLICY))
    for framing in ("length", "chunked", "close"):
        result, _ = fetch(
            policy_response(body, framing=framing), good_context, store, max_bytes=1000
        )
        assert result.failure is None, framing
        one_more, _ = fetch(
            policy_response(body + b"#", framing=framing), good_context, store, max_bytes=1000
        )
        assert one_more.failure is FetchFailure.TOO_LARGE, framing


def test_untrusted_certificate(ca: Issued, store: TrustStore) -> None:
    foreign = make_ca("someone else's CA")
    result, _ = fetch(policy_response(), context_for(make_leaf([HOST], foreign), foreign), store)
    assert result.failure is FetchFailure.CERTIFICATE
    assert result.trust_problems == (CertProblem.UNTRUSTED,)
    assert f"certificate not valid for {HOST}: untrusted" in result.reason
    assert result.status == 200  # the facts past the certificate are still gathered


def test_certificate_for_another_name(ca: Issued, store: TrustStore) -> None:
    leaf = make_leaf(["www.example.test"], ca)
    result, _ = fetch(policy_response(), context_for(leaf, ca), store)
    assert result.failure is FetchFailure.CERTIFICATE
    assert result.trust_problems == (CertProblem.NAME_MISMATCH,)


def test_certificate_failure_outranks_http_failure(ca: Issued, store: TrustStore) -> None:
    leaf = make_leaf(["www.example.test"], ca)
    result, _ = fetch(HttpResponse(status=404), context_for(leaf, ca), store)
    assert (result.failure, result.status) == (FetchFailure.CERTIFICATE, 404)


def test_slow_server_times_out(good_context: ssl.SSLContext, store: TrustStore) -> None:
    started = time.monotonic()
    result, _ = fetch(policy_response(delay=5), good_context, store, timeout=0.3)
    assert result.failure is FetchFailure.TIMEOUT
    assert "waiting for the response" in result.reason
    assert time.monotonic() - started < 2


def test_stall_mid_body_times_out(good_context: ssl.SSLContext, store: TrustStore) -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 500\r\n\r\nversion"
    result, _ = fetch(RawResponse(data=head, hold=5), good_context, store, timeout=0.3)
    assert result.failure is FetchFailure.TIMEOUT
    assert "reading the body" in result.reason


def test_tls_below_1_2_is_refused(ca: Issued, store: TrustStore) -> None:
    context = context_for(make_leaf([HOST], ca), ca, maximum_version=ssl.TLSVersion.TLSv1_1)
    result, _ = fetch(policy_response(), context, store)
    assert result.failure is FetchFailure.TLS
    assert result.reason.startswith("TLS handshake: ")


def test_connection_refused(store: TrustStore) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    async def main() -> FetchResult:
        return await fetch_policy("127.0.0.1", port, HOST, timeout=2)

    result = asyncio.run(main())
    assert result.failure is FetchFailure.CONNECT
    assert result.reason.endswith(": connection refused")
    assert "Errno" not in result.reason


def test_names_are_refused_before_any_connection(store: TrustStore) -> None:
    async def main() -> FetchResult:
        return await fetch_policy("localhost", 443, HOST, timeout=1)

    with pytest.raises(ValueError, match="localhost"):
        asyncio.run(main())


CT = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"


@pytest.mark.parametrize(
    ("data", "kind", "fragment"),
    [
        (b"SSH-2.0-OpenSSH_9.6\r\n\r\n", FetchFailure.MALFORMED, "not an HTTP/1.x status line"),
        (b"HTTP/2 200\r\n\r\n", FetchFailure.MALFORMED, "not an HTTP/1.x status line"),
        (b"", FetchFailure.MALFORMED, "closed after nothing"),
        (
            CT + b"Content-Length: 500\r\n\r\nversion",
            FetchFailure.MALFORMED,
            "closed after 7 bytes",
        ),
        (
            CT + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nabcdef",
            FetchFailure.MALFORMED,
            "bad Content-Length",
        ),
        (CT + b"Content-Length: -1\r\n\r\n", FetchFailure.MALFORMED, "bad Content-Length"),
        (CT + b"X-Pad: " + b"a" * 17000 + b"\r\n\r\n", FetchFailure.MALFORMED, "over 16384 bytes"),
        (CT + b" folded\r\n\r\n", FetchFailure.MALFORMED, "not a header line"),
        (
            CT + b"Transfer-Encoding: gzip, chunked\r\n\r\n",
            FetchFailure.MALFORMED,
            "Transfer-Encoding",
        ),
        (
            CT + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n",
            FetchFailure.MALFORMED,
            "bad chunk size",
        ),
        (
            CT + b"Transfer-Encoding: chunked\r\n\r\n3\r\nabcdef\r\n",
            FetchFailure.MALFORMED,
            "longer than its size",
        ),
        (
            CT + b"Transfer-Encoding: chunked\r\n\r\n10\r\nabc",
            FetchFailure.MALFORMED,
            "chunk of 16 bytes",
        ),
        (CT + b"Content-Encoding: gzip\r\n\r\n", FetchFailure.MALFORMED, "Content-Encoding gzip"),
        (CT + b"\r\n\x1b[31mred", None, ""),  # close-delimited, and escapes are the renderer's job
        (b"HTTP/1.1 100 Continue\r\n\r\n" + CT + b"Content-Length: 2\r\n\r\nok", None, ""),
        (b"HTTP/1.1 302 Found\r\n\r\n", FetchFailure.REDIRECT, "HTTP 302 redirect; senders"),
        (
            b"HTTP/1.1 200 OK\nContent-Type: text/plain\nContent-Length: 2\n\nok",
            None,
            "",
        ),  # bare LF
    ],
)
def test_misbehaving_servers(
    data: bytes,
    kind: FetchFailure | None,
    fragment: str,
    good_context: ssl.SSLContext,
    store: TrustStore,
) -> None:
    result, _ = fetch(RawResponse(data=data), good_context, store)
    assert result.failure is kind, result.reason
    assert fragment in result.reason


def test_loopback_server_frames_responses_itself() -> None:
    chunked = encode_response(
        HttpResponse(status=200, body=b"abcdef", framing="chunked", chunk_size=4)
    )
    assert chunked.endswith(b"\r\n\r\n4\r\nabcd\r\n2\r\nef\r\n0\r\n\r\n")
    assert b"Transfer-Encoding: chunked\r\n" in chunked
    lying = encode_response(
        HttpResponse(status=200, headers=(("Content-Length", "99"),), body=b"x")
    )
    assert lying.count(b"Content-Length") == 1


def test_loopback_server_surfaces_handler_errors(
    good_context: ssl.SSLContext, store: TrustStore
) -> None:
    def broken(_request: HttpRequest) -> Reply:
        raise RuntimeError("handler bug")

    server = LoopbackHttpsServer(broken, tls_context=good_context)

    async def main() -> FetchResult:
        async with server:
            return await fetch_policy("127.0.0.1", server.port, HOST, timeout=2)

    result = asyncio.run(main())
    assert result.failure is FetchFailure.MALFORMED
    with pytest.raises(RuntimeError, match="handler bug"):
        server.raise_errors()


def test_handler_may_return_a_plain_tuple(good_context: ssl.SSLContext, store: TrustStore) -> None:
    result, _ = fetch((200, {"Content-Type": "text/plain"}, POLICY), good_context, store)
    assert (result.failure, result.body) == (None, POLICY.decode())
