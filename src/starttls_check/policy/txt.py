"""TXT records as receivers read them, and server-derived text quoted for a message."""

from __future__ import annotations

from ..dns.names import is_ascii_number

_WSP = " \t"


def decode_txt_rdata(text: str) -> str:
    """One TXT record from its zone-file form (`DnsAnswer.records`) to its text: the quoted
    strings concatenated (as for SPF, RFC 7208 §3.3), `\\"` and `\\DDD` escapes undone."""
    out = bytearray()
    i, quoted = 0, False
    while i < len(text):
        char = text[i]
        if char == '"':
            quoted = not quoted
        elif (
            char == "\\" and is_ascii_number(text[i + 1 : i + 4]) and len(text[i + 1 : i + 4]) == 3
        ):
            out.append(int(text[i + 1 : i + 4]) & 0xFF)
            i += 3
        elif char == "\\" and i + 1 < len(text):
            out += text[i + 1].encode()
            i += 1
        elif quoted or char not in _WSP:
            out += char.encode()
        i += 1
    return out.decode("utf-8", errors="replace")


def quote(text: str, limit: int = 80) -> str:
    """Server-derived text, quoted and capped; control characters escaped by repr."""
    return repr(text if len(text) <= limit else text[:limit] + "...")
