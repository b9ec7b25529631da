"""What one client of the receive mode did, filled in by `receiver.ReceiverProtocol` as
it happens, then turned into the report's `ReceivedClient`.

The transcript holds the dialogue as it went: each command line as received (escaped as
the probe's transcript escapes it), each reply, and the TLS events; never the message's
lines, only their count. It is bounded: the first `HEAD` and the last `TAIL` entries, with
one between saying how many were left out (a long session's end, where it went wrong, is
what a troubleshooter reads), and at most `LINE_BYTES` of each command line."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime

from ..model.findings import Verdict
from ..model.sending import ClientHelloOffer, ReceivedClient
from ..model.session import Direction, Exchange, wire_text

HEAD, TAIL = 400, 100
MAX_ENTRIES = HEAD + TAIL + 1  # with the entry that says how many were left out
LINE_BYTES = 512  # RFC 5321 §4.5.3.1.4's command line; the rest is counted, not kept


@dataclass
class Record:
    """What one client did, filled in as it happens."""

    address: str
    port: int
    connected_at: datetime
    ehlo: str | None = None
    starttls: bool = False
    hello: ClientHelloOffer | None = None
    hello_error: str | None = None
    tls_version: str | None = None
    cipher: str | None = None
    handshake_error: str | None = None
    mail_from: str | None = None
    recipients: list[str] = field(default_factory=list)
    message_sent: bool = False
    message_size: int = 0
    message_over_tls: bool = False
    mail_over_tls: bool = False  # MAIL FROM accepted inside TLS: the sender went on
    closed_by: str = "client"
    long_line: int | None = None
    silent_ms: float = 0.0
    head: list[Exchange] = field(default_factory=list)
    tail: deque[Exchange] = field(default_factory=lambda: deque(maxlen=TAIL))
    left_out: int = 0
    started: float = field(default_factory=time.monotonic)

    def log(self, direction: Direction, text: str) -> None:
        """One transcript entry: kept at the start, else among the last `TAIL`."""
        at_ms = round((time.monotonic() - self.started) * 1000, 1)
        entry = Exchange(at_ms=at_ms, direction=direction, text=text)
        if len(self.head) < HEAD:
            self.head.append(entry)
            return
        self.left_out += len(self.tail) == TAIL  # the oldest of the tail drops out
        self.tail.append(entry)

    def log_line(self, line: bytes) -> None:
        """A command line as received, at most `LINE_BYTES` of it."""
        text = wire_text(line[:LINE_BYTES])
        if len(line) > LINE_BYTES:
            text += f" ... ({len(line) - LINE_BYTES} more bytes)"
        self.log(Direction.RECEIVED, text)

    def transcript(self) -> tuple[Exchange, ...]:
        if not self.left_out:
            return (*self.head, *self.tail)
        at_ms = self.tail[0].at_ms
        gap = Exchange(
            at_ms=at_ms, direction=Direction.EVENT, text=f"({self.left_out} entries left out)"
        )
        return (*self.head, gap, *self.tail)

    def facts(self) -> ReceivedClient:
        """The record as a report without findings (the checks add them)."""
        return ReceivedClient(
            address=self.address,
            port=self.port,
            connected_at=self.connected_at,
            ehlo=self.ehlo,
            starttls=self.starttls,
            client_hello=self.hello,
            client_hello_error=self.hello_error,
            tls_version=self.tls_version,
            cipher=self.cipher,
            handshake_error=self.handshake_error,
            mail_from=self.mail_from,
            recipients=tuple(self.recipients[:100]),
            message_sent=self.message_sent,
            message_size=self.message_size,
            message_over_tls=self.message_over_tls,
            mail_over_tls=self.mail_over_tls,
            closed_by=self.closed_by,
            long_line=self.long_line,
            silent_ms=round(self.silent_ms, 1),
            transcript=self.transcript(),
            findings=(),
            verdict=Verdict.PASS,
        )
