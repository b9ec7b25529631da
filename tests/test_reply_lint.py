"""smtp/lint.py: which defects a reply has, counted per kind, with their lines (pure)."""

from __future__ import annotations

import pytest

from starttls_check.model.session import DefectKind
from starttls_check.smtp.lint import reply_defects

CLEAN = [
    pytest.param([b"220 mx ESMTP\r\n"], False, id="greeting"),
    pytest.param([b"250-mx\r\n", b"250-SIZE 1\r\n", b"250 STARTTLS\r\n"], True, id="ehlo"),
    pytest.param([b"220-\r\n", b"220-  Welcome\r\n", b"220 mx\r\n"], False, id="banner-art"),
    pytest.param([b"250 " + b"x" * 506 + b"\r\n"], False, id="exactly-512-octets"),
    pytest.param([b"250\r\n"], True, id="code-only-single-line"),
]


@pytest.mark.parametrize(("raw", "ehlo"), CLEAN)
def test_valid_replies_have_no_defects(raw: list[bytes], ehlo: bool) -> None:
    assert reply_defects("EHLO", raw, ehlo=ehlo) == []


def test_one_defect_per_kind_with_every_line_named() -> None:
    raw = [b"250-a\n", b"251-b\n", b"252-c\r\n", b"\r\n", b"250 " + b"x" * 507 + b"\r\n"]
    found = {d.kind: d for d in reply_defects("EHLO", raw, ehlo=True)}
    assert set(found) == set(DefectKind)
    assert found[DefectKind.BARE_LF].lines == (1, 2)
    assert found[DefectKind.MIXED_CODES].lines == (2, 3)
    assert "code 251, 252, the last line's 250" in found[DefectKind.MIXED_CODES].detail
    assert found[DefectKind.EMPTY_LINE].lines == (4,)
    assert found[DefectKind.LONG_LINE].lines == (5,)
    assert "the longest 513" in found[DefectKind.LONG_LINE].detail
    assert {d.reply for d in found.values()} == {"EHLO"}


def test_a_bare_lf_line_is_measured_as_if_it_had_crlf() -> None:
    (defect,) = reply_defects("EHLO", [b"250 " + b"x" * 507 + b"\n"], smtp=True)[1:]
    assert defect.kind is DefectKind.LONG_LINE


def test_an_empty_extension_line_counts_in_ehlo_replies_only() -> None:
    raw = [b"250-mx\r\n", b"250-\r\n", b"250 STARTTLS\r\n"]
    assert reply_defects("greeting", raw, ehlo=False) == []
    (defect,) = reply_defects("EHLO", raw, ehlo=True)
    assert (defect.kind, defect.lines) == (DefectKind.EMPTY_LINE, (2,))


def test_imap_and_pop3_lines_are_judged_by_their_endings_only() -> None:
    raw = [b"* CAPABILITY IMAP4rev1 STARTTLS\n", b"a1 OK done\r\n"]
    (defect,) = reply_defects("CAPABILITY", raw, smtp=False)
    assert (defect.kind, defect.lines) == (DefectKind.BARE_LF, (1,))


def test_many_lines_are_summarised() -> None:
    raw = [b"250-x\n"] * 30 + [b"250 end\r\n"]
    (defect,) = reply_defects("EHLO", raw)
    assert len(defect.lines) == 30
    assert "lines 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 and 20 more" in defect.detail
