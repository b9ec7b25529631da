"""The aggregate of a bulk run: shares of domains by verdict, STARTTLS, TLS version,
certificate validity, DANE and MTA-STS, overall and by mail provider. Pure.

It reads reports in their JSON shape (one JSONL line each), so a live run and a finished
file (`--summarize results.jsonl`) are counted by the same code. A domain's mail provider
is the registrable domain of its most preferred MX host (Public Suffix List, the `psl`
extra); without the list, the MX host's name itself. Providers are counted up to
`MAX_PROVIDERS`; later newcomers go under "(other)", so memory stays bounded.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..dns.public_suffix import PublicSuffixListMissing, registrable_domain
from ..dns.targets import is_ip_address
from ..model.findings import Severity, Verdict

DIMENSIONS = ("verdict", "starttls", "tls_version", "certificate", "dane", "mta_sts")
MAX_PROVIDERS = 5000
OTHER = "(other)"
NO_MX = "(no MX)"


def gated_verdict_of(doc: Mapping[str, Any]) -> Verdict:
    """`gate.gated_verdict` for a report in its JSON shape."""
    verdict = Verdict(doc["verdict"])
    fail_on = (doc.get("policy") or {}).get("fail_on")
    return Verdict.FAIL if verdict is Verdict.WARN and fail_on == Severity.WARN else verdict


def facets(doc: Mapping[str, Any]) -> dict[str, str]:
    """One domain's value in each dimension."""
    hosts = doc.get("hosts") or []
    facts = [h.get("facts") or {} for h in hosts]
    tls = [f["tls"] for f in facts if f.get("tls")]
    if any(f.get("starttls_offered") or f.get("tls") for f in facts):
        starttls = "offered"
    elif any(f.get("starttls_offered") is False for f in facts):
        starttls = "not offered"
    else:
        starttls = "untested"
    versions = sorted(t["version"] for t in tls)  # "TLSv1" < "TLSv1.1" < ... < "TLSv1.3"
    trusts = [h.get("trust") for h in hosts if (h.get("facts") or {}).get("tls")]
    certificate = "n/a"
    if trusts:
        valid = all(t is not None and not t.get("problems") for t in trusts)
        certificate = "valid" if valid else "invalid"
    policies = doc.get("policies")
    dane, mta_sts = "not checked", "not checked"
    if policies is not None:
        verdicts = [h.get("dane") for h in hosts if h.get("dane") is not None]
        dane = "none"
        if verdicts:
            dane = "authenticated" if all(v.get("authenticated") for v in verdicts) else "failing"
        mta_sts = ((policies.get("mta_sts") or {}).get("mode")) or "none"
    return {
        "verdict": doc.get("verdict", "untested"),
        "starttls": starttls,
        "tls_version": versions[0] if versions else "none",
        "certificate": certificate,
        "dane": dane,
        "mta_sts": mta_sts,
    }


def provider_of(doc: Mapping[str, Any]) -> str:
    """The registrable domain of the most preferred MX host (or the host itself); an
    address named directly is its own provider. A domain with neither MX nor an address
    of its own to stand in for one (RFC 5321 §5.1) has no mail host at all: `NO_MX`."""
    found = (doc.get("dns") or {}).get("hosts") or []
    usable = [h for h in found if not (h.get("implicit") and not h.get("addresses"))]
    hosts = sorted((h.get("preference", 0), str(h.get("name", ""))) for h in usable)
    if not hosts or not hosts[0][1]:
        return NO_MX
    name = hosts[0][1]
    if is_ip_address(name):
        return name
    try:
        return registrable_domain(name) or name
    except PublicSuffixListMissing:
        return name


@dataclass(slots=True)
class Tally:
    """Counts, fed one report document at a time."""

    domains: int = 0
    overall: dict[str, Counter[str]] = field(default_factory=lambda: _counters())
    providers: dict[str, dict[str, Counter[str]]] = field(default_factory=dict)
    provider_domains: Counter[str] = field(default_factory=Counter)

    def add(self, doc: Mapping[str, Any]) -> None:
        values = facets(doc)
        provider = provider_of(doc)
        if provider not in self.providers and len(self.providers) >= MAX_PROVIDERS:
            provider = OTHER
        counters = self.providers.setdefault(provider, _counters())
        self.domains += 1
        self.provider_domains[provider] += 1
        for dimension, value in values.items():
            self.overall[dimension][value] += 1
            counters[dimension][value] += 1

    def add_all(self, docs: Iterable[Mapping[str, Any]]) -> Tally:
        for doc in docs:
            self.add(doc)
        return self

    def as_json(self, *, top: int = 50) -> dict[str, Any]:
        """Counts and shares overall, and for the `top` providers by domains."""
        providers = [
            {"provider": name, "domains": count, **_shares(self.providers[name], count)}
            for name, count in sorted(self.provider_domains.items(), key=_most_first)[:top]
        ]
        return {
            "domains": self.domains,
            **_shares(self.overall, self.domains),
            "providers": providers,
            "providers_total": len(self.providers),
        }


def _most_first(item: tuple[str, int]) -> tuple[int, str]:
    """Most domains first, ties by name: the same file summarizes the same way each time."""
    return -item[1], item[0]


def _counters() -> dict[str, Counter[str]]:
    return {d: Counter() for d in DIMENSIONS}


def _shares(counters: Mapping[str, Counter[str]], total: int) -> dict[str, Any]:
    return {
        dimension: {
            value: {"count": n, "share": round(n / total, 4) if total else 0.0}
            for value, n in sorted(counters[dimension].items(), key=lambda kv: (-kv[1], kv[0]))
        }
        for dimension in DIMENSIONS
    }
