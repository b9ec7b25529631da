"""Sans-I/O clients for the line-based mail protocols that speak STARTTLS: IMAP and POP3.

They reuse the SMTP session's machinery (actions, states, facts) so one driver, one set of
rules and one report serve every protocol. Their responses are mapped onto SMTP-style
reply codes, documented in the README: OK/+OK is 220 for a greeting or a TLS go-ahead and
250 otherwise, NO and -ERR are 554 (454 to STARTTLS/STLS), BAD is 500, BYE is 421. The
lines themselves are kept verbatim, status words included.

- IMAP (RFC 9051, RFC 3501 §6.2.1): greeting `* OK`, `a1 CAPABILITY`, `a2 STARTTLS`,
  TLS, `a3 CAPABILITY` again (RFC 9051 §6.2.1: forget what was learnt before TLS), LOGOUT.
- POP3 (RFC 1939, RFC 2449 CAPA, RFC 2595 STLS): `+OK`, CAPA, STLS, TLS, CAPA, QUIT.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from .model import Reply
from .smtp_protocol import (
    MAX_LINE_BYTES,
    MAX_REPLY_LINES,
    Action,
    Close,
    RemoteProtocolError,
    Send,
    StartTls,
    State,
)


class LineReader:
    """Bounded lines in, one `Reply` per response out; the client says what ends one."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._lines: list[str] = []
        self._raw = bytearray()
        self._ready: deque[tuple[Reply, bytes]] = deque()
        # Set by the client before each command: the reply code once `lines` form a whole
        # response, else None.
        self.ends_response: Callable[[list[str]], int | None] = _first_line

    @property
    def buffered_bytes(self) -> int:
        return len(self._buffer) + len(self._raw) + sum(len(r) for _, r in self._ready)

    def feed(self, data: bytes) -> None:
        self._buffer += data
        while (end := self._buffer.find(b"\n")) >= 0:
            raw = bytes(self._buffer[: end + 1])
            del self._buffer[: end + 1]
            if len(raw) > MAX_LINE_BYTES:
                raise RemoteProtocolError(f"line longer than {MAX_LINE_BYTES} bytes")
            self._take(raw)
        if len(self._buffer) > MAX_LINE_BYTES:
            raise RemoteProtocolError(f"line longer than {MAX_LINE_BYTES} bytes")

    def _take(self, raw: bytes) -> None:
        text = raw.removesuffix(b"\n").removesuffix(b"\r").decode("utf-8", "backslashreplace")
        self._lines.append(text)
        self._raw += raw
        if len(self._lines) > MAX_REPLY_LINES:
            raise RemoteProtocolError(f"response longer than {MAX_REPLY_LINES} lines")
        code = self.ends_response(self._lines)
        if code is not None:
            self._ready.append((Reply(code=code, lines=tuple(self._lines)), bytes(self._raw)))
            self._lines.clear()
            self._raw.clear()

    def next_reply(self) -> Reply | None:
        return self._ready.popleft()[0] if self._ready else None

    def take_unread(self) -> bytes:
        unread = b"".join(raw for _, raw in self._ready) + self._raw + self._buffer
        self._ready.clear()
        self._lines.clear()
        self._raw.clear()
        self._buffer.clear()
        return unread


def _first_line(lines: list[str]) -> int | None:
    return 250


class _LineClient:
    """What IMAP and POP3 clients share: facts, states, and the session's shape."""

    capability_command = ""

    def __init__(self, reader: LineReader, *, implicit_tls: bool = False) -> None:
        self.reader = reader
        self.implicit_tls = implicit_tls
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

    def transcript_lines(self, reply: Reply) -> list[str]:
        return list(reply.lines)

    def receive(self, reply: Reply) -> Action:
        if self.state is State.GREETING:
            self.greeting = reply
            if reply.code != 220:
                return self._quit()
            self.ehlo_command = self.capability_command
            return self._command(State.EHLO, self.capability_command)
        if self.state is State.EHLO:
            return self._on_capabilities(reply)
        if self.state is State.STARTTLS:
            self.starttls_reply = reply
            if reply.code != 220:
                return self._quit()
            self.state = State.TLS
            return StartTls()
        if self.state is State.EHLO_TLS:
            self.ehlo_tls_reply = reply
            if reply.code == 250:
                self.capabilities_after_tls = self.parse_capabilities(reply)
            return self._quit()
        self.state = State.DONE
        return Close()

    def _on_capabilities(self, reply: Reply) -> Action:
        self.ehlo_reply = reply
        if reply.code != 250:
            self.starttls_offered = False if not self.implicit_tls else None
            return self._quit()
        self.capabilities = self.parse_capabilities(reply)
        if self.implicit_tls:
            self.capabilities_after_tls = self.capabilities
            self.ehlo_tls_reply = reply
            return self._quit()
        self.starttls_offered = self.tls_keyword in {c.upper() for c in self.capabilities}
        if not self.starttls_offered:
            return self._quit()
        return self._command(State.STARTTLS, self.tls_keyword)

    def tls_established(self) -> Action:
        return self._command(State.EHLO_TLS, self.capability_command)

    # Each protocol says how its commands look and how its responses end.
    tls_keyword = ""

    def _command(self, state: State, verb: str) -> Send:
        raise NotImplementedError

    def _quit(self) -> Send:
        raise NotImplementedError

    def parse_capabilities(self, reply: Reply) -> tuple[str, ...]:
        raise NotImplementedError


