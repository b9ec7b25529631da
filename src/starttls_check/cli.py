"""The `starttls-check` command: parse arguments, run the check, render, exit.

Only click and the light parameter parsers are imported at start-up; DNS, TLS, crypto and
rich load when a check actually runs, so `--help` and `--version` stay fast.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from . import __version__
from .params import parse_domain, parse_hostname, parse_nameserver, parse_timeout

if TYPE_CHECKING:
    from .check import CheckSettings
    from .dnsclient import Nameserver
    from .model import DomainReport

T = TypeVar("T")
FALLBACK_EHLO = "starttls-check.localdomain"
EXIT_USAGE = 2


def _convert(parse: Callable[[Any], T]) -> Callable[[click.Context, click.Parameter, Any], Any]:
    """Wrap a pure parser as a click callback: ValueError becomes a usage error."""

    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        try:
            if value is None:
                return None
            if isinstance(value, tuple):
                return tuple(parse(v) for v in value)
            return parse(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc), ctx=ctx, param=param) from None

    return callback


def default_ehlo_name() -> str:
    """This host's name when it is fully qualified, else a fixed fallback.

    `socket.gethostname()` rather than `getfqdn()`: the latter asks the system resolver,
    which may be slow or unreachable, and the check must only ask the name servers named.
    """
    name = socket.gethostname()
    try:
        return parse_hostname(name) if "." in name else FALLBACK_EHLO
    except ValueError:
        return FALLBACK_EHLO


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("domains", nargs=-1, callback=_convert(parse_domain))
@click.option(
    "--nameserver",
    "nameservers",
    multiple=True,
    metavar="IP[:PORT]",
    callback=_convert(parse_nameserver),
    help="Ask this name server (repeatable) instead of the system's.",
)
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=25,
    show_default=True,
    help="SMTP port on every MX host.",
)
@click.option(
    "--ca-file",
    "ca_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    metavar="PEM",
    help="Extra trust anchors (repeatable), added to the system trust store.",
)
@click.option(
    "--timeout",
    type=float,
    default=15.0,
    show_default=True,
    callback=_convert(parse_timeout),
    metavar="SECONDS",
    help="Per-phase network timeout (connect, greeting, each reply, handshake); "
    "each address gets four times this in all.",
)
@click.option(
    "--ehlo",
    "ehlo_name",
    metavar="NAME",
    callback=_convert(parse_hostname),
    help=f"Name sent in EHLO [default: this host's name if it has a dot, else {FALLBACK_EHLO}].",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="Report format on stdout.",
)
@click.option("--no-color", is_flag=True, help="No colour (NO_COLOR is honoured too).")
@click.option("--demo", is_flag=True, help="Start a built-in loopback demo and check its domains.")
@click.version_option(__version__, "-V", "--version", prog_name="starttls-check")
def command(
    domains: tuple[str, ...],
    nameservers: tuple[tuple[str, int], ...],
    port: int,
    ca_files: tuple[Path, ...],
    timeout: float,
    ehlo_name: str | None,
    output_format: str,
    no_color: bool,
    demo: bool,
) -> None:
    """Check that mail sent to DOMAINS travels encrypted: MX, STARTTLS, TLS, certificates.

    Exit codes: 0 pass or warn, 1 fail, 2 usage error, 3 inconclusive (name server
    unreachable, or every connection timed out: outbound port 25 may be blocked here).
    """
    if demo and domains:
        raise click.UsageError("--demo checks its own domains; give no DOMAINS with it")
    if not demo and not domains:
        raise click.UsageError("give at least one domain to check, or --demo")
    from .check import CheckSettings
    from .dnsclient import Nameserver

    settings = CheckSettings(
        nameservers=tuple(Nameserver(host=h, port=p) for h, p in nameservers)
        or _system_nameservers(),
        port=port,
        timeout=timeout,
        ehlo_name=ehlo_name or default_ehlo_name(),
        ca_files=ca_files,
    )
    reports = _run_demo(settings) if demo else _run(list(domains), settings)
    color = not no_color and "NO_COLOR" not in os.environ and sys.stdout.isatty()
    _emit(reports, output_format, color=color)
    from .gate import exit_code

    sys.exit(int(exit_code(r.verdict for r in reports)))


def _system_nameservers() -> tuple[Nameserver, ...]:
    """The name servers in /etc/resolv.conf: read here, at the top, and nowhere below."""
    import dns.resolver

    from .dnsclient import Nameserver

    try:
        configured = dns.resolver.Resolver().nameservers
    except dns.resolver.NoResolverConfiguration:
        configured = []
    if not configured:
        raise click.UsageError("no name server configured on this system; use --nameserver IP")
    return tuple(Nameserver(host=str(n)) for n in configured)


def _run(domains: list[str], settings: CheckSettings) -> Sequence[DomainReport]:
    import asyncio

    from .check import check_domains_async
    from .trust_store import TrustStoreError

    try:
        return asyncio.run(check_domains_async(domains, settings))
    except TrustStoreError as exc:
        raise click.UsageError(str(exc)) from None


def _run_demo(settings: CheckSettings) -> Sequence[DomainReport]:
    from .demo import run_demo

    return run_demo(timeout=settings.timeout, ehlo_name=settings.ehlo_name)


def _emit(reports: Sequence[DomainReport], output_format: str, *, color: bool) -> None:
    if output_format == "json":
        from datetime import UTC, datetime

        from .render.json_report import render_json

        sys.stdout.write(render_json(reports, datetime.now(UTC)))
    else:
        from .render.table import render_table

        width = min(os.get_terminal_size().columns if sys.stdout.isatty() else 100, 160)
        sys.stdout.write(render_table(reports, color=color, width=width))


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Entry point: usage errors are one line on stderr and exit code 2, never a traceback."""
    try:
        command.main(args=argv, prog_name="starttls-check", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.UsageError as exc:
        sys.stderr.write(f"starttls-check: error: {exc.format_message()}\n")
        sys.exit(EXIT_USAGE)
    except click.Abort:
        sys.stderr.write("starttls-check: interrupted\n")
        sys.exit(130)
    sys.exit(0)
