"""Sans-I/O SMTP client core: bytes in, replies out; replies in, commands out.

Rules this module enforces, whoever drives it:
- A reply is one or more lines `ddd-text` ending with `ddd text` (RFC 5321 §4.2). Where
  senders are lenient, so is the reader, as Postfix's client (smtp_chat.c) is: the last
  line's code is the reply's even if other lines carry another, a bare LF ends a line, and
  a line without any code (an empty line) is read as part of the reply. `lint.py` names
  each such defect; a non-empty line that is not a reply line is still an error, because
  it means another protocol on the port far more often than a sloppy MTA.
- Every line and every reply is bounded; exceeding a bound is a `RemoteProtocolError`,
  never unbounded buffering.
- Commands are never pipelined: the client sends one command and waits for its reply.
- The session goes greeting → EHLO (→ HELO if EHLO is refused) → STARTTLS, only if
  advertised → TLS → EHLO again (RFC 3207 §4.2: forget what was learnt in the clear) → QUIT.

No sockets here: `smtp_session.py` does the I/O and tests feed recorded bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from ..model.session import Reply

MAX_LINE_BYTES = 2048  # RFC 5321 §4.5.3.1.5 allows 512; real servers sometimes exceed it
MAX_REPLY_LINES = 200  # an EHLO reply has a few dozen lines at most
MAX_UNREAD_BYTES = 64 * 1024  # replies we never asked for (we never pipeline)


class RemoteProtocolError(Exception):
    """The server sent bytes that are not a valid or bounded SMTP reply."""


@dataclass(frozen=True, slots=True)
class Received:
    """One whole reply, and its lines exactly as they arrived (line endings included)."""

    reply: Reply
    raw: tuple[bytes, ...]


Framing = Callable[[list[bytes]], "Reply | None"]
"""A protocol's rule for when lines form a whole response: the Reply, or None to wait."""


class ReplyReader:
    """Turns a stream of bytes, split anywhere, into one `Reply` at a time.

    Parsing is lazy: once a reply is complete, later bytes are kept raw (bounded) until the
    driver asks for the next reply. We never pipeline, so a well-behaved server sends
    nothing in between; whatever it did send stays available, unparsed, to `take_unread`
    as evidence (plaintext after STARTTLS's 220), and junk there is not a parse error.
    """

    def __init__(
        self,
        framing: Framing | None = None,
        *,
        max_line: int = MAX_LINE_BYTES,
        max_lines: int = MAX_REPLY_LINES,
    ) -> None:
        self.framing = framing or smtp_framing
        self._max_line = max_line
        self._max_lines = max_lines
        self._buffer = bytearray()  # received, not yet parsed
        self._lines: list[bytes] = []  # lines of the response being assembled
        self._ready: Received | None = None  # a whole reply not yet taken

    @property
    def buffered_bytes(self) -> int:
        """How many bytes are held: bounded by the limits, whatever the server sends."""
        ready = sum(len(line) for line in self._ready.raw) if self._ready else 0
        return len(self._buffer) + sum(len(line) for line in self._lines) + ready

    def feed(self, data: bytes) -> None:
        """Add received bytes; raises `RemoteProtocolError` on malformed or oversized input."""
        self._buffer += data
        if self._ready is None:
            self._parse()
        elif self.buffered_bytes > MAX_UNREAD_BYTES:
            raise RemoteProtocolError(f"more than {MAX_UNREAD_BYTES} bytes of unsolicited data")

    def next_reply(self) -> Reply | None:
        """The next complete reply, or None until one has arrived."""
        received = self.next_received()
        return received.reply if received else None

    def next_received(self) -> Received | None:
        """The next complete reply with its lines as received, or None until one arrived."""
        if self._ready is None:
            self._parse()
        received, self._ready = self._ready, None
        return received

    def has_unread(self) -> bool:
        """True if the server sent anything beyond the replies taken so far."""
        return bool(self._ready or self._lines or self._buffer)

    def unread_is_blank(self) -> bool:
        """Only empty lines (or part of one) arrived beyond the replies taken. They answer
        nothing: Postfix reads them as the start of the next reply, and so does
        `smtp_framing`, so they are left for it (and named a defect there)."""
        if self._ready is not None or any(line.strip() for line in self._lines):
            return False
        return not bytes(self._buffer).strip()

    def take_unread(self) -> bytes:
        """Remove and return every byte received but not taken as a reply.

        After the `220` to STARTTLS this must be empty: anything here arrived in plaintext
        and must never be mistaken for data protected by TLS (RFC 3207 §4.2).
        """
        ready = b"".join(self._ready.raw) if self._ready else b""
        unread = ready + b"".join(self._lines) + self._buffer
        self._ready = None
        self._lines.clear()
        self._buffer.clear()
        return unread

    def _parse(self) -> None:
        while self._ready is None and (end := self._buffer.find(b"\n")) >= 0:
            if end + 1 > self._max_line:
                raise RemoteProtocolError(f"line longer than {self._max_line} bytes")
            self._lines.append(bytes(self._buffer[: end + 1]))
            del self._buffer[: end + 1]
            if len(self._lines) > self._max_lines:
                raise RemoteProtocolError(f"reply longer than {self._max_lines} lines")
            reply = self.framing(self._lines)
            if reply is not None:
                self._ready = Received(reply, tuple(self._lines))
                self._lines.clear()
        if self._ready is None and len(self._buffer) > self._max_line:
            raise RemoteProtocolError(f"line longer than {self._max_line} bytes")


