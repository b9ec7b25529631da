"""What one client of the receive mode did, filled in by `receiver.ReceiverProtocol` as
it happens, then turned into the report's `ReceivedClient`.

The transcript holds the dialogue as it went: each command line as received (escaped as
the probe's transcript escapes it), each reply, and the TLS events; never the message's
lines, only their count. It is bounded: `MAX_ENTRIES` entries of `MAX_TEXT` characters."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime

from ..model.findings import Verdict
from ..model.sending import ClientHelloOffer, ReceivedClient
from ..model.session import Direction, Exchange

MAX_ENTRIES = 500  # 200 commands (the session's limit) and their replies, with room
MAX_TEXT = 1000


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
    transcript: list[Exchange] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def log(self, direction: Direction, text: str) -> None:
        """One transcript entry, while there is room; then one saying it was cut."""
        if len(self.transcript) > MAX_ENTRIES:
            return
        if len(self.transcript) == MAX_ENTRIES:
            direction, text = Direction.EVENT, f"(transcript cut at {MAX_ENTRIES} entries)"
        at_ms = round((time.monotonic() - self.started) * 1000, 1)
        self.transcript.append(Exchange(at_ms=at_ms, direction=direction, text=text[:MAX_TEXT]))

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
            transcript=tuple(self.transcript),
            findings=(),
            verdict=Verdict.PASS,
        )
