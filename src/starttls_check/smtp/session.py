"""One mail session to one address: the I/O around the sans-I/O client.

SMTP by default; LMTP, IMAP, POP3 and their implicit-TLS variants run through the same
driver with their own client (protocols.py), so every protocol gets the same defences.

The session is driven from an `asyncio.Protocol` feeding one `ReplyReader`, not from
`StreamReader`/`StreamWriter.start_tls()`: with streams, plaintext that a server sends
right after its `220` to STARTTLS survives the upgrade and is read back as if it had come
over TLS (the CVE-2011-0411 family). Here, at `220` the reader is emptied, anything in it
is kept as evidence and discarded, and only then does `loop.start_tls()` take over.
"""

from __future__ import annotations

import asyncio
import errno
import ssl
import time
from dataclasses import dataclass
from datetime import datetime

from ..model.choices import MailProtocol
from ..model.session import (
    EVIDENCE_LIMIT,
    Direction,
    ErrorKind,
    Exchange,
    Phase,
    ProbeError,
    ReplyDefect,
    SessionFacts,
    SessionOutcome,
    TlsResult,
    wire_text,
)
from ..tls.certs import describe_certificate
from ..tls.client import fact_gathering_context, peer_chain_der
from ..tls.wording import describe
from .lint import reply_defects
from .protocols import PROTOCOLS, new_dialogue
from .sansio import (
    MAX_LINE_BYTES,
    Close,
    Received,
    RemoteProtocolError,
    ReplyReader,
    Send,
    StartTls,
    State,
)

