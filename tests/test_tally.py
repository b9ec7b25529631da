"""The bulk aggregate (judge/tally.py) from report documents in their JSON shape: pure."""

from __future__ import annotations

from typing import Any

import pytest

from starttls_check.judge.tally import NO_MX, Tally, provider_of


def doc(domain: str, *hosts: dict[str, Any], verdict: str = "pass") -> dict[str, Any]:
    return {"ascii_domain": domain, "verdict": verdict, "dns": {"hosts": list(hosts)}, "hosts": []}


def mx(name: str, preference: int = 10, *, implicit: bool = False, addresses: int = 1) -> Any:
    return {
        "name": name,
        "preference": preference,
        "implicit": implicit,
        "addresses": [f"127.0.0.{n + 2}" for n in range(addresses)],
    }


def test_the_provider_is_the_registrable_domain_of_the_most_preferred_mx() -> None:
    pytest.importorskip("publicsuffixlist")
    found = doc("a.test", mx("mx2.backup.example.net", 20), mx("in1.mail.example.co.uk", 5))
    assert provider_of(found) == "example.co.uk"


def test_an_address_named_directly_is_its_own_provider() -> None:
    assert provider_of(doc("[127.2.0.1]", mx("127.2.0.1", 0))) == "127.2.0.1"
    assert provider_of(doc("[::1]", mx("::1", 0))) == "::1"


def test_no_mx_and_no_address_is_no_mail_host() -> None:
    assert provider_of(doc("t1.test", mx("t1.test", 0, implicit=True, addresses=0))) == NO_MX
    assert provider_of(doc("x1.test")) == NO_MX  # NXDOMAIN, null MX: no hosts at all
    # An implicit MX with an address is the domain's own mail host.
    assert provider_of(doc("a1.test", mx("a1.test", 0, implicit=True))) != NO_MX


def test_providers_with_equal_counts_come_out_by_name_whatever_the_order_read() -> None:
    docs = [doc(f"d{n}.test", mx(f"mx.{p}.test")) for n, p in enumerate("cabbca")]
    first = Tally().add_all(docs).as_json()["providers"]
    again = Tally().add_all(reversed(docs)).as_json()["providers"]
    assert [p["provider"] for p in first] == [p["provider"] for p in again]
    assert [p["domains"] for p in first] == [2, 2, 2]
    assert [p["provider"] for p in first] == sorted(p["provider"] for p in first)
