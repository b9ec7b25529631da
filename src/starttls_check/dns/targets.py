"""From DNS answers to the list of sessions to open (RFC 5321 §5.1, RFC 7505). Pure."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from ..model.dns import DnsFacts
from .names import is_ascii_number, is_hostname

__all__ = ["is_hostname"]  # re-exported: callers check MX names here

MAX_MX_HOSTS = 16  # more MX hosts than any real domain needs; the rest are listed, not probed
MAX_ADDRESSES_PER_HOST = 8


@dataclass(frozen=True, slots=True, kw_only=True)
class MxRecord:
    """One parsed MX record."""

    preference: int
    exchange: str  # without the final dot; "" for the null MX's "."


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """What the user asked to check: a domain (MX lookup), or one host or address."""

    text: str  # as written, e.g. "example.com:587" or "[mx.example.com]"
    domain: str | None = None  # A-labels: look up its MX records
    host: str | None = None  # A-labels: in brackets, no MX lookup
    address: str | None = None  # an IP literal in brackets
    port: int | None = None  # None: --port, else the protocol's default

    @property
    def name(self) -> str:
        """The domain, host or address: what the report is keyed by."""
        return self.domain or self.host or self.address or ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ProbeTarget:
    """One session to open: an MX name, one of its addresses, the port."""

    mx: str
    preference: int
    address: str
    port: int


def parse_mx(records: tuple[str, ...]) -> tuple[list[MxRecord], list[str]]:
    """MX records sorted by preference then name, and the texts that were not MX records."""
    parsed, bad = [], []
    for text in records:
        preference, _, exchange = text.partition(" ")
        if not is_ascii_number(preference) or int(preference) > 65535 or not exchange:
            bad.append(text)
            continue
        parsed.append(MxRecord(preference=int(preference), exchange=exchange.rstrip(".").lower()))
    parsed.sort(key=lambda r: (r.preference, r.exchange))
    return parsed, bad


def is_null_mx(records: list[MxRecord]) -> bool:
    """RFC 7505: a single `MX 0 .` says the domain accepts no mail."""
    return len(records) == 1 and records[0].exchange == ""


def is_ip_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def probe_targets(dns_facts: DnsFacts, port: int) -> tuple[ProbeTarget, ...]:
    """Every address of every MX, in preference order; duplicates of one MX name once."""
    return tuple(
        ProbeTarget(mx=host.name, preference=host.preference, address=address, port=port)
        for host in dns_facts.hosts
        for address in dict.fromkeys(host.addresses)
    )
