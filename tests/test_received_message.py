"""A whole message's header block read and judged: the path oldest hop first, input that
tells nothing (no Received header, not a message at all), the gate and the table."""

from __future__ import annotations

import pytest

from starttls_check.judge.gate import ExitCode
from starttls_check.judge.sending_gate import sending_gate
from starttls_check.model.findings import Severity, Verdict
from starttls_check.render.headers_table import render_headers
from starttls_check.run.sending import check_headers

D = "; Tue, 1 Dec 2026 12:00:00 +0100"


@pytest.mark.parametrize(
    ("data", "codes", "message"),
    [
        (b"Subject: x\r\n\r\nbody", ["received.none"], "no Received header found"),
        (b"", ["received.none", "received.not-a-message"], "the input is empty"),
        (
            bytes(range(256)) * 4,
            ["received.none", "received.not-a-message"],
            "the input does not begin with a message header",
        ),
        (
            b"Hello,\r\nthe body saved alone: Received: from a by b\r\n",
            ["received.none", "received.not-a-message"],
            "the input does not begin with a message header",
        ),
        (b"\r\n\r\nSubject: x\r\n", ["received.none", "received.not-a-message"], "message header"),
    ],
)
def test_no_received_header_tells_nothing(data: bytes, codes: list[str], message: str) -> None:
    report = check_headers(data, "m")
    assert [f.code for f in report.findings] == codes
    assert message in report.findings[-1].message
    assert report.verdict is Verdict.INCONCLUSIVE
    assert sending_gate(report) == ExitCode.INCONCLUSIVE
    assert sending_gate(report, Severity.WARN) == ExitCode.INCONCLUSIVE
    text = render_headers(report, color=False, width=200)
    assert "INCONCLUSIVE" in text
    assert message in " ".join(text.split())


def test_a_message_of_local_hops_only_is_still_judged() -> None:
    data = b"Received: by mx.example.com (Postfix, from userid 1000) id 4Abc" + D.encode()
    report = check_headers(data + b"\r\n\r\n", "m")
    assert report.findings == ()
    assert report.verdict is Verdict.PASS
