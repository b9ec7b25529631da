"""What the terminal renderers share: a rich Console writing to a string, and safe Text.

Every server-derived string reaches the screen through `safe` (escaped, capped, never
parsed as markup), and the console never interprets markup or emoji of its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from io import StringIO

from rich.console import Console, ConsoleOptions, RenderableType
from rich.text import Text

from .sanitize import MAX_FIELD, terminal_safe


def safe(text: str, style: str = "", limit: int = MAX_FIELD) -> Text:
    """Server-derived text as a rich Text: escaped, capped, never parsed as markup."""
    return Text(terminal_safe(text, limit=limit), style=style)


class Hanging:
    """A paragraph whose wrapped lines are indented under its first, so that a long line
    (what each sender does, a verdict sentence) still reads as one item."""

    def __init__(self, text: Text, indent: int = 2) -> None:
        self.text, self.indent = text, indent

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Text]:
        width = options.max_width
        first = self.text.wrap(console, width, overflow="fold")[0]
        yield _trimmed(first)
        rest = self.text[len(first.plain) :]
        rest = rest[len(rest.plain) - len(rest.plain.lstrip(" ")) :]
        if rest.plain:
            pad = Text(" " * self.indent)
            for line in rest.wrap(console, max(width - self.indent, 1), overflow="fold"):
                yield pad + _trimmed(line)


def _trimmed(line: Text) -> Text:
    line = line.copy()
    line.rstrip()  # a space kept at the break would sit inside the colour codes
    return line


def render_to_text(
    renderables: Iterable[RenderableType], *, color: bool, width: int, soft_wrap: bool = False
) -> str:
    """Print to a string, coloured only if asked; rich pads grid cells to the full width,
    and trailing blanks only get in the way, so they go. `soft_wrap`: lines as long as
    they are, for output that scripts read line by line."""
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
        console.print(renderable, soft_wrap=soft_wrap)
    return "".join(line.rstrip() + "\n" for line in out.getvalue().splitlines())
