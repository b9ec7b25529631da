"""The sending-side options (--headers, --postfix-config, --receive and its own), as one
decorator for the command; click only, so start-up stays light."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])
MODES = ("headers", "postfix_config", "receive")
RECEIVE_ONLY = ("clients", "receive_timeout", "cert", "key", "certificate", "hostname")


def sending_wanted(options: Mapping[str, Any]) -> bool:
    """Whether the command line asks for a sending-side mode (then sending.py runs it)."""
    return any(options.get(m) is not None for m in MODES)


def sending_options() -> Callable[[F], F]:
    """The options, in --help order."""
    options = [
        click.option(
            "--headers",
            metavar="FILE|-",
            help="Read a message's Received headers (- for standard input): which hops used TLS.",
        ),
        click.option(
            "--postfix-config",
            metavar="PATH",
            is_flag=False,
            flag_value="/etc/postfix",
            help="Judge Postfix's TLS settings: a config directory or main.cf (through postconf "
            "when installed) or saved `postconf -n` output [default: /etc/postfix].",
        ),
        click.option(
            "--receive",
            metavar="[ADDRESS]:PORT",
            callback=_parse("parse_listen"),
            help="Run a temporary SMTP receiver (:PORT listens on every IPv4 address) and "
            "report how each sending client used STARTTLS; the message is discarded.",
        ),
        click.option(
            "--clients",
            type=click.IntRange(1, 100),
            default=1,
            show_default=True,
            help="With --receive: stop after this many clients.",
        ),
        click.option(
            "--receive-timeout",
            type=click.FloatRange(1, 86400),
            default=600.0,
            show_default=True,
            metavar="SECONDS",
            help="With --receive: stop waiting for clients after this long.",
        ),
        click.option(
            "--certificate",
            type=click.Choice(["self-signed", "untrusted", "expired", "wrong-name"]),
            default="self-signed",
            show_default=True,
            help="With --receive: the flawed certificate to show; a sender that goes on "
            "sending does not verify.",
        ),
        click.option("--cert", metavar="PEM", help="With --receive: show this chain instead."),
        click.option("--key", metavar="PEM", help="With --receive: the key for --cert."),
        click.option(
            "--hostname",
            metavar="NAME",
            callback=_parse("parse_hostname"),
            help="With --receive: the name in the greeting and the generated certificate.",
        ),
    ]

    def decorate(command: F) -> F:
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def _parse(parser: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    """The pure parser `params.<parser>` as a click callback (imported when used)."""

    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        from . import params

        if value is None:
            return None
        try:
            return getattr(params, parser)(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc), ctx=ctx, param=param) from None

    return callback
