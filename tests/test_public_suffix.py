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
