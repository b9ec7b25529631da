"""Host-name syntax, shared by argument parsing and by what DNS hands us, and the names
derived from a host's (TLSA owners). Pure and light.

Checked label by label rather than with one pattern over the whole name: a single regular
expression like `(label\\.?)+` backtracks exponentially on a long name that then fails, and
the names checked here come from DNS answers, which are untrusted.
"""

from __future__ import annotations

import re

import dns.name

# Letters, digits and hyphens (RFC 1123), plus underscores, which exist in the wild.
_LABEL = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?")
MAX_NAME = 253


def is_hostname(name: str) -> bool:
    """A syntactically valid host name (one trailing dot allowed), not an IP address."""
    bare = name[:-1] if name.endswith(".") else name
    if not 0 < len(bare) <= MAX_NAME:
        return False
    labels = bare.split(".")
    if not all(_LABEL.fullmatch(label) for label in labels):
        return False
    return not all(label.isdigit() for label in labels)  # 192.0.2.1 is an address


def is_ascii_number(text: str) -> bool:
    """Digits 0-9 only: `str.isdigit()` also accepts '²' and other scripts' digits."""
    return text.isascii() and text.isdigit()


def to_ascii_domain(domain: str) -> str:
    """IDN U-labels to A-labels, lower case, no final dot: `Faß.de` → `xn--fa-hia.de`.

    IDNA 2008 explicitly: dnspython falls back to IDNA 2003 when the `idna` package is
    missing, and the two disagree (`faß.de` would become `fass.de`, another domain).
    """
    name = dns.name.from_text(domain, idna_codec=dns.name.IDNA_2008_Practical)
    return name.to_text(omit_final_dot=True).lower()


def tlsa_owner(mx_host: str, port: int = 25) -> str:
    """The name TLSA records for an MX live at (RFC 6698 §3): `_25._tcp.mx.example.com.`"""
    if not 0 < port < 65536:
        raise ValueError(f"not a TCP port: {port}")
    return f"_{port}._tcp.{mx_host.rstrip('.').lower()}."
