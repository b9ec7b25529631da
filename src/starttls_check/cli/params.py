"""Command-line values: parse and validate, with one clear sentence when something is wrong.

Pure functions raising `ValueError`; cli.py turns that into one line and exit code 2.
Imports stay light so that `--help` costs no more than click itself.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..dns.names import is_ascii_number, is_hostname
from ..model.choices import OUTPUT_FORMATS

if TYPE_CHECKING:
    from ..dns.targets import Target


def parse_nameserver(text: str) -> tuple[str, int]:
    """`IP`, `IP:PORT`, `[IPv6]:PORT` or a bare IPv6 address → (address, port)."""
    host, port = text, 53
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError(f"bad name server {text!r}: expected [IPv6]:PORT")
        if rest:
            port = parse_port(rest[1:])
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
        port = parse_port(port_text)
    import ipaddress  # lazily: --help should not pay for it

    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(
            f"bad name server {text!r}: give an IP address, e.g. 127.0.0.1:5353"
        ) from None
    return host, port


def parse_port(text: str) -> int:
    """A TCP/UDP port number, 1 to 65535."""
    if not is_ascii_number(text) or not 1 <= int(text) <= 65535:
        raise ValueError(f"bad port {text!r}: expected a number from 1 to 65535")
    return int(text)


def parse_domain(text: str) -> str:
    """A mail domain as the user typed it (IDN allowed); returns it in A-label form."""
    ascii_name = _a_labels(text, what="domain")
    if "." not in ascii_name:
        raise ValueError(f"bad domain {text!r}: expected a domain name such as example.com")
    return ascii_name


def _a_labels(text: str, *, what: str) -> str:
    """A host or domain name (IDN allowed) in A-label form, or a one-line ValueError."""
    import dns.exception

    from ..dns.names import to_ascii_domain

    example = "expected a domain name such as example.com"
    stripped = text.strip().removesuffix(".")  # one final dot is fine; two are an empty label
    bad_characters = any(c.isspace() or c in "/@[]" for c in stripped)
    if not stripped or stripped.endswith(".") or bad_characters:
        raise ValueError(f"bad {what} {text!r}: {example}")
    try:
        ascii_name = to_ascii_domain(stripped)
    except (dns.exception.DNSException, UnicodeError) as exc:
        raise ValueError(f"bad {what} {text!r}: {exc}") from None
    if not is_hostname(ascii_name):
        if all(part.isdigit() for part in ascii_name.split(".")):
            example = "an IP address goes in brackets, e.g. [192.0.2.1]:25"
        raise ValueError(f"bad {what} {text!r}: {example}")
    return ascii_name


def parse_target(text: str) -> Target:
    """A domain (MX lookup) or a bracketed host or address (no MX lookup), Postfix-style:
    `example.com`, `example.com:587`, `[mx.example.com]`, `[192.0.2.1]:25`, `[2001:db8::1]:25`.
    """
    from ..dns.targets import Target

    value = text.strip()
    if "://" in value or "/" in value:
        raise ValueError(f"bad target {text!r}: give a domain or [host], not a URL or a path")
    if not value.startswith("["):
        if value.count(":") > 1:
            raise ValueError(f"bad target {text!r}: an IPv6 address goes in brackets, [::1]:25")
        name, sep, port_text = value.partition(":")
        port = parse_port(port_text) if sep else None
        return Target(text=text, domain=_a_labels(name, what="domain"), port=port)
    inner, sep, rest = value[1:].partition("]")
    if not sep or not inner or (rest and not rest.startswith(":")):
        raise ValueError(f"bad target {text!r}: expected [host], [host]:PORT or [address]:PORT")
    port = parse_port(rest[1:]) if rest else None
    import ipaddress

    try:
        address = str(ipaddress.ip_address(inner))
    except ValueError:
        return Target(text=text, host=_a_labels(inner, what="host"), port=port)
    return Target(text=text, address=address, port=port)


def parse_hostname(text: str) -> str:
    """A host name for EHLO: letters, digits, hyphens, dots; at most 253 characters."""
    name = text.strip().rstrip(".").lower()
    if not is_hostname(name):
        raise ValueError(f"bad host name {text!r}: expected a name such as mail.example.com")
    return name


def parse_timeout(value: float) -> float:
    """Seconds per network phase: positive, and at most five minutes."""
    if not 0 < value <= 300:
        raise ValueError(f"bad timeout {value:g}: expected seconds, more than 0 and at most 300")
    return value


def parse_waiver_text(text: str) -> tuple[str, str | None]:
    """`CODE` or `CODE@HOST` (an --allow value) → (code, host or None)."""
    code, sep, host = text.strip().partition("@")
    code = code.lower()
    if not re.fullmatch(r"[a-z][a-z0-9-]*(\.[a-z0-9-]+)+", code) or (sep and not host):
        example = "cert.self-signed@mx2.example.com"
        raise ValueError(f"bad waiver {text!r}: expected CODE or CODE@HOST, e.g. {example}")
    from ..model import catalogue

    if not catalogue.is_known(code):  # reads only that code's area
        from difflib import get_close_matches

        close = get_close_matches(code, catalogue.codes(), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else " (see --explain list)"
        raise ValueError(f"bad waiver {text!r}: unknown finding code {code!r}{hint}")
    from ..dns.targets import is_ip_address

    if sep and is_ip_address(host):
        return code, host  # findings about an address named directly carry the address
    return code, (parse_hostname(host) if sep else None)


def parse_min_tls(text: str) -> str:
    """`1.2` or `1.3` (also accepted: `TLSv1.2`, `tls1.3`)."""
    value = text.strip().lower().removeprefix("tlsv").removeprefix("tls")
    if value not in ("1.2", "1.3"):
        raise ValueError(f"bad TLS version {text!r}: expected 1.2 or 1.3")
    return value


def parse_expiry_days(value: int) -> int:
    """Days of validity left below which a certificate is 'expiring soon'."""
    if not 0 <= value <= 3650:
        raise ValueError(f"bad number of days {value}: expected 0 to 3650")
    return value


def parse_retries(value: int) -> int:
    """How often to retry an address that answered with a transient 4xx reply."""
    if not 0 <= value <= 5:
        raise ValueError(f"bad number of retries {value}: expected 0 to 5")
    return value


def parse_output(text: str) -> tuple[str, str]:
    """`FORMAT:FILE` (an --output value) → (format, file name)."""
    output_format, sep, path = text.partition(":")
    if not sep or not path or output_format not in OUTPUT_FORMATS:
        formats = ", ".join(OUTPUT_FORMATS)
        raise ValueError(f"bad output {text!r}: expected FORMAT:FILE with FORMAT one of {formats}")
    return output_format, path


def parse_listen(text: str) -> tuple[str, int]:
    """`[ADDRESS]:PORT`, `ADDRESS:PORT` or `:PORT` (a --receive value) → (address, port);
    no address means every IPv4 address."""
    import ipaddress

    host, sep, port_text = text.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        port = int(port_text)
        if sep and not 0 <= port <= 65535:
            raise ValueError
        address = str(ipaddress.ip_address(host)) if host else "0.0.0.0"  # noqa: S104
    except ValueError:
        raise ValueError(
            f"bad listen address {text!r}: expected [ADDRESS]:PORT, e.g. 127.0.0.1:2525"
        ) from None
    if not sep:
        raise ValueError(f"bad listen address {text!r}: expected [ADDRESS]:PORT, e.g. :2525")
    return address, port
