"""The registrable domain, from the packaged Public Suffix List (no network)."""

from __future__ import annotations

import pytest

from starttls_check.dns.public_suffix import available, registrable_domain


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("mx1.mail.example.co.uk", "example.co.uk"),
        ("example.com.", "example.com"),
        ("MX.Example.COM", "example.com"),
        ("co.uk", None),  # a public suffix has no registrable domain
        ("", None),
        ("a.b.example.test", "example.test"),  # unlisted TLD: the default rule "*"
        ("customer.blogspot.com", "blogspot.com"),  # private section ignored
    ],
)
def test_registrable_domain(name: str, expected: str | None) -> None:
    assert registrable_domain(name) == expected


def test_the_list_is_installed_with_the_test_extra() -> None:
    assert available()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.b.kawasaki.jp", "a.b.kawasaki.jp"),  # *.kawasaki.jp: b.kawasaki.jp is public
        ("b.kawasaki.jp", None),
        ("www.city.kawasaki.jp", "city.kawasaki.jp"),  # !city.kawasaki.jp
        ("mx.example.xn--fiqs8s", "example.xn--fiqs8s"),  # 中国: an IDN suffix, as A-labels
        ("mx.example.xn--abc", "example.xn--abc"),  # no such rule: the default "*"
    ],
)
def test_wildcards_exceptions_and_idn(name: str, expected: str | None) -> None:
    assert registrable_domain(name) == expected


def test_agrees_with_the_package_s_own_parser_on_every_icann_rule() -> None:
    """The maintained package is the oracle: for a name below each ICANN rule, both say the
    same registrable domain."""
    from publicsuffixlist import PublicSuffixList

    from starttls_check.dns import public_suffix

    oracle = PublicSuffixList(only_icann=True)
    rules, wildcards, exceptions = _icann_rules(public_suffix._data_file().read_text("utf-8"))
    names = [f"mx.example.{r}" for r in sorted(rules)]
    names += [f"mx.example.any.{w}" for w in sorted(wildcards)]
    names += [f"mx.{e}" for e in sorted(exceptions)]
    assert len(names) > 5000
    for name in names:
        ascii_name = name.encode("idna").decode("ascii") if not name.isascii() else name
        assert registrable_domain(ascii_name) == oracle.privatesuffix(ascii_name), name


def _icann_rules(text: str) -> tuple[set[str], set[str], set[str]]:
    """The ICANN section's rules, wildcards' parents and exceptions, parsed line by line."""
    rules: set[str] = set()
    wildcards: set[str] = set()
    exceptions: set[str] = set()
    for line in text.split("// ===END ICANN DOMAINS===", 1)[0].splitlines():
        rule = line.split(maxsplit=1)[0] if line.strip() and not line.startswith("//") else ""
        if rule.startswith("!"):
            exceptions.add(rule[1:])
        elif rule.startswith("*."):
            wildcards.add(rule[2:])
        elif rule:
            rules.add(rule)
    return rules, wildcards, exceptions
