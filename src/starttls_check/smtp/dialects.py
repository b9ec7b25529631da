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

from ..model.session import Reply
from .sansio import (
    Action,
    Close,
    DialogueRecord,
    RemoteProtocolError,
    ReplyReader,
    Send,
    StartTls,
    State,
)


def _text(line: bytes) -> str:
    return line.removesuffix(b"\n").removesuffix(b"\r").decode("utf-8", "backslashreplace")


def _response(lines: list[bytes], code: int) -> Reply:
    return Reply(code=code, lines=tuple(_text(line) for line in lines))


class _LineClient(DialogueRecord):
    """What IMAP and POP3 clients share: facts, states, and the session's shape."""

    capability_command = ""

    def __init__(self, reader: ReplyReader, *, implicit_tls: bool = False) -> None:
        super().__init__()
        self.reader = reader
        self.implicit_tls = implicit_tls

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

    def __init__(self, reader: ReplyReader, *, implicit_tls: bool = False) -> None:
        super().__init__(reader, implicit_tls=implicit_tls)
        self._counter = 0
        reader.framing = _imap_greeting

    def _command(self, state: State, verb: str) -> Send:
        self.state = state
        self._counter += 1
        tag = f"a{self._counter}"
        go_ahead = 220 if verb == "STARTTLS" else 250
        self.reader.framing = lambda lines: _imap_tagged(lines, tag, go_ahead)
        return Send(f"{tag} {verb}")

    def _quit(self) -> Send:
        return self._command(State.QUIT, "LOGOUT")

    def parse_capabilities(self, reply: Reply) -> tuple[str, ...]:
        for line in reply.lines:
            words = line.split()
            if len(words) > 1 and words[0] == "*" and words[1].upper() == "CAPABILITY":
                return tuple(words[2:])
        return ()


def _imap_greeting(lines: list[bytes]) -> Reply:
    line = _text(lines[-1])
    words = line.split(" ", 2)
    status = words[1].upper() if len(words) > 1 and words[0] == "*" else ""
    codes = {"OK": 220, "PREAUTH": 220, "BYE": 421}
    if status not in codes:
        raise RemoteProtocolError(f"not an IMAP greeting: {line[:80]!r}")
    return _response(lines, codes[status])


def _imap_tagged(lines: list[bytes], tag: str, go_ahead: int) -> Reply | None:
    line = _text(lines[-1])
    words = line.split(" ", 2)
    if words[0] != tag:
        return None  # untagged data; the tagged status line ends the response
    status = words[1].upper() if len(words) > 1 else ""
    codes = {"OK": go_ahead, "NO": 454 if go_ahead == 220 else 554, "BAD": 500}
    if status not in codes:
        raise RemoteProtocolError(f"bad IMAP status line: {line[:80]!r}")
    return _response(lines, codes[status])


class Pop3Client(_LineClient):
    """POP3: `+OK`/`-ERR`; CAPA answers with lines ending in a lone `.`."""

    capability_command = "CAPA"
    tls_keyword = "STLS"

    def __init__(self, reader: ReplyReader, *, implicit_tls: bool = False) -> None:
        super().__init__(reader, implicit_tls=implicit_tls)
        reader.framing = lambda lines: _pop3_single(lines, ok=220, err=554)

    def _command(self, state: State, verb: str) -> Send:
        self.state = state
        if verb == "CAPA":
            self.reader.framing = _pop3_multi
        elif verb == "STLS":
            self.reader.framing = lambda lines: _pop3_single(lines, ok=220, err=454)
        else:
            self.reader.framing = lambda lines: _pop3_single(lines, ok=221, err=554)
        return Send(verb)

    def _quit(self) -> Send:
        return self._command(State.QUIT, "QUIT")

    def parse_capabilities(self, reply: Reply) -> tuple[str, ...]:
        # RFC 1939 §3: a line starting with "." is dot-stuffed.
        return tuple(line.removeprefix(".") for line in reply.lines[1:-1] if line.strip())


def _pop3_single(lines: list[bytes], *, ok: int, err: int) -> Reply:
    if lines[0].startswith(b"+OK"):
        return _response(lines, ok)
    if lines[0].startswith(b"-ERR"):
        return _response(lines, err)
    raise RemoteProtocolError(f"not a POP3 response: {_text(lines[0])[:80]!r}")


def _pop3_multi(lines: list[bytes]) -> Reply | None:
    if lines[0].startswith(b"-ERR"):
        return _response(lines, 554)
    if not lines[0].startswith(b"+OK"):
        raise RemoteProtocolError(f"not a POP3 response: {_text(lines[0])[:80]!r}")
    if len(lines) > 1 and _text(lines[-1]) == ".":
        return _response(lines, 250)
    return None
