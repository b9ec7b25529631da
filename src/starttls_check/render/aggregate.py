"""The aggregate of a bulk run (`--summary`, `--summarize FILE`) as a table, Markdown or
JSON: shares of domains per dimension, overall, then per mail provider."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..judge.tally import DIMENSIONS
from .markdown import md
from .sanitize import terminal_safe

_TITLES = {
    "verdict": "verdict",
    "starttls": "STARTTLS",
    "tls_version": "TLS version (weakest MX)",
    "certificate": "certificate",
    "dane": "DANE",
    "mta_sts": "MTA-STS",
}


def render_aggregate(summary: Mapping[str, Any], output_format: str, *, width: int = 100) -> str:
    """`summary` is `Tally.as_json()`; formats: table (default), markdown, json."""
    if output_format in ("json", "jsonl"):
        return json.dumps(summary, indent=2, ensure_ascii=True) + "\n"
    if output_format == "markdown":
        return _markdown(summary)
    return _table(summary, width)


def _cells(shares: Mapping[str, Mapping[str, Any]]) -> str:
    return ", ".join(f"{value} {int(v['count'])} ({v['share']:.0%})" for value, v in shares.items())


def _table(summary: Mapping[str, Any], width: int) -> str:
    from rich.table import Table

    from .terminal import render_to_text

    overall = Table(title=f"{summary['domains']} domains", box=None, show_header=False)
    for dimension in DIMENSIONS:
        overall.add_row(_TITLES[dimension], _cells(summary[dimension]))
    providers = Table(title="by mail provider", box=None, header_style="bold")
    for column in ("provider", "domains", "STARTTLS offered", "certificate valid", "pass"):
        providers.add_column(column)
    for row in summary["providers"]:
        providers.add_row(
            terminal_safe(row["provider"]),
            str(row["domains"]),
            _share(row["starttls"], "offered"),
            _share(row["certificate"], "valid"),
            _share(row["verdict"], "pass"),
        )
    return render_to_text([overall, providers], color=False, width=width)


def _share(shares: Mapping[str, Any], value: str) -> str:
    found = shares.get(value)
    return f"{found['share']:.0%}" if found else "0%"


def _markdown(summary: Mapping[str, Any]) -> str:
    out = [f"## {summary['domains']} domains", "", "| | |", "|---|---|"]
    out += [f"| {_TITLES[d]} | {md(_cells(summary[d]))} |" for d in DIMENSIONS]
    out += ["", "## By mail provider", ""]
    out += ["| provider | domains | STARTTLS offered | certificate valid | pass |"]
    out += ["|---|---|---|---|---|"]
    for row in summary["providers"]:
        cells = (
            md(row["provider"]),
            str(row["domains"]),
            _share(row["starttls"], "offered"),
            _share(row["certificate"], "valid"),
            _share(row["verdict"], "pass"),
        )
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"
