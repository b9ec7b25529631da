"""A whole message's header block read and judged: the path oldest hop first, hops within
one host, input that tells nothing (no Received header, not a message at all), hostile
input bounded, the gate and the table."""

from __future__ import annotations

import pytest

from starttls_check.checks.received import judge_headers
from starttls_check.judge.gate import ExitCode
from starttls_check.judge.sending_gate import sending_gate
from starttls_check.model.findings import Severity, Verdict
from starttls_check.model.sending import HopTls
from starttls_check.policy.received import MAX_HOPS, hops, parse_hop, received_headers
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
        (b"\r\n\r\nSubject: x\r\n", ["received.none"], "no Received header found"),
        (b"\xef\xbb\xbfSubject: x\r\n\r\n", ["received.none"], "no Received header found"),
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


def test_a_message_of_local_hops_only_is_inconclusive() -> None:
    """It never crossed a network: there is no transfer whose TLS could be judged."""
    data = b"Received: by mx.example.com (Postfix, from userid 1000) id 4Abc" + D.encode()
    report = check_headers(data + b"\r\n\r\n", "m")
    assert report.findings == ()
    assert report.verdict is Verdict.INCONCLUSIVE
    assert "0 network hops" in render_headers(report, color=False, width=200)


@pytest.mark.parametrize("before", [b"\xef\xbb\xbf", b"\r\n", b"\n\n"])
def test_a_byte_order_mark_or_blank_lines_before_the_header_are_skipped(before: bytes) -> None:
    data = b"Received: from a.example (a.example [192.0.2.1]) by mx.example.com (Postfix)"
    data += b" with ESMTPS id X (version=TLS1_3 cipher=TLS_AES_256_GCM_SHA384)" + D.encode()
    report = check_headers(before + data + b"\r\nSubject: s\r\n\r\nbody", "m")
    (hop,) = report.hops
    assert hop.tls is HopTls.USED
    assert report.subject == "s"


def test_local_hops_are_not_network_hops() -> None:
    amavis = parse_hop(
        1,
        "from localhost (localhost [127.0.0.1]) by mx.example.com (Postfix) with ESMTP id X" + D,
    )
    assert amavis.local
    assert amavis.tls is HopTls.NOT_USED
    pickup = parse_hop(1, "by mx.example.com (Postfix, from userid 1000) id 4Abc" + D)
    assert pickup.local
    assert pickup.tls is HopTls.NOT_RECORDED
    report = judge_headers("m", None, (amavis, pickup), 0, header_fields=2, bytes_read=200)
    assert [f.code for f in report.findings] == ["received.clear-text-local"]
    assert report.verdict is Verdict.INCONCLUSIVE  # no hop between hosts to judge


MESSAGE = (
    "Received: from mx.example.com (mx.example.com [198.51.100.7])\r\n"
    "\t(using TLSv1.2 with cipher ECDHE-RSA-AES256-GCM-SHA384 (256/256 bits))\r\n"
    "\tby inbox.example.net (Postfix) with ESMTPS id AAA; Tue, 1 Dec 2026 12:00:02 +0000\r\n"
    "Received: from sender.example.org (sender.example.org [192.0.2.1])\r\n"
    "\tby mx.example.com (Postfix) with ESMTP id BBB; Tue, 1 Dec 2026 12:00:01 +0000\r\n"
    "Subject: hello\r\n"
    "\r\n"
    "body\r\n"
)


def test_a_message_oldest_hop_first_and_the_clear_hop_fails() -> None:
    block = received_headers(MESSAGE.encode())
    assert block.subject == "hello"
    assert (block.fields, block.size) == (3, len(MESSAGE))
    found, skipped = hops(block.received)
    assert skipped == 0
    assert [h.by_host for h in found] == ["mx.example.com", "inbox.example.net"]
    assert [h.tls for h in found] == [HopTls.NOT_USED, HopTls.USED]
    report = check_headers(MESSAGE.encode(), "m.eml")
    assert [h.by_host for h in report.hops] == ["mx.example.com", "inbox.example.net"]
    assert [(f.code, str(f.subject)) for f in report.findings] == [
        ("received.clear-text", "hop 1 (by mx.example.com)")
    ]
    assert report.verdict is Verdict.FAIL


def test_hostile_headers_are_bounded() -> None:
    huge = b"Received: from a\x1b[31m\xff\xfe (b [192.0.2.1]) by c (Postfix) with ESMTP id x"
    huge += b"\r\n\t(" * 5000 + b"; Tue, 1 Dec 2026 12:00:00 +0000\r\n"
    line = b"Received: from d (d [192.0.2.2]) by e (Postfix) with ESMTPS id y; 1 Dec 2026\r\n"
    data = huge + line * 999 + b"\r\n"
    block = received_headers(data)
    headers = block.received
    found, skipped = hops(headers)
    assert len(found) == MAX_HOPS
    assert skipped == 1000 - MAX_HOPS
    assert all(len(h.header) <= 4000 for h in found)
    newest = hops(headers[:1])[0][0]
    assert newest.from_host is not None
    assert "\ufffd" in newest.from_host
    assert "\x1b" in newest.from_host  # kept as data; the renderers escape it
    assert len(newest.header) == 4000
    report = check_headers(data, "m")
    assert (report.hops, report.skipped) == (found, skipped)
    assert "received.skipped" in {f.code for f in report.findings}


@pytest.mark.parametrize(
    ("count", "skipped", "words"),
    [
        (1, 1, ("1 network hop,", "1 oldest Received header not analysed")),
        (2, 2, ("2 network hops,", "2 oldest Received headers not analysed")),
    ],
)
def test_counts_agree_with_their_nouns(count: int, skipped: int, words: tuple[str, ...]) -> None:
    line = b"Received: from d (d [192.0.2.2]) by e (Postfix) with ESMTPS id y; 1 Dec 2026\r\n"
    block = received_headers(line * count + b"\r\n")
    report = judge_headers(
        "m", None, hops(block.received)[0], skipped, header_fields=count, bytes_read=block.size
    )
    text = " ".join(render_headers(report, color=False, width=200).split())
    for word in words:
        assert word in text
