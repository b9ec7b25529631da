"""The bulk options, as one decorator for the command (click only: start-up stays light)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])
NAMES = (
    "input",
    "resume",
    "summary",
    "summarize",
    "progress",
    "dask",
    "max_rate",
    "max_rate_overall",
    "window",
    "dask_chunk",
)


def _rate(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    if value is not None and not 0 < value <= 100_000:
        raise click.BadParameter(f"bad rate {value}: expected connections per second > 0")
    return value


def _dask(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None or not value.startswith("local"):
        return value
    _, sep, count = value.partition(":")
    if value != "local" and (not sep or not count.isdigit() or not 1 <= int(count) <= 256):
        raise click.BadParameter(f"bad --dask {value!r}: expected local, local:N or ADDRESS")
    return value


_OPTIONS = (
    click.option(
        "--input",
        metavar="FILE",
        help="Read targets from FILE, one per line (- for stdin; # comments; CSV: first "
        "column); results stream as each domain is done.",
    ),
    click.option(
        "--resume",
        metavar="JSONL",
        type=click.Path(dir_okay=False),
        help="Append results to JSONL and skip targets it already holds (a killed run "
        "resumes where it stopped).",
    ),
    click.option(
        "--summary", is_flag=True, help="End with shares by verdict, TLS, DANE, MTA-STS, provider."
    ),
    click.option(
        "--summarize",
        metavar="JSONL",
        type=click.Path(dir_okay=False),
        help="Print the summary of a finished --format jsonl file; check nothing.",
    ),
    click.option("--progress", is_flag=True, help="Show progress on stderr even when piped."),
    click.option(
        "--max-rate",
        type=float,
        metavar="N",
        callback=_rate,
        help="At most N new connections per second to one address.",
    ),
    click.option(
        "--max-rate-overall",
        type=float,
        metavar="N",
        callback=_rate,
        help="At most N new connections per second in all.",
    ),
    click.option(
        "--window",
        type=click.IntRange(1, 100_000),
        metavar="N",
        help="Domains in flight at once in a bulk run [default: 256].",
    ),
    click.option(
        "--dask",
        metavar="ADDRESS|local[:N]",
        callback=_dask,
        help="Run on a Dask cluster (scheduler ADDRESS), or on N local worker processes "
        "(needs the dask extra).",
    ),
    click.option(
        "--dask-chunk",
        type=click.IntRange(1, 100_000),
        metavar="N",
        help="Targets per Dask task [default: 200].",
    ),
)


def bulk_options(command: F) -> F:
    """Add every bulk option to `command`."""
    for option in reversed(_OPTIONS):
        command = option(command)
    return command


def bulk_wanted(options: Mapping[str, Any]) -> bool:
    """Whether these options ask for a bulk run rather than a plain check; decided here, so
    that a plain check never imports bulk.py."""
    formats = (options["output_format"], *(f for f, _ in options["outputs"]))
    chosen = (options["input"], options["resume"], options["summarize"], options["dask"])
    return "jsonl" in formats or options["summary"] or any(v is not None for v in chosen)


def config_names_input(config: Any) -> bool:
    """Whether the --config file (a Path, or None) names an input: that alone asks for a
    bulk run. A file that cannot be loaded is reported by the run that loads it."""
    if config is None:
        return False
    from .config import ConfigError, load_config

    try:
        return load_config(config).settings.get("input") is not None
    except ConfigError:
        return False


def bulk_request(options: Mapping[str, Any]) -> Any:
    """The `BulkRequest` for these options (imported only for a bulk run)."""
    from pathlib import Path  # not at start-up: pathlib costs --help a few milliseconds

    from .bulk import BulkRequest

    values: dict[str, Any] = {name: options[name] for name in NAMES}
    for name in ("resume", "summarize"):
        values[name] = Path(values[name]) if values[name] else None
    return BulkRequest(**values)