MAX_TRANSCRIPT_ENTRIES = 400
MAX_TRANSCRIPT_TEXT = 512  # what we send, and events
# A received line is never longer than the reader's hard limit; as text each byte takes
# at most four characters (`\xNN`), so a received line is recorded whole, never cut.
MAX_RECEIVED_TEXT = 4 * MAX_LINE_BYTES
MAX_EVIDENCE_BYTES = EVIDENCE_LIMIT
_UNREACHABLE = {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT}
_WAITING_FOR = {
    Phase.CONNECT: "no connection",
    Phase.GREETING: "no complete greeting",
    Phase.EHLO: "no complete reply",
    Phase.STARTTLS: "no complete reply",
    Phase.HANDSHAKE: "TLS handshake not completed",
    Phase.EHLO_TLS: "no complete reply",
    Phase.QUIT: "no complete reply",
}
_CODELESS = frozenset(
    {MailProtocol.IMAP, MailProtocol.IMAPS, MailProtocol.POP3, MailProtocol.POP3S}
)
_PHASE_OF_STATE = {
    State.GREETING: Phase.GREETING,
    State.EHLO: Phase.EHLO,
    State.HELO: Phase.EHLO,
    State.STARTTLS: Phase.STARTTLS,
    State.TLS: Phase.HANDSHAKE,
    State.EHLO_TLS: Phase.EHLO_TLS,
    State.QUIT: Phase.QUIT,
    State.DONE: Phase.QUIT,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionSettings:
    """What the caller decides for every session."""

    ehlo_name: str
    timeout: float  # each phase: connect, every reply, the handshake
    deadline: float  # the whole session
    checked_at: datetime  # the report's clock, for certificate days-left
    protocol: MailProtocol = MailProtocol.SMTP
    tls_context: ssl.SSLContext | None = None  # deep probes offer narrower protocol sets
    pipeline_after_starttls: str | None = None  # deep probe: a command sent with STARTTLS


class _ConnectionClosed(Exception):
    """The server closed the connection while we waited for a reply."""


class _ReplyStream(asyncio.Protocol):
    """Feeds received bytes to the reader and wakes whoever waits for a reply."""

    def __init__(self, reader: ReplyReader) -> None:
        self.reader = reader
        self.transport: asyncio.Transport | None = None
        self.protocol_error: RemoteProtocolError | None = None
        self.lost = False
        self.lost_exc: Exception | None = None
        self._wakeup = asyncio.Event()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self.protocol_error is not None:
            return
        try:
            self.reader.feed(data)
        except RemoteProtocolError as exc:
            self.protocol_error = exc
            if self.transport is not None:
                self.transport.abort()  # stop reading: the buffer stays bounded
        self._wakeup.set()

    def eof_received(self) -> bool:
        self.lost = True
        self._wakeup.set()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.lost_exc = exc
        self._wakeup.set()

    async def next_reply(self) -> Received:
        while True:
            received = self.reader.next_received()
            if received is not None:
                return received
            if self.protocol_error is not None:
                raise self.protocol_error
            if self.lost:
                if isinstance(self.lost_exc, OSError):
                    raise self.lost_exc  # a reset is a reset, not a polite close
                raise _ConnectionClosed("connection closed by the server")
            self._wakeup.clear()
            await self._wakeup.wait()


class _Session:
    def __init__(
        self, address: str, port: int, server_name: str | None, settings: SessionSettings
    ) -> None:
        self.address, self.port, self.server_name = address, port, server_name
        self.settings = settings
        self.reader, self.client = new_dialogue(settings.protocol, settings.ehlo_name)
        self.stream = _ReplyStream(self.reader)
        self.answered_inside_tls: str | None = None
        self.phase = Phase.CONNECT
        self.started = time.perf_counter()
        self.transcript: list[Exchange] = []
        self.tls: TlsResult | None = None
        self.chain_der: tuple[bytes, ...] = ()
        self.injected: str | None = None
        self.defects: list[ReplyDefect] = []

    def note(self, direction: Direction, text: str) -> None:
        if len(self.transcript) < MAX_TRANSCRIPT_ENTRIES:
            at_ms = round((time.perf_counter() - self.started) * 1000, 1)
            limit = MAX_RECEIVED_TEXT if direction is Direction.RECEIVED else MAX_TRANSCRIPT_TEXT
            self.transcript.append(Exchange(at_ms=at_ms, direction=direction, text=text[:limit]))

    def record(self, received: Received, whose: str) -> None:
        """Each line as it arrived (never rebuilt from the parsed reply), and its defects."""
        for line in received.raw:
            self.note(Direction.RECEIVED, wire_text(line))
        smtp = self.settings.protocol not in _CODELESS  # IMAP and POP3 replies carry no codes
        ehlo = smtp and self.client.state in (State.EHLO, State.EHLO_TLS)
        self.defects += reply_defects(whose, received.raw, smtp=smtp, ehlo=ehlo)

    def whose_reply(self) -> str:
        """The reply about to be read answers this (for a defect's message)."""
        hello = self.client.ehlo_command or "EHLO"
        return {
            State.GREETING: "greeting",
            State.EHLO: hello,
            State.HELO: "HELO",
            State.STARTTLS: "STARTTLS",
            State.EHLO_TLS: f"{hello} inside TLS",
        }.get(self.client.state, "QUIT")

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        self.note(Direction.EVENT, f"connecting to {self.address} port {self.port}")
        async with asyncio.timeout(self.settings.timeout):
            await loop.create_connection(lambda: self.stream, self.address, self.port)
        self.note(Direction.EVENT, "connected")
        if PROTOCOLS[self.settings.protocol].implicit_tls:
            self.phase = Phase.HANDSHAKE
            await self.handshake(loop)
        self.phase = Phase.GREETING
        while True:
            async with asyncio.timeout(self.settings.timeout):
                received = await self.stream.next_reply()
            self.record(received, self.whose_reply())
            action = self.client.receive(received.reply)
            if isinstance(action, StartTls):
                action = await self.upgrade(loop)
            if isinstance(action, Close):
                return
            self.send(action)

    def send(self, action: Send) -> None:
        reader = self.stream.reader
        if reader.has_unread() and not reader.unread_is_blank():
            # We never pipeline, so nothing may arrive before our command: replies sent
            # ahead of it would be read as its answer. (Raised in the phase whose reply
            # came with the extra bytes, so the error is never mistaken for QUIT's.)
            early = self.stream.reader.take_unread()
            if self.stream.transport is not None and self.tls is not None:
                self.answered_inside_tls = self.answered_inside_tls or _evidence(early)
            raise RemoteProtocolError(
                f"{len(early)} bytes arrived before the {action.command.split()[0]} command: "
                f"{early[:80]!r}"
            )
        self.phase = _PHASE_OF_STATE[self.client.state]
        lines = [action.command]
        extra = self.settings.pipeline_after_starttls
        if extra and self.client.state is State.STARTTLS:
            lines.append(extra)  # deliberately in the same segment: the injection probe
        for line in lines:
            self.note(Direction.SENT, line)
        assert self.stream.transport is not None
        self.stream.transport.write(
            "".join(f"{line}\r\n" for line in lines).encode("ascii", "replace")
        )

    async def upgrade(self, loop: asyncio.AbstractEventLoop) -> Send | Close:
        self.phase = Phase.HANDSHAKE
        leftover = self.stream.reader.take_unread()
        if leftover:  # RFC 3207 §4.2: discard, never read it back as if it came over TLS
            self.injected = leftover[:MAX_EVIDENCE_BYTES].decode("latin-1")
            self.note(Direction.EVENT, f"discarded {len(leftover)} bytes sent before TLS")
        await self.handshake(loop)
        if self.settings.pipeline_after_starttls:
            await self.catch_unsolicited_reply()
            return Close()
        action = self.client.tls_established()
        assert isinstance(action, Send)
        return action

    async def handshake(self, loop: asyncio.AbstractEventLoop) -> None:
        self.note(Direction.EVENT, f"TLS handshake, SNI {self.server_name or '(none)'}")
        transport = self.stream.transport
        if transport is None or transport.is_closing() or self.stream.lost:
            # start_tls on a dead transport would wait for the deadline, not fail.
            raise _ConnectionClosed("connection closed by the server before the TLS handshake")
        began = time.perf_counter()
        # Our own timeout, so a stalled handshake is a timeout (a tarpit), not a TLS failure;
        # asyncio's own, a little longer, only backs it up.
        async with asyncio.timeout(self.settings.timeout):
            transport = await loop.start_tls(
                transport,
                self.stream,
                self.settings.tls_context or fact_gathering_context(),
                server_hostname=self.server_name,
                ssl_handshake_timeout=self.settings.timeout + 1,
            )
        assert isinstance(transport, asyncio.Transport)
        self.stream.transport = transport
        self.record_tls(transport, (time.perf_counter() - began) * 1000)

    async def catch_unsolicited_reply(self) -> None:
        """A server that kept the command pipelined behind STARTTLS answers it inside TLS:
        the CVE-2011-0411 command injection.

        QUIT goes first inside TLS. Replies come in order, so a correct server's first reply
        is QUIT's 221 and it closes; a vulnerable one answers the pipelined command first.
        No fixed wait: a slow vulnerable server still answers before its 221.
        """
        self.phase = Phase.QUIT
        self.note(Direction.SENT, "QUIT")
        assert self.stream.transport is not None
        self.stream.transport.write(b"QUIT\r\n")
        try:
            # Two steps: a server slow to answer each command may answer two before QUIT's.
            async with asyncio.timeout(2 * self.settings.timeout):
                received = await self.stream.next_reply()
        except (TimeoutError, _ConnectionClosed, RemoteProtocolError):
            return  # nothing answered (the probe reports what it could not tell)
        self.record(received, "the command sent with STARTTLS, or QUIT")
        reply = received.reply
        if reply.code == 221:
            return
        self.answered_inside_tls = f"{reply.code} {reply.text}"
        self.note(Direction.EVENT, "the server answered the command sent with STARTTLS")

    def record_tls(self, transport: asyncio.Transport, handshake_ms: float) -> None:
        ssl_object = transport.get_extra_info("ssl_object")
        assert isinstance(ssl_object, ssl.SSLObject)
        name, _, bits = ssl_object.cipher() or ("unknown", "", None)
        self.chain_der = peer_chain_der(ssl_object)
        chain = tuple(describe_certificate(d, self.settings.checked_at) for d in self.chain_der)
        version = ssl_object.version() or "unknown"
        self.tls = TlsResult(
            version=version,
            cipher=name,
            cipher_bits=bits,
            chain=chain,
            handshake_ms=round(handshake_ms, 1),
        )
        self.note(Direction.EVENT, f"TLS established: {version}, {name}, {len(chain)} cert(s)")

    def close(self) -> None:
        if self.stream.transport is not None:
            self.stream.transport.abort()  # after QUIT or a failure; nothing left to say

    def facts(self, error: ProbeError | None) -> SessionFacts:
        c = self.client
        return SessionFacts(
            greeting=c.greeting,
            ehlo_command=c.ehlo_command,
            ehlo_reply=c.ehlo_reply,
            helo_reply=c.helo_reply,
            capabilities=c.capabilities,
            starttls_offered=c.starttls_offered,
            starttls_reply=c.starttls_reply,
            injected_plaintext=self.injected,
            tls=self.tls,
            capabilities_after_tls=c.capabilities_after_tls,
            ehlo_tls_reply=c.ehlo_tls_reply,
            error=error,
            transcript=tuple(self.transcript),
            elapsed_ms=round((time.perf_counter() - self.started) * 1000, 1),
            reply_defects=tuple(self.defects),
        )


async def probe_smtp(
    address: str, port: int, server_name: str | None, settings: SessionSettings
) -> SessionOutcome:
    """Run one session: greeting, EHLO, STARTTLS, handshake, EHLO, QUIT.

    Expected failures become a `ProbeError` in the facts; nothing the server does raises.
    """
    session = _Session(address, port, server_name, settings)
    error: ProbeError | None = None
    try:
        async with asyncio.timeout(settings.deadline) as overall:
            await session.run()
    except TimeoutError:
        if overall.expired():
            detail = f"the session's deadline of {settings.deadline:g} s was reached"
        else:
            detail = f"{_WAITING_FOR[session.phase]} within {settings.timeout:g} s"
        error = ProbeError(phase=session.phase, kind=ErrorKind.TIMEOUT, detail=detail)
    except (OSError, RemoteProtocolError, _ConnectionClosed, ssl.SSLError) as exc:
        error = _classify(session.phase, exc)
    finally:
        session.close()
    if error is not None:
        if error.phase is Phase.QUIT:  # the work was done; a rude goodbye changes nothing
            session.note(Direction.EVENT, f"after QUIT: {error.detail}")
            error = None
        else:
            session.note(Direction.EVENT, f"{error.phase} failed: {error.kind}: {error.detail}")
    return SessionOutcome(
        facts=session.facts(error),
        chain_der=session.chain_der,
        answered_inside_tls=session.answered_inside_tls,
    )


def _evidence(data: bytes) -> str:
    return data[:MAX_EVIDENCE_BYTES].decode("latin-1")


def _classify(phase: Phase, exc: BaseException) -> ProbeError:
    """Translate a library exception into a fact, once, at the edge."""
    kind = ErrorKind.OTHER
    if isinstance(exc, RemoteProtocolError):
        kind = ErrorKind.PROTOCOL
    elif isinstance(exc, _ConnectionClosed):
        kind = ErrorKind.CLOSED
    elif isinstance(exc, ssl.SSLError):
        kind = ErrorKind.TLS
    elif isinstance(exc, ConnectionRefusedError):
        kind = ErrorKind.REFUSED
    elif isinstance(exc, ConnectionResetError | BrokenPipeError | ConnectionAbortedError):
        kind = ErrorKind.RESET if phase is not Phase.HANDSHAKE else ErrorKind.TLS
    elif isinstance(exc, OSError) and exc.errno in _UNREACHABLE:
        kind = ErrorKind.UNREACHABLE
    detail = describe(exc) if str(exc) else ""
    if not detail and isinstance(exc, ConnectionError):  # asyncio raises them bare
        detail = f"connection {'reset' if kind is ErrorKind.RESET else 'closed'} by the server"
        if phase is Phase.HANDSHAKE:
            detail = "connection closed by the server during the TLS handshake"
    return ProbeError(
        phase=phase, kind=kind, detail=(detail or type(exc).__name__)[:MAX_TRANSCRIPT_TEXT]
    )
