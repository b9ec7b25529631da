"""Registrable ("organisational") domains from the Public Suffix List.

DMARC's organisational domain (RFC 7489 §3.2) and grouping MX hosts by mail provider both
need the name one level below a public suffix: `mx1.mail.example.co.uk` → `example.co.uk`.
The list comes from the `publicsuffixlist` package (the `psl` extra), which ships an offline
copy, so nothing is fetched. Pure after the first call; the list is parsed once, on first use,
because parsing costs tens of milliseconds that a plain check must not pay.
"""

from __future__ import annotations

from functools import cache
from typing import Protocol


class _SuffixList(Protocol):
    def privatesuffix(self, domain: str) -> str | None: ...


class PublicSuffixListMissing(RuntimeError):
    """The `psl` extra is not installed."""


def available() -> bool:
    """Whether the Public Suffix List can be consulted here."""
    try:
        _suffix_list()
    except PublicSuffixListMissing:
        return False
    return True


def registrable_domain(name: str) -> str | None:
    """The registrable domain of ``name`` (lower case, no final dot), or None when ``name`` is
    itself a public suffix (`co.uk`) or empty.

    Raises PublicSuffixListMissing when the `psl` extra is not installed; callers say the
    answer is unknown rather than guess.
    """
    bare = name.rstrip(".").lower()
    if not bare:
        return None
    return _suffix_list().privatesuffix(bare)


@cache
def _suffix_list() -> _SuffixList:
    try:
        from publicsuffixlist import PublicSuffixList
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise PublicSuffixListMissing(
            "the Public Suffix List is not installed: pip install 'starttls-check[psl]'"
        ) from exc
    # Only ICANN's section: private entries (blogspot.com, ...) are hosting customers'
    # names, not organisations' boundaries for mail.
    suffix_list: _SuffixList = PublicSuffixList(only_icann=True)
    return suffix_list
