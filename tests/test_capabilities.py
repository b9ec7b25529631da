"""Rules on what the server advertised before and after TLS (checks/capabilities.py).

Facts are built directly from the model, one row per finding and rows that must find
nothing; each expected finding is named by its code and severity.
"""

from __future__ import annotations

from typing import Any

import pytest

from starttls_check.checks.capabilities import evaluate_capabilities, keyword
from starttls_check.model.findings import Finding, Severity, Subject
from starttls_check.model.session import Reply, SessionFacts, TlsResult

from .samples import CATALOGUE

INFO, WARN, FAIL = Severity.INFO, Severity.WARN, Severity.FAIL
SUBJECT = Subject(host="mx.example.com", address="192.0.2.1", port=25)
CLEAR = ("PIPELINING", "SIZE 10240000", "8BITMIME", "SMTPUTF8", "CHUNKING", "STARTTLS")
INSIDE = ("PIPELINING", "SIZE 10240000", "8BITMIME", "SMTPUTF8", "CHUNKING")
# What a Cisco ASA with default ESMTP inspection lets through (mask-banner, no allow-tls).
CISCO_BANNER = "*" * 30 + "0*0" + "*" * 10
CISCO_EHLO = ("PIPELINING", "SIZE 10240000", "XXXXXXXA", "8BITMIME", "XXXXXXXB")


def reply(code: int, *lines: str) -> Reply:
    return Reply(code=code, lines=lines or ("",))


def tls() -> TlsResult:
    return TlsResult(
        version="TLSv1.3",
        cipher="TLS_AES_256_GCM_SHA384",
        cipher_bits=256,
        chain=(),
        handshake_ms=1,
    )


def session(
    clear: tuple[str, ...] = CLEAR, inside: tuple[str, ...] | None = INSIDE, **over: Any
) -> SessionFacts:
    """A complete STARTTLS session advertising `clear`, then `inside` (None: no EHLO in TLS)."""
    offered = any(keyword(c) == "STARTTLS" for c in clear)
    fields: dict[str, Any] = {
        "greeting": reply(220, "mx.example.com ESMTP"),
        "ehlo_command": "EHLO",
        "ehlo_reply": reply(250, "mx.example.com", *clear),
        "capabilities": clear,
        "starttls_offered": offered,
    }
    if offered:
        fields |= {"starttls_reply": reply(220, "2.0.0 Ready to start TLS"), "tls": tls()}
    if offered and inside is not None:
        fields |= {
            "ehlo_tls_reply": reply(250, "mx.example.com", *inside),
            "capabilities_after_tls": inside,
        }
    return SessionFacts(**(fields | over))


def summary(findings: list[Finding]) -> list[tuple[str, Severity]]:
    """(code, severity) pairs, after checking each code is catalogued with its hint."""
    for f in findings:
        assert f.code in CATALOGUE, f.code
        assert f.hint == CATALOGUE[f.code].hint, f.code
        assert f.subject == SUBJECT
    return [(f.code, f.severity) for f in findings]


