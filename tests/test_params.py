"""Command-line value parsers: what they accept, and one clear line when they refuse."""

from __future__ import annotations

import math

import pytest

from starttls_check.cli.params import (
    parse_domain,
    parse_hostname,
    parse_nameserver,
    parse_port,
    parse_timeout,
)


def assert_one_line_naming(exc: pytest.ExceptionInfo[ValueError], value: str) -> None:
    message = str(exc.value)
    assert "\n" not in message
    assert "\r" not in message
    assert value in message


# --- name servers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1", ("127.0.0.1", 53)),
        ("127.0.0.1:5353", ("127.0.0.1", 5353)),
        ("192.0.2.1:1", ("192.0.2.1", 1)),
        ("192.0.2.1:65535", ("192.0.2.1", 65535)),
        ("[::1]:53", ("::1", 53)),
        ("[::1]:5353", ("::1", 5353)),
        ("[::1]", ("::1", 53)),
        ("::1", ("::1", 53)),
        ("2001:db8::53", ("2001:db8::53", 53)),
    ],
)
def test_parse_nameserver_accepts(text: str, expected: tuple[str, int]) -> None:
    assert parse_nameserver(text) == expected


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("host.example:53", "host.example:53"),
        ("host.example", "host.example"),
        ("localhost", "localhost"),
        ("1.2.3.4:0", "'0'"),
        ("1.2.3.4:70000", "70000"),
        ("1.2.3.4:65536", "65536"),
        ("1.2.3.4:", "''"),
        ("1.2.3.4:-1", "-1"),
        ("1.2.3.4:53x", "53x"),
        ("1.2.3.4: 53", "' 53'"),
        ("[::1", "[::1"),
        ("[::1]53", "[::1]53"),
        ("[::1]:", "''"),
        ("[::1]:0", "'0'"),
        ("[host.example]:53", "host.example"),
        ("1.2.3", "1.2.3"),
        ("999.1.1.1", "999.1.1.1"),
        ("", "''"),
        ("1.2.3.4\n:53", "\\n"),
    ],
)
def test_parse_nameserver_rejects(text: str, names: str) -> None:
    with pytest.raises(ValueError, match=r"^bad (name server|port) ") as exc:
        parse_nameserver(text)
    assert_one_line_naming(exc, names)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(
            "1.2.3.4:\u00b2",
            id="superscript-two",
        ),
        pytest.param(
            "1.2.3.4:\u0665\u0663",
            id="arabic-indic-53",
        ),
    ],
)
def test_parse_nameserver_rejects_non_ascii_port_digits(text: str) -> None:
    with pytest.raises(ValueError, match=r"^bad port "):
        parse_nameserver(text)


@pytest.mark.parametrize(("text", "port"), [("1", 1), ("53", 53), ("65535", 65535)])
def test_parse_port_accepts(text: str, port: int) -> None:
    assert parse_port(text) == port


@pytest.mark.parametrize("text", ["0", "65536", "70000", "", "-5", "+5", "5.0", "0x35", " 53"])
def test_parse_port_rejects(text: str) -> None:
    with pytest.raises(ValueError, match=r"^bad port .*1 to 65535") as exc:
        parse_port(text)
    assert_one_line_naming(exc, repr(text))


# --- domains ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("example.com", "example.com"),
        ("example.com.", "example.com"),
        ("EXAMPLE.Com", "example.com"),
        ("  example.com  ", "example.com"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("BÜCHER.example", "xn--bcher-kva.example"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("mail-1.sub.example.org", "mail-1.sub.example.org"),
        ("_mta-sts.example.com", "_mta-sts.example.com"),
        ("a" * 63 + ".example", "a" * 63 + ".example"),
        # 253 characters: the longest name that fits in 255 octets on the wire
        (".".join(["a" * 63] * 3 + ["b" * 61]), ".".join(["a" * 63] * 3 + ["b" * 61])),
    ],
)
def test_parse_domain_accepts(text: str, expected: str) -> None:
    assert parse_domain(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
        pytest.param(".", id="root"),
        pytest.param("exa mple.com", id="inner-space"),
        pytest.param("example.com\tx", id="tab"),
        pytest.param("a..b", id="empty-label"),
        pytest.param(".example.com", id="leading-dot"),
        pytest.param("a" * 64 + ".example", id="64-char-label"),
        pytest.param(".".join(["a" * 63] * 3 + ["b" * 62]), id="254-char-name"),
        pytest.param("user@example.com", id="mail-address"),
        pytest.param("http://x", id="url"),
        pytest.param("example.com/path", id="path"),
        pytest.param("localhost", id="single-label"),
        pytest.param("-example.com", id="leading-hyphen"),
        pytest.param("example-.com", id="trailing-hyphen"),
        pytest.param("exa!mple.com", id="punctuation"),
        pytest.param("exa\x1bmple.com", id="escape-char"),
        pytest.param("example.com:25", id="port"),
        pytest.param("[192.0.2.1]", id="address-literal"),
    ],
)
def test_parse_domain_rejects(text: str) -> None:
    with pytest.raises(ValueError, match=r"^bad domain ") as exc:
        parse_domain(text)
    assert_one_line_naming(exc, repr(text))


# --- EHLO host names -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail.example.com", "mail.example.com"),
        ("MAIL.Example.COM.", "mail.example.com"),
        (" mail.example.com ", "mail.example.com"),
        ("starttls-check.localdomain", "starttls-check.localdomain"),
        ("a" * 63 + ".example", "a" * 63 + ".example"),
        (".".join(["a" * 63] * 3 + ["b" * 61]), ".".join(["a" * 63] * 3 + ["b" * 61])),
    ],
)
def test_parse_hostname_accepts(text: str, expected: str) -> None:
    assert parse_hostname(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param(".", id="root"),
        pytest.param("mail example.com", id="space"),
        pytest.param("a..b", id="empty-label"),
        pytest.param("a" * 64 + ".example", id="64-char-label"),
        pytest.param(".".join(["a" * 63] * 3 + ["b" * 62]), id="254-char-name"),
        pytest.param("bücher.example", id="u-label"),
        pytest.param("-mail.example", id="leading-hyphen"),
        pytest.param("mail-.example", id="trailing-hyphen"),
        pytest.param("mail.example\r\nMAIL FROM:<x>", id="crlf-injection"),
        pytest.param("[192.0.2.1]", id="address-literal"),
    ],
)
def test_parse_hostname_rejects(text: str) -> None:
    with pytest.raises(ValueError, match=r"^bad host name ") as exc:
        parse_hostname(text)
    assert_one_line_naming(exc, repr(text))


# --- timeouts --------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [0.5, 0.001, 1, 10, 300])
def test_parse_timeout_accepts(value: float) -> None:
    assert parse_timeout(value) == value


@pytest.mark.parametrize(
    ("value", "shown"),
    [(0, "0"), (-1, "-1"), (301, "301"), (300.5, "300.5"), (math.inf, "inf"), (math.nan, "nan")],
)
def test_parse_timeout_rejects(value: float, shown: str) -> None:
    with pytest.raises(ValueError, match=rf"^bad timeout {shown}: ") as exc:
        parse_timeout(value)
    assert_one_line_naming(exc, shown)


def test_idn_uses_idna_2008_not_2003() -> None:
    # IDNA 2003 maps ß to ss: a different domain. Registries follow IDNA 2008.
    assert parse_domain("faß.de") == "xn--fa-hia.de"
    assert parse_domain("Faß.DE") == "xn--fa-hia.de"
