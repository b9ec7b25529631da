"""The sending-side modes, gathered and judged: a message's headers, Postfix's settings,
and the receive mode's clients. The command line calls these; they return reports."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ..checks.received import judge_headers
from ..model.sending import CertificateKind, HeaderReport, PostfixReport, ReceiveReport


def check_headers(data: bytes, source: str) -> HeaderReport:
    """`--headers`: the message's Received headers as hops, judged."""
    from ..policy.received import hops, received_headers

    block = received_headers(data)
    found, skipped = hops(block.received)
    return judge_headers(
        source,
        block.subject,
        found,
        skipped,
        header_fields=block.fields,
        bytes_read=block.size,
    )


def check_postfix_config(path: Path, now: datetime) -> PostfixReport:
    """`--postfix-config`: the effective settings (postconf when installed, else the
    file), the files they name, judged at `now`."""
    from ..checks.postfix_settings import judge_postfix
    from ..policy.postfix_files import read_files
    from ..policy.postfix_settings import read_settings

    return judge_postfix(read_files(read_settings(path)), now)


@dataclass(frozen=True, slots=True, kw_only=True)
class ReceiveSettings:
    """`--receive` and its options, certificates already in PEM."""

    address: str
    port: int
    hostname: str
    certificate: CertificateKind
    certificates: tuple[tuple[bytes, bytes], ...]  # (chain PEM, key PEM), one per key type
    clients: int = 1
    deadline: float = 600.0  # seconds the listener waits in all
    idle: float = 60.0  # seconds one client may stay silent
    sessions: int = 20  # clients at once; more are refused with 421


def receive_clients(
    settings: ReceiveSettings, on_listening: Callable[[str, int], None] | None = None
) -> ReceiveReport:
    """`--receive`: listen, let the clients come, judge what each did."""
    import asyncio

    from cryptography import x509

    from ..checks.sender import judge_receive
    from ..smtp.listener import receive
    from ..tls.server_context import server_context

    context = server_context(settings.certificates)
    first_chain = settings.certificates[0][0]
    subject = x509.load_pem_x509_certificate(first_chain).subject.rfc4514_string()
    started, clock = datetime.now(UTC), time.monotonic()
    received = asyncio.run(
        receive(
            settings.address,
            settings.port,
            context,
            hostname=settings.hostname,
            clients=settings.clients,
            deadline=settings.deadline,
            idle=settings.idle,
            sessions=settings.sessions,
            on_listening=on_listening,
        )
    )
    return judge_receive(
        listen=received.listen,
        certificate=settings.certificate,
        certificate_subject=subject,
        started_at=started,
        elapsed_ms=(time.monotonic() - clock) * 1000,
        clients=received.clients,
        refused=received.refused,
    )
