"""The sending-side modes, gathered and judged: a message's headers, Postfix's settings,
and the receive mode's clients. The command line calls these; they return reports."""

from __future__ import annotations

from ..checks.received import judge_headers
from ..model.sending import HeaderReport


def check_headers(data: bytes, source: str) -> HeaderReport:
    """`--headers`: the message's Received headers as hops, judged."""
    from ..policy.received import hops, received_headers

    subject, headers = received_headers(data)
    found, skipped = hops(headers)
    return judge_headers(source, subject, found, skipped)
