"""Registrable ("organisational") domains from the Public Suffix List.

DMARC's organisational domain (RFC 7489 §3.2) and grouping MX hosts by mail provider both
need the name one level below a public suffix: `mx1.mail.example.co.uk` → `example.co.uk`.
The list is the copy the `publicsuffixlist` package ships (the `psl` extra), so nothing is
fetched. Only its ICANN section counts: private entries (blogspot.com, ...) are hosting
customers' names, not organisations' boundaries for mail.

The file is read here rather than through the package's own parser, which builds a trie of
every rule and costs some 60 ms, on the critical path of a one-domain check. Nor is it
parsed into sets (some 7 ms: decoding and splitting 7,000 lines): a name has only a few
candidate rules (each of its suffixes, plain, as a wildcard's parent, as an exception), and
each is one search of the file's bytes. The list writes its rules in lower case. Pure after
the first call.
"""

from __future__ import annotations

import codecs
import importlib.util
from functools import cache
from pathlib import Path

_PACKAGE = "publicsuffixlist"
_DATA = "public_suffix_list.dat"
_ICANN_END = b"// ===END ICANN DOMAINS==="
_SEPARATORS = b" \t\r\n"  # a rule is read up to its first whitespace


class PublicSuffixListMissing(RuntimeError):
    """The `psl` extra is not installed."""


def available() -> bool:
    """Whether the Public Suffix List can be consulted here."""
    try:
        _icann_section()
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
    for start in range(len(labels)):
        candidate = ".".join(labels[start:])
        if _listed("!" + candidate):
            return len(labels) - start - 1
        if _listed(candidate):
            return len(labels) - start
        if start + 1 < len(labels) and _listed("*." + ".".join(labels[start + 1 :])):
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


def _listed(rule: str) -> bool:
    """Whether ``rule`` is one of the ICANN section's lines."""
    section = _icann_section()
    needle = b"\n" + rule.encode("utf-8")
    found = section.find(needle)
    while found >= 0:
        after = found + len(needle)
        if section[after : after + 1] in _SEPARATORS:  # b"" too: the section's last line
            return True
        found = section.find(needle, found + 1)
    return False


@cache
def _icann_section() -> bytes:
    """The list up to the end of its ICANN section, each line after a newline."""
    data = _data_file().read_bytes()
    return b"\n" + data.split(_ICANN_END, 1)[0]


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