NO_FINDING = [
    pytest.param(session(), id="clean-session"),
    pytest.param(SessionFacts(), id="nothing-observed"),
    pytest.param(session(inside=(*INSIDE, "AUTH PLAIN LOGIN")), id="auth-only-inside-tls"),
    pytest.param(session(inside=(*INSIDE, "BINARYMIME", "DSN")), id="gains-inside-tls"),
    pytest.param(session(inside=INSIDE[::-1]), id="same-keywords-other-order"),
    pytest.param(
        session(inside=("pipelining", "size 10240000", "8bitmime", "smtputf8", "chunking")),
        id="same-keywords-lower-case",
    ),
    pytest.param(session(clear=("SIZE", "STARTTLS"), inside=("SIZE",)), id="size-without-limit"),
    pytest.param(session(inside=None), id="no-ehlo-inside-tls"),
    pytest.param(session(clear=INSIDE), id="no-starttls-no-tls"),
    pytest.param(
        session(clear=(), starttls_reply=reply(454, "4.7.0 TLS not available"), tls=None),
        id="starttls-454-is-not-stripping",
    ),
    pytest.param(
        session(
            clear=(),
            ehlo_command="HELO",
            ehlo_reply=reply(502, "5.5.2 Error: command not recognized"),
            helo_reply=reply(250, "mx.example.com"),
            capabilities=("AUTH PLAIN", "XXXXXXXA"),  # inconsistent: EHLO was rejected
        ),
        id="ehlo-rejected",
    ),
    pytest.param(SessionFacts(greeting=reply(554, "no SMTP service here")), id="greeting-rejected"),
    pytest.param(
        # Implicit TLS (RFC 8314): the one EHLO is inside TLS, so AUTH there is fine.
        SessionFacts(
            greeting=reply(220, "mx.example.com ESMTP"),
            ehlo_command="EHLO",
            ehlo_reply=reply(250, "mx.example.com", "AUTH PLAIN"),
            capabilities=("AUTH PLAIN",),
            tls=tls(),
            capabilities_after_tls=("AUTH PLAIN",),
        ),
        id="implicit-tls-auth",
    ),
    pytest.param(
        session(clear=("X-EXPS GSSAPI", "XEXCH50", "XFORWARD NAME ADDR", "XXX-Y", *CLEAR)),
        id="x-extensions-are-not-masks",
    ),
]


@pytest.mark.parametrize("facts", NO_FINDING)
def test_no_finding(facts: SessionFacts) -> None:
    assert evaluate_capabilities(SUBJECT, facts) == []


FINDINGS = [
    pytest.param(
        session(inside=(*INSIDE, "STARTTLS")),
        [("capabilities.starttls-after-tls", INFO)],
        id="starttls-after-tls",
    ),
    pytest.param(
        session(inside=(*INSIDE, "starttls")),
        [("capabilities.starttls-after-tls", INFO)],
        id="starttls-after-tls-lower-case",
    ),
    pytest.param(
        session(clear=(*CLEAR, "AUTH PLAIN LOGIN"), inside=(*INSIDE, "AUTH PLAIN LOGIN")),
        [("capabilities.auth-in-clear", WARN)],
        id="auth-in-clear-and-inside",
    ),
    pytest.param(
        session(clear=(*CLEAR, "AUTH PLAIN LOGIN")),
        [("capabilities.auth-in-clear", WARN)],
        id="auth-in-clear-only",
    ),
    pytest.param(
        session(clear=(*CLEAR, "AUTH=LOGIN PLAIN")),
        [("capabilities.auth-in-clear", WARN)],
        id="auth-legacy-equals-form",
    ),
    pytest.param(
        session(clear=(*CLEAR, "auth login")),
        [("capabilities.auth-in-clear", WARN)],
        id="auth-lower-case",
    ),
    pytest.param(
        session(clear=(*INSIDE, "AUTH PLAIN")),
        [("capabilities.auth-in-clear", WARN)],
        id="auth-without-starttls",
    ),
    pytest.param(
        session(inside=("PIPELINING", "SIZE 52428800", "8BITMIME", "SMTPUTF8", "CHUNKING")),
        [("capabilities.changed-after-tls", INFO)],
        id="size-changed",
    ),
    pytest.param(
        session(inside=("PIPELINING", "8BITMIME", "SMTPUTF8", "CHUNKING")),
        [("capabilities.changed-after-tls", INFO)],
        id="size-lost",
    ),
    pytest.param(
        session(inside=("SIZE 10240000",)),
        [("capabilities.changed-after-tls", INFO)],
        id="four-keywords-lost",
    ),
    pytest.param(
        session(inside=(*INSIDE, "REQUIRETLS")),
        [("capabilities.requiretls", INFO)],
        id="requiretls",
    ),
    pytest.param(
        session(clear=(*INSIDE, "requiretls")),
        [("capabilities.requiretls", INFO)],
        id="requiretls-in-clear-only",
    ),
    pytest.param(
        session(clear=CISCO_EHLO, greeting=reply(220, CISCO_BANNER)),
        [("starttls.stripped", FAIL)],
        id="cisco-xxxxxxxa",
    ),
    pytest.param(
        session(clear=("PIPELINING", "XXXXXXXX", "8BITMIME")),
        [("starttls.stripped", FAIL)],
        id="all-x-line-without-starttls",
    ),
    pytest.param(
        session(clear=("PIPELINING", "xxxxxxxa")),
        [("starttls.stripped", FAIL)],
        id="masked-lower-case",
    ),
    pytest.param(
        session(
            clear=CLEAR,
            starttls_reply=reply(502, "5.5.2 Error: command not recognized"),
            tls=None,
        ),
        [("starttls.stripped", FAIL)],
        id="starttls-502",
    ),
    pytest.param(
        session(clear=CLEAR, starttls_reply=reply(500, "5.5.1 Unrecognized command"), tls=None),
        [("starttls.stripped", FAIL)],
        id="starttls-500",
    ),
    pytest.param(
        session(clear=(*CLEAR, "XXXXXXXB")),
        [("capabilities.masked", INFO)],
        id="masked-but-starttls-through",
    ),
    pytest.param(
        session(
            clear=(*CLEAR, "AUTH PLAIN"),
            inside=("SIZE 1", "STARTTLS", "REQUIRETLS"),
        ),
        [
            ("capabilities.auth-in-clear", WARN),
            ("capabilities.starttls-after-tls", INFO),
            ("capabilities.changed-after-tls", INFO),
            ("capabilities.requiretls", INFO),
        ],
        id="several-in-session-order",
    ),
]


