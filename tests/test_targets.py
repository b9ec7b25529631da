"""From DNS answers to probe targets: MX parsing and order, null MX, host names, dedupe."""

from __future__ import annotations

import time

import pytest

from starttls_check.dns.targets import (
    MxRecord,
    ProbeTarget,
    is_hostname,
    is_ip_address,
    is_null_mx,
    parse_mx,
    probe_targets,
)
from starttls_check.model.dns import DnsFacts, DnsStatus, MxHost


def mx(preference: int, exchange: str) -> MxRecord:
    return MxRecord(preference=preference, exchange=exchange)


# --- parse_mx --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("records", "expected"),
    [
        pytest.param((), [], id="none"),
        pytest.param(("10 mx.example.com.",), [mx(10, "mx.example.com")], id="final-dot-dropped"),
        pytest.param(("10 MX.Example.COM.",), [mx(10, "mx.example.com")], id="lower-cased"),
        pytest.param(("0 .",), [mx(0, "")], id="null-mx"),
        pytest.param(
            ("20 b.example.", "10 z.example.", "10 a.example.", "5 m.example."),
            [mx(5, "m.example"), mx(10, "a.example"), mx(10, "z.example"), mx(20, "b.example")],
            id="preference-then-name",
        ),
        pytest.param(
            ("100 a.example.", "20 a.example.", "3 a.example."),
            [mx(3, "a.example"), mx(20, "a.example"), mx(100, "a.example")],
            id="numeric-not-lexical",
        ),
        pytest.param(
            ("10 B.example.", "10 a.example."),
            [mx(10, "a.example"), mx(10, "b.example")],
            id="name-order-after-lowering",
        ),
        pytest.param(("65535 last.example.",), [mx(65535, "last.example")], id="max-preference"),
    ],
)
def test_parse_mx_sorts(records: tuple[str, ...], expected: list[MxRecord]) -> None:
    parsed, bad = parse_mx(records)
    assert parsed == expected
    assert bad == []


@pytest.mark.parametrize(
    "record",
    [
        pytest.param("", id="empty"),
        pytest.param("10", id="no-exchange"),
        pytest.param("10 ", id="blank-exchange"),
        pytest.param("mx.example.com.", id="no-preference"),
        pytest.param("ten mx.example.com.", id="word-preference"),
        pytest.param("-1 mx.example.com.", id="negative"),
        pytest.param("1.5 mx.example.com.", id="fraction"),
        pytest.param(" 10 mx.example.com.", id="leading-space"),
    ],
)
def test_parse_mx_sets_bad_records_aside(record: str) -> None:
    good = "10 mx.example.com."
    parsed, bad = parse_mx((good, record))
    assert parsed == [mx(10, "mx.example.com")]
    assert bad == [record]


def test_parse_mx_non_ascii_digit_is_a_bad_record() -> None:
    assert parse_mx(("\u00b2 mx.example.com.",)) == ([], ["\u00b2 mx.example.com."])


def test_parse_mx_keeps_bad_records_in_input_order() -> None:
    parsed, bad = parse_mx(("x a.", "20 b.example.", "y", "10 a.example."))
    assert parsed == [mx(10, "a.example"), mx(20, "b.example")]
    assert bad == ["x a.", "y"]


# --- is_null_mx ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("records", "expected"),
    [
        pytest.param([mx(0, "")], True, id="lone-null"),
        pytest.param([], False, id="no-records"),
        pytest.param([mx(10, "mx.example")], False, id="one-real"),
        pytest.param([mx(0, ""), mx(10, "mx.example")], False, id="null-mixed"),
        pytest.param([mx(0, ""), mx(0, "")], False, id="two-nulls"),
    ],
)
def test_is_null_mx(records: list[MxRecord], expected: bool) -> None:
    assert is_null_mx(records) is expected


def test_is_null_mx_from_parsed_record() -> None:
    parsed, _ = parse_mx(("0 .",))
    assert is_null_mx(parsed)


