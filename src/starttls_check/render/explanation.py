"""`--explain CODE`: the long form of a finding code from the catalogue (model/texts/),
as plain text: what the finding means, why it matters for delivery, how to fix it and how
to check the fix.

Text conventions in the catalogue: paragraphs are separated by a newline and wrapped when
rendered; a line starting with `$ ` (a command) or with two spaces (a configuration line,
or a command's continuation) is printed as written.
"""

from __future__ import annotations

import difflib
import re
import textwrap

from ..model import catalogue

WIDTH = 88
_INDENT = "  "
_KEEP = "\u00a0"  # not whitespace to textwrap


def known_codes() -> list[str]:
    """Every code that can be explained, in catalogue order (grouped by topic)."""
    return list(catalogue.codes())


def suggestions(code: str) -> list[str]:
    """Known codes close to a mistyped one: `cert.expird` → `cert.expired`."""
    codes = known_codes()
    wanted = code.strip().lower()
    close = difflib.get_close_matches(wanted, codes, n=5, cutoff=0.6)
    # `expired` alone, or the right name under the wrong prefix: match the last part too.
    tail = wanted.rsplit(".", 1)[-1]
    close += [c for c in codes if c.rsplit(".", 1)[-1] == tail and c not in close]
    return close[:5]


def render_explanation(code: str) -> str:
    """Plain text for `--explain CODE`, wrapped at 88 columns. Unknown code: `KeyError`."""
    explanation, rule = catalogue.explanation(code), catalogue.rule(code)
    lines = [f"{code} (default severity: {rule.severity.value})", ""]
    lines += _paragraph(rule.hint, "")
    for _, variant in rule.variants:  # another wording, for one case of the code
        lines += ["", *_paragraph(catalogue.fill(variant, {}), "")]
    for title, body in (
        ("WHAT", explanation.what),
        ("WHY IT MATTERS", explanation.why),
        ("HOW TO FIX", explanation.fix),
        ("HOW TO VERIFY", explanation.verify),
    ):
        lines += ["", title]
        for paragraph in body.split("\n"):
            lines += _paragraph(paragraph, _INDENT)
    return "\n".join(lines) + "\n"


def _paragraph(text: str, indent: str) -> list[str]:
    """Commands (`$ `) and configuration lines (two leading spaces) as written; prose
    wrapped, never inside a word or at a hyphen, so setting names stay whole."""
    if text.startswith(("$ ", "  ")):
        return [indent + _INDENT + text]
    # A `quoted setting` stays on one line: its spaces become no-break spaces for textwrap.
    kept = re.sub(r"`[^`]*`", lambda m: m.group().replace(" ", _KEEP), text)
    lines = textwrap.wrap(
        kept,
        width=WIDTH,
        initial_indent=indent,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    )
    return [line.replace(_KEEP, " ") for line in lines]