def smtp_framing(lines: list[bytes]) -> Reply | None:
    """RFC 5321 §4.2: `ddd-` lines, then a `ddd ` line, read as Postfix's client reads them.

    Postfix (smtp_chat.c, `smtp_chat_resp`) ends a reply at the first line of three digits
    and a space (or nothing), takes the code from that last line alone, never compares the
    codes of the lines, and reads any other line as one more line of the reply. So a reply
    `250-…` / `251-SIZE …` / `250 …` is a 250 to it, and to us; an empty line continues
    the reply for both, while other code-less lines end our session (module rules above).
    """
    last = lines[-1]
    if _codeless(last):
        return None  # part of the reply, as Postfix reads it; the line count bounds it
    code, final, _ = parse_reply_line(last)
    if not final:
        return None
    return Reply(code=code, lines=tuple(_line_text(line) for line in lines))


def _codeless(raw: bytes) -> bool:
    """An empty (or blank) line: no code at all, so Postfix reads it as a continuation."""
    return not raw.strip()


def _line_text(raw: bytes) -> str:
    return "" if _codeless(raw) else parse_reply_line(raw)[2]


def parse_reply_line(raw: bytes) -> tuple[int, bool, str]:
    """Split one reply line into (code, is_last_line, text)."""
    line = raw.removesuffix(b"\n").removesuffix(b"\r")
    head = line[:3]
    if len(head) < 3 or not head.isdigit() or head[0:1] not in b"2345":  # ASCII digits only
        raise RemoteProtocolError(f"not an SMTP reply line: {line[:80]!r}")
    separator = line[3:4]
    if separator not in (b"", b" ", b"-"):
        raise RemoteProtocolError(f"bad separator after reply code: {line[:80]!r}")
    text = line[4:].decode("utf-8", "backslashreplace")
    return int(head), separator != b"-", text


def format_reply(reply: Reply) -> bytes:
    """The wire form of a reply (used by tests to round-trip the parser)."""
    last = len(reply.lines) - 1
    return b"".join(
        f"{reply.code}{' ' if i == last else '-'}{line}\r\n".encode("utf-8", "surrogateescape")
        for i, line in enumerate(reply.lines)
    )


def capability_keyword(capability: str) -> str:
    """`SIZE 10240000` → `SIZE`."""
    return capability.split(" ", 1)[0].upper()


def parse_capabilities(ehlo_reply: Reply) -> tuple[str, ...]:
    """EHLO reply lines after the first (the server's name) are extension keywords."""
    return tuple(line.strip() for line in ehlo_reply.lines[1:] if line.strip())


class State(StrEnum):
    """Where the client is in the session."""

    GREETING = "greeting"
    EHLO = "ehlo"
    HELO = "helo"
    STARTTLS = "starttls"
    TLS = "tls"
    EHLO_TLS = "ehlo-tls"
    QUIT = "quit"
    DONE = "done"