# --- is_hostname -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("mx.example.com", True, id="plain"),
        pytest.param("mx.example.com.", True, id="final-dot"),
        pytest.param("MX1.Example.COM", True, id="upper-case"),
        pytest.param("mail-1.example", True, id="hyphen"),
        pytest.param("_mx.example", True, id="underscore"),
        pytest.param("localhost", True, id="single-label"),
        pytest.param("a" * 63 + ".example", True, id="63-char-label"),
        pytest.param(".".join(["a" * 63] * 3 + ["b" * 61]), True, id="253-chars"),
        pytest.param("", False, id="empty"),
        pytest.param(".", False, id="root"),
        pytest.param("a..b", False, id="empty-label"),
        pytest.param(".example", False, id="leading-dot"),
        pytest.param("-mx.example", False, id="leading-hyphen"),
        pytest.param("mx-.example", False, id="trailing-hyphen"),
        pytest.param("mx example", False, id="space"),
        pytest.param("mx!.example", False, id="punctuation"),
        pytest.param("mx\\032.example", False, id="dns-escape"),
        pytest.param("bücher.example", False, id="u-label"),
        pytest.param(".".join(["a" * 63] * 3 + ["b" * 62]), False, id="254-chars"),
        pytest.param("192.0.2.1", False, id="ipv4"),
        pytest.param("2001:db8::1", False, id="ipv6"),
        pytest.param("a" * 64 + ".example", False, id="64-char-label"),
    ],
)
def test_is_hostname(name: str, expected: bool) -> None:
    assert is_hostname(name) is expected


def test_is_hostname_is_linear_on_failing_names() -> None:
    started = time.perf_counter()
    assert not is_hostname("a" * 22 + "!")
    assert time.perf_counter() - started < 0.02


@pytest.mark.parametrize(
    ("text", "expected"),
    [("192.0.2.1", True), ("::1", True), ("2001:db8::1", True), ("mx.example", False)],
)
def test_is_ip_address(text: str, expected: bool) -> None:
    assert is_ip_address(text) is expected


# --- probe_targets ---------------------------------------------------------------------------


def host(name: str, preference: int, *addresses: str) -> MxHost:
    return MxHost(
        name=name,
        preference=preference,
        implicit=False,
        cname_chain=(),
        addresses=addresses,
        ipv4_status=DnsStatus.OK,
        ipv6_status=DnsStatus.OK,
    )


def facts(*hosts: MxHost) -> DnsFacts:
    return DnsFacts(
        domain="example.com", mx_status=DnsStatus.OK, mx_detail="", null_mx=False, hosts=hosts
    )


def test_probe_targets_order_and_per_mx_dedupe() -> None:
    dns_facts = facts(
        host("mx1.example.com", 10, "192.0.2.1", "2001:db8::1", "192.0.2.1"),
        host("mx2.example.com", 20, "192.0.2.2"),
        host("dead.example.com", 30),
        # Another MX on an address already listed is a separate target (its own SNI name).
        host("mx3.example.com", 40, "192.0.2.1"),
    )
    assert probe_targets(dns_facts, 2525) == (
        ProbeTarget(mx="mx1.example.com", preference=10, address="192.0.2.1", port=2525),
        ProbeTarget(mx="mx1.example.com", preference=10, address="2001:db8::1", port=2525),
        ProbeTarget(mx="mx2.example.com", preference=20, address="192.0.2.2", port=2525),
        ProbeTarget(mx="mx3.example.com", preference=40, address="192.0.2.1", port=2525),
    )


def test_probe_targets_keeps_dns_host_order() -> None:
    """DnsFacts.hosts is already in preference order; probe_targets must not reshuffle it."""
    dns_facts = facts(host("b.example", 10, "192.0.2.2"), host("a.example", 10, "192.0.2.1"))
    assert [t.mx for t in probe_targets(dns_facts, 25)] == ["b.example", "a.example"]


def test_probe_targets_none_for_null_mx() -> None:
    null = DnsFacts(
        domain="example.com", mx_status=DnsStatus.OK, mx_detail="", null_mx=True, hosts=()
    )
    assert probe_targets(null, 25) == ()