class ImapClient(_LineClient):
    """IMAP: tagged commands; a response ends with the line carrying the command's tag."""

    capability_command = "CAPABILITY"
    tls_keyword = "STARTTLS"

    def __init__(self, reader: LineReader, *, implicit_tls: bool = False) -> None:
        super().__init__(reader, implicit_tls=implicit_tls)
        self._counter = 0
        reader.ends_response = _imap_greeting

    def _command(self, state: State, verb: str) -> Send:
        self.state = state
        self._counter += 1
        tag = f"a{self._counter}"
        go_ahead = 220 if verb == "STARTTLS" else 250
        self.reader.ends_response = lambda lines: _imap_tagged(lines, tag, go_ahead)
        return Send(f"{tag} {verb}")

    def _quit(self) -> Send:
        return self._command(State.QUIT, "LOGOUT")

    def parse_capabilities(self, reply: Reply) -> tuple[str, ...]:
        for line in reply.lines:
            words = line.split()
            if len(words) > 1 and words[0] == "*" and words[1].upper() == "CAPABILITY":
                return tuple(words[2:])
        return ()


def _imap_greeting(lines: list[str]) -> int | None:
    status = lines[-1].split(" ", 2)[1].upper() if lines[-1].startswith("* ") else ""
    codes = {"OK": 220, "PREAUTH": 220, "BYE": 421}
    if status not in codes:
        raise RemoteProtocolError(f"not an IMAP greeting: {lines[-1][:80]!r}")
    return codes[status]


def _imap_tagged(lines: list[str], tag: str, go_ahead: int) -> int | None:
    words = lines[-1].split(" ", 2)
    if words[0] != tag:
        return None  # untagged data; the tagged status line ends the response
    status = words[1].upper() if len(words) > 1 else ""
    codes = {"OK": go_ahead, "NO": 454 if go_ahead == 220 else 554, "BAD": 500}
    if status not in codes:
        raise RemoteProtocolError(f"bad IMAP status line: {lines[-1][:80]!r}")
    return codes[status]


class Pop3Client(_LineClient):
    """POP3: `+OK`/`-ERR`; CAPA answers with lines ending in a lone `.`."""

    capability_command = "CAPA"
    tls_keyword = "STLS"

    def __init__(self, reader: LineReader, *, implicit_tls: bool = False) -> None:
        super().__init__(reader, implicit_tls=implicit_tls)
        reader.ends_response = lambda lines: _pop3_single(lines, ok=220, err=554)

    def _command(self, state: State, verb: str) -> Send:
        self.state = state
        if verb == "CAPA":
            self.reader.ends_response = _pop3_multi
        elif verb == "STLS":
            self.reader.ends_response = lambda lines: _pop3_single(lines, ok=220, err=454)
        else:
            self.reader.ends_response = lambda lines: _pop3_single(lines, ok=221, err=554)
        return Send(verb)

    def _quit(self) -> Send:
        return self._command(State.QUIT, "QUIT")

    def parse_capabilities(self, reply: Reply) -> tuple[str, ...]:
        # RFC 1939 §3: a line starting with "." is dot-stuffed.
        return tuple(line.removeprefix(".") for line in reply.lines[1:-1] if line.strip())


def _pop3_single(lines: list[str], *, ok: int, err: int) -> int:
    if lines[0].startswith("+OK"):
        return ok
    if lines[0].startswith("-ERR"):
        return err
    raise RemoteProtocolError(f"not a POP3 response: {lines[0][:80]!r}")


def _pop3_multi(lines: list[str]) -> int | None:
    if lines[0].startswith("-ERR"):
        return 554
    if not lines[0].startswith("+OK"):
        raise RemoteProtocolError(f"not a POP3 response: {lines[0][:80]!r}")
    return 250 if len(lines) > 1 and lines[-1] == "." else None
