"""Make server-derived text safe for a terminal.

Banners, EHLO lines, reply text, certificate names and error messages come from the
remote side. rich strips only a few control characters and lets ESC sequences through,
so every such string passes here before it is shown: control characters, C1 codes and
bidirectional overrides become visible escapes, and length is capped. (Markup injection
is prevented separately: table cells are `rich.text.Text`, never markup strings.)
"""

from __future__ import annotations

import unicodedata

MAX_FIELD = 300
_LINE_BREAKS = {0x2028, 0x2029}  # line and paragraph separators: splitlines() breaks on them


def _visible(char: str) -> str:
    code = ord(char)
    if code < 0x20 or code == 0x7F or 0x80 <= code <= 0x9F:
        return f"\\x{code:02x}"
    # Format characters (bidi overrides and isolates, zero-width space and joiners, BOM)
    # reorder or hide text; line separators break it.
    if code in _LINE_BREAKS or unicodedata.category(char) == "Cf":
        return f"\\u{code:04x}"
    return char


def terminal_safe(text: str, limit: int = MAX_FIELD) -> str:
    """`text` with every control character shown as an escape, at most `limit` characters."""
    safe = "".join(_visible(c) for c in text)
    return safe if len(safe) <= limit else safe[: limit - 1] + "…"