@pytest.mark.parametrize(("facts", "expected"), FINDINGS)
def test_findings(facts: SessionFacts, expected: list[tuple[str, Severity]]) -> None:
    assert summary(evaluate_capabilities(SUBJECT, facts)) == expected


def test_changes_are_listed() -> None:
    inside = ("SIZE 52428800", "8BITMIME")
    [made] = evaluate_capabilities(SUBJECT, session(inside=inside))
    assert made.message.endswith("SIZE 10240000 -> 52428800; lost PIPELINING, CHUNKING, SMTPUTF8")


def test_size_gained_inside_tls_is_a_change() -> None:
    clear = ("PIPELINING", "STARTTLS")
    [made] = evaluate_capabilities(SUBJECT, session(clear=clear, inside=("PIPELINING", "SIZE")))
    assert made.message.endswith("SIZE absent -> (no limit)")


def test_stripped_by_masking_quotes_the_masked_lines_and_banner() -> None:
    facts = session(clear=CISCO_EHLO, greeting=reply(220, CISCO_BANNER))
    [made] = evaluate_capabilities(SUBJECT, facts)
    assert made.evidence == f"greeting: 220 {CISCO_BANNER} / EHLO: XXXXXXXA, XXXXXXXB"
    assert "STARTTLS (as XXXXXXXA)" in made.message
    assert "not necessarily this server" in made.message


def test_stripped_by_refusal_quotes_the_reply_and_names_both_causes() -> None:
    facts = session(starttls_reply=reply(502, "5.5.2 Error: command not recognized"), tls=None)
    [made] = evaluate_capabilities(SUBJECT, facts)
    assert made.evidence == "STARTTLS -> 502 5.5.2 Error: command not recognized"
    assert "device on the path" in made.message
    assert "the server offers STARTTLS it cannot run" in made.message


def test_auth_evidence_and_message_say_where_auth_is_offered() -> None:
    [made] = evaluate_capabilities(SUBJECT, session(clear=(*CLEAR, "AUTH=LOGIN")))
    assert made.evidence == "AUTH=LOGIN"
    assert "not inside TLS" in made.message


@pytest.mark.parametrize(
    ("capability", "expected"),
    [
        ("AUTH PLAIN LOGIN", "AUTH"),
        ("AUTH=LOGIN PLAIN", "AUTH"),
        ("auth=login", "AUTH"),
        ("size 100", "SIZE"),
        ("8BITMIME", "8BITMIME"),
    ],
)
def test_keyword(capability: str, expected: str) -> None:
    assert keyword(capability) == expected
