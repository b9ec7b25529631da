"""Registrable ("organisational") domains from the Public Suffix List.

DMARC's organisational domain (RFC 7489 §3.2) and grouping MX hosts by mail provider both
need the name one level below a public suffix: `mx1.mail.example.co.uk` → `example.co.uk`.
The list is the copy the `publicsuffixlist` package ships (the `psl` extra), so nothing is
fetched. Only its ICANN section counts: private entries (blogspot.com, ...) are hosting
customers' names, not organisations' boundaries for mail.

The file is read here rather than through the package's own parser, which builds a trie of
every rule and costs some 60 ms, on the critical path of a one-domain check; splitting it
into three sets costs a few. Pure after the first call.
"""

from __future__ import annotations

import codecs
import importlib.util
from functools import cache
from pathlib import Path

_PACKAGE = "publicsuffixlist"
_DATA = "public_suffix_list.dat"
_ICANN_END = "// ===END ICANN DOMAINS==="


class PublicSuffixListMissing(RuntimeError):
    """The `psl` extra is not installed."""


def available() -> bool:
    """Whether the Public Suffix List can be consulted here."""
    try:
        _rules()
    except PublicSuffixListMissing:
        return False
    return True


def registrable_domain(name: str) -> str | None:
    """The registrable domain of ``name`` (lower case, no final dot, A-labels as given), or
    None when ``name`` is itself a public suffix (`co.uk`) or empty.

    Raises PublicSuffixListMissing when the `psl` extra is not installed; callers say the
    answer is unknown rather than guess.
    """
    labels = name.rstrip(".").lower().split(".")
    if labels == [""]:
        return None
    suffix = _suffix_length([_unicode(label) for label in labels])
    if suffix >= len(labels):
        return None
    return ".".join(labels[-(suffix + 1) :])


def _suffix_length(labels: list[str]) -> int:
    """How many trailing labels the longest matching rule makes public (RFC-less, as
    publicsuffix.org/list describes the algorithm: exceptions beat wildcards)."""
    rules, wildcards, exceptions = _rules()
    for start in range(len(labels)):
        candidate = ".".join(labels[start:])
        if candidate in exceptions:
            return len(labels) - start - 1
        if candidate in rules:
            return len(labels) - start
        if start + 1 < len(labels) and ".".join(labels[start + 1 :]) in wildcards:
            return len(labels) - start
    return 1  # the implicit rule "*": an unlisted top-level domain is public


def _unicode(label: str) -> str:
    """The list writes IDN rules in Unicode; names reach us as A-labels."""
    if not label.startswith("xn--"):
        return label
    try:
        return codecs.decode(label[4:].encode("ascii"), "punycode")
    except (UnicodeError, ValueError):
        return label  # not valid punycode: it matches no rule, as it is


@cache
def _rules() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    text = _data_file().read_text(encoding="utf-8").split(_ICANN_END, 1)[0]
    rules: set[str] = set()
    wildcards: set[str] = set()
    exceptions: set[str] = set()
    for line in text.splitlines():
        rule = line.split(maxsplit=1)[0].lower() if line and not line.startswith("//") else ""
        if not rule:
            continue
        if rule.startswith("!"):
            exceptions.add(rule[1:])
        elif rule.startswith("*."):
            wildcards.add(rule[2:])
        else:
            rules.add(rule)
    return frozenset(rules), frozenset(wildcards), frozenset(exceptions)


def _data_file() -> Path:
    try:  # found, not imported: its parser is not used
        spec = importlib.util.find_spec(_PACKAGE)
    except (ImportError, ValueError):  # a broken or blocked installation
        spec = None
    locations = spec.submodule_search_locations if spec is not None else None
    if not locations:
        raise PublicSuffixListMissing(
            "the Public Suffix List is not installed: pip install 'starttls-check[psl]'"
        )
    path = Path(next(iter(locations))) / _DATA
    if not path.is_file():
        raise PublicSuffixListMissing(f"the Public Suffix List file is missing: {path}")
    return path
