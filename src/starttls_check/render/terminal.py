"""What the terminal renderers share: a rich Console writing to a string, and safe Text.

Every server-derived string reaches the screen through `safe` (escaped, capped, never
parsed as markup), and the console never interprets markup or emoji of its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from io import StringIO

from rich.console import Console, RenderableType
from rich.text import Text

from .sanitize import MAX_FIELD, terminal_safe


def safe(text: str, style: str = "", limit: int = MAX_FIELD) -> Text:
    """Server-derived text as a rich Text: escaped, capped, never parsed as markup."""
    return Text(terminal_safe(text, limit=limit), style=style)


def render_to_text(renderables: Iterable[RenderableType], *, color: bool, width: int) -> str:
    """Print to a string, coloured only if asked; rich pads grid cells to the full width,
    and trailing blanks only get in the way, so they go."""
    out = StringIO()
    console = Console(
        file=out,
        width=width,
        color_system="standard" if color else None,
        force_terminal=color,
        highlight=False,
        emoji=False,
        markup=False,
    )
    for renderable in renderables:
        console.print(renderable)
    return "".join(line.rstrip() + "\n" for line in out.getvalue().splitlines())
