"""`--explain CODE`: every catalogue code has a long form, and it renders cleanly."""

from __future__ import annotations

import dataclasses

import pytest

from starttls_check.render.explanation import (
    WIDTH,
    known_codes,
    render_explanation,
    suggestions,
)

from .samples import CATALOGUE, EXPLANATIONS

SECTIONS = ("WHAT", "WHY IT MATTERS", "HOW TO FIX", "HOW TO VERIFY")
# Findings fixed in the MTA's own configuration: the fix names both servers' settings.
MTA_FIXES = (
    "starttls.not-offered",
    "starttls.refused",
    "tls.handshake-failed",
    "tls.below-minimum",
    "tls.version-deprecated",
    "tls.accepts-tls1-0",
    "cert.self-signed",
    "cert.untrusted",
    "cert.incomplete-chain",
    "cert.name-mismatch",
    "cipher.static-rsa",
    "cipher.null",
    "capabilities.auth-in-clear",
)


def test_every_catalogue_code_is_explained_and_nothing_else() -> None:
    assert set(EXPLANATIONS) == set(CATALOGUE)
    assert known_codes() == list(CATALOGUE)  # catalogue order: grouped by topic


@pytest.mark.parametrize("code", sorted(CATALOGUE))
def test_no_section_is_empty(code: str) -> None:
    explanation = EXPLANATIONS[code]
    for field in dataclasses.fields(explanation):
        text = getattr(explanation, field.name)
        assert len(text.strip()) >= 20, (code, field.name)
    assert "$ " in explanation.verify, "every verification shows a command to run"


@pytest.mark.parametrize("code", sorted(CATALOGUE))
def test_rendered_with_header_hint_and_sections_in_order(code: str) -> None:
    text = render_explanation(code)
    lines = text.splitlines()
    assert lines[0] == f"{code} (default severity: {CATALOGUE[code].severity.value})"
    assert " ".join(CATALOGUE[code].hint.split()) in " ".join(text.split())
    positions = [lines.index(title) for title in SECTIONS]
    assert positions == sorted(positions)
    for title in SECTIONS:  # each heading is followed by indented text, not another heading
        assert lines[lines.index(title) + 1].startswith("  ")
    assert text.endswith("\n")
    assert "\x1b" not in text


@pytest.mark.parametrize("code", sorted(CATALOGUE))
def test_wrapped_at_88_columns_without_splitting_quoted_settings(code: str) -> None:
    lines = render_explanation(code).splitlines()
    assert all(len(line) <= WIDTH for line in lines), [x for x in lines if len(x) > WIDTH]
    assert all(line == line.rstrip() for line in lines)
    # A `setting = value` broken across two lines would leave an odd count on each.
    assert all(line.count("`") % 2 == 0 for line in lines), code


def test_long_paragraphs_are_wrapped_not_left_long() -> None:
    why = EXPLANATIONS["cert.self-signed"].why
    assert len(why) > 3 * WIDTH
    rendered = render_explanation("cert.self-signed").splitlines()
    start = rendered.index("WHY IT MATTERS") + 1
    body = rendered[start : rendered.index("HOW TO FIX") - 1]
    assert len(body) >= 4
    assert max(len(line) for line in body) > WIDTH - 15  # filled, not wrapped short


def test_commands_and_configuration_lines_are_kept_as_written() -> None:
    text = render_explanation("starttls.not-offered")
    assert "\n      smtpd_tls_security_level = may\n" in text
    assert "\n    $ starttls-check --transcript example.com\n" in text


@pytest.mark.parametrize("code", MTA_FIXES)
def test_mta_fixes_name_postfix_and_exim_settings(code: str) -> None:
    fix = EXPLANATIONS[code].fix
    assert "Postfix" in fix
    assert "Exim" in fix


@pytest.mark.parametrize(
    ("typo", "meant"),
    [
        ("cert.expird", "cert.expired"),
        ("CERT.EXPIRED", "cert.expired"),
        ("expired", "cert.expired"),
        ("starttls.not-offerd", "starttls.not-offered"),
        ("tls.accepts-tls1.0", "tls.accepts-tls1-0"),
        ("cert.untrusted-root", "cert.untrusted"),
    ],
)
def test_suggestions_for_a_typo(typo: str, meant: str) -> None:
    assert suggestions(typo)[0] == meant
    assert len(suggestions(typo)) <= 5


def test_no_suggestions_for_nonsense() -> None:
    assert suggestions("zzzzqqq") == []


@pytest.mark.parametrize("code", ["cert.expird", "", "CERT.EXPIRED", "cert"])
def test_unknown_code_is_a_key_error(code: str) -> None:
    with pytest.raises(KeyError):
        render_explanation(code)
