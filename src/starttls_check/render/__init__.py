"""Renderers: reports in, text out. They never resolve, connect or judge.

Each format's module is imported only when that format is asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..model.report import DomainReport

from ..model.choices import OUTPUT_FORMATS as FORMATS

__all__ = ["FORMATS", "render"]


def render(
    output_format: str,
    reports: Sequence[DomainReport],
    *,
    generated_at: datetime,
    color: bool = False,
    width: int = 100,
    transcript: bool = False,
    advisories: bool = True,
    quiet: bool = False,
) -> str:
    """The reports in one of `FORMATS`. The last three shape the terminal table only:
    `transcript` (`-v`), `advisories` (false: `--no-advisories`), `quiet` (`-q`)."""
    if output_format == "table" and quiet:
        from .verdicts import render_quiet

        return render_quiet(reports, color=color, width=width)
    if output_format == "table":
        from .table import render_table

        return render_table(
            reports, color=color, width=width, transcript=transcript, advisories=advisories
        )
    if output_format == "json":
        from .json_report import render_json

        return render_json(reports, generated_at)
    if output_format == "junit":
        from .junit import render_junit

        return render_junit(reports)
    if output_format == "github":
        from .github import render_github

        return render_github(reports)
    if output_format == "markdown":
        from .markdown import render_markdown

        return render_markdown(reports)
    if output_format == "jsonl":
        from .jsonl import render_jsonl

        return render_jsonl(reports, generated_at)
    raise ValueError(f"unknown format {output_format!r}")
