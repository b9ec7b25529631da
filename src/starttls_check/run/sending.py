"""The sending-side modes, gathered and judged: a message's headers, Postfix's settings,
and the receive mode's clients. The command line calls these; they return reports."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from ..checks.received import judge_headers
from ..model.sending import HeaderReport, PostfixReport


def check_headers(data: bytes, source: str) -> HeaderReport:
    """`--headers`: the message's Received headers as hops, judged."""
    from ..policy.received import hops, received_headers

    subject, headers = received_headers(data)
    found, skipped = hops(headers)
    return judge_headers(source, subject, found, skipped)


def check_postfix_config(path: Path, now: datetime) -> PostfixReport:
    """`--postfix-config`: the effective settings (postconf when installed, else the
    file), the files they name, judged at `now`."""
    from ..checks.postfix_settings import judge_postfix
    from ..policy.postfix_files import read_files
    from ..policy.postfix_settings import read_settings

    return judge_postfix(read_files(read_settings(path)), now)
