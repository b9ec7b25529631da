"""The sending-side options (--headers, --postfix-config), as one decorator for the command;
click only, so start-up stays light."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


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
    ]

    def decorate(command: F) -> F:
        for option in reversed(options):
            command = option(command)
        return command

    return decorate