@dataclass(frozen=True, slots=True)
class Send:
    """Send this command line (CRLF is added by the driver), then wait for a reply."""

    command: str


@dataclass(frozen=True, slots=True)
class StartTls:
    """The server said 220 to STARTTLS: check for unread bytes, then handshake."""


@dataclass(frozen=True, slots=True)
class Close:
    """The session is over: close the connection."""


Action = Send | StartTls | Close


class DialogueRecord:
    """What every protocol's client records of its session; the facts are built from it."""

    def __init__(self) -> None:
        self.state = State.GREETING
        self.greeting: Reply | None = None
        self.ehlo_command: str | None = None
        self.ehlo_reply: Reply | None = None
        self.helo_reply: Reply | None = None
        self.capabilities: tuple[str, ...] = ()
        self.starttls_offered: bool | None = None
        self.starttls_reply: Reply | None = None
        self.ehlo_tls_reply: Reply | None = None
        self.capabilities_after_tls: tuple[str, ...] | None = None


class SmtpClient(DialogueRecord):
    """The client's half of the session as a state machine; records what it saw.

    `hello` is EHLO, or LHLO for LMTP (RFC 2033, which has no HELO to fall back to).
    With `implicit_tls` (SMTPS, RFC 8314) the connection is already encrypted: the one
    EHLO is the one inside TLS, and STARTTLS is neither expected nor sent.
    """

    def __init__(self, ehlo_name: str, *, hello: str = "EHLO", implicit_tls: bool = False) -> None:
        super().__init__()
        self.ehlo_name = ehlo_name
        self.hello = hello
        self.implicit_tls = implicit_tls

    def receive(self, reply: Reply) -> Action:
        """Feed the reply to the last command (or the greeting); get the next action."""
        handler = {
            State.GREETING: self._on_greeting,
            State.EHLO: self._on_ehlo,
            State.HELO: self._on_helo,
            State.STARTTLS: self._on_starttls,
            State.EHLO_TLS: self._on_ehlo_tls,
        }.get(self.state)
        if handler is None:  # QUIT answered, or a reply nobody asked for: we are done
            self.state = State.DONE
            return Close()
        return handler(reply)

    def tls_established(self) -> Action:
        """The handshake succeeded: greet again, inside TLS."""
        self.state = State.EHLO_TLS
        return Send(f"{self.hello} {self.ehlo_name}")

    def _quit(self) -> Action:
        self.state = State.QUIT
        return Send("QUIT")

    def _on_greeting(self, reply: Reply) -> Action:
        self.greeting = reply
        if reply.code != 220:
            return self._quit()
        self.state = State.EHLO
        self.ehlo_command = self.hello
        return Send(f"{self.hello} {self.ehlo_name}")

    def _on_ehlo(self, reply: Reply) -> Action:
        self.ehlo_reply = reply
        if reply.code == 250 and self.implicit_tls:
            self.capabilities = self.capabilities_after_tls = parse_capabilities(reply)
            self.ehlo_tls_reply = reply
            return self._quit()
        if reply.code == 250:
            self.capabilities = parse_capabilities(reply)
            self.starttls_offered = any(
                capability_keyword(c) == "STARTTLS" for c in self.capabilities
            )
            if not self.starttls_offered:
                return self._quit()
            self.state = State.STARTTLS
            return Send("STARTTLS")
        if 500 <= reply.code < 600 and self.hello == "EHLO":  # RFC 5321 §3.2: try HELO
            self.state = State.HELO
            self.ehlo_command = "HELO"
            return Send(f"HELO {self.ehlo_name}")
        return self._quit()

    def _on_helo(self, reply: Reply) -> Action:
        self.helo_reply = reply
        if reply.code == 250:
            self.starttls_offered = False  # HELO cannot advertise extensions
        return self._quit()

    def _on_starttls(self, reply: Reply) -> Action:
        self.starttls_reply = reply
        if reply.code != 220:
            return self._quit()
        self.state = State.TLS
        return StartTls()

    def _on_ehlo_tls(self, reply: Reply) -> Action:
        self.ehlo_tls_reply = reply
        if reply.code == 250:
            self.capabilities_after_tls = parse_capabilities(reply)
        return self._quit()
