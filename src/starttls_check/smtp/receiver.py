"""A temporary SMTP receiver that offers STARTTLS and records what each sender does.

It accepts one message per connection for any recipient and throws it away as it
arrives (never stored, never relayed, counted up to `MAX_MESSAGE`). After `220` to
STARTTLS it collects the client's raw bytes until the ClientHello is complete, parses it
(`tls.client_hello`), then hands the same bytes to an `ssl.SSLObject` over memory BIOs:
the handshake sees exactly what was parsed. Every read is bounded (`READ_SIZE`), a command
line longer than `MAX_LINE` is refused with `500` and ends the session, and every
connection has an idle timeout. The listener is `smtp.listener`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import Callable
from datetime import UTC, datetime
from enum import Enum

from ..model.session import Direction
from ..tls.client_hello import read_client_hello
from .receive_record import Record

MAX_LINE = 2048  # RFC 5321 §4.5.3.1.4 allows 512 for commands, 1000 for text lines
MAX_MESSAGE = 10 << 20
MAX_COMMANDS = 200
READ_SIZE = 1 << 14  # one socket read, one TLS record's worth


class _State(Enum):
    COMMAND = "command"
    DATA = "data"
    HELLO = "hello"  # collecting the ClientHello
    CLOSED = "closed"


class ReceiverProtocol(asyncio.BufferedProtocol):
    """One client's session: plaintext SMTP, the ClientHello, then SMTP inside TLS.

    A buffered protocol, so that each socket read is at most `READ_SIZE` bytes: what a
    client sends is looked at one bounded read at a time, never gathered first."""

    def __init__(
        self,
        context: ssl.SSLContext,
        hostname: str,
        idle: float,
        done: Callable[[ReceiverProtocol, Record], None],
    ) -> None:
        self._context, self._hostname, self._idle, self._done = context, hostname, idle, done
        self._transport: asyncio.Transport | None = None
        self._record: Record | None = None
        self._state = _State.COMMAND
        self._buffer = bytearray()
        self._tls: ssl.SSLObject | None = None
        self._incoming, self._outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self._timer: asyncio.TimerHandle | None = None
        self._commands = 0
        self._over = False
        self._read = bytearray(READ_SIZE)
        self._last = time.monotonic()

    # asyncio.BufferedProtocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        peer = transport.get_extra_info("peername") or ("?", 0)
        self._record = Record(address=str(peer[0]), port=int(peer[1]), connected_at=_now())
        self._touch()
        self._reply(f"220 {self._hostname} ESMTP starttls-check receive mode")

    def get_buffer(self, sizehint: int) -> memoryview:
        return memoryview(self._read)

    def buffer_updated(self, nbytes: int) -> None:
        self.data_received(bytes(self._read[:nbytes]))

    def data_received(self, data: bytes) -> None:
        """Bytes from the client, at most `READ_SIZE` of them."""
        if self._over:
            return
        self._last = time.monotonic()
        self._touch()
        if self._state is _State.HELLO:
            self._buffer += data
            self._hello_step()
        elif self._tls is not None:
            self._incoming.write(data)
            self._read_tls()
        else:
            self._buffer += data
            self._lines()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._over and self._record is not None and self._handshaking():
            self._record.handshake_error = self._dropped_in_handshake(exc)
            self._record.log(Direction.EVENT, self._record.handshake_error)
        self._finish("client")

    def _handshaking(self) -> bool:
        return self._state is _State.HELLO or (
            self._tls is not None and self._record is not None and not self._record.tls_version
        )

    def _dropped_in_handshake(self, exc: Exception | None) -> str:
        how = "reset the connection" if exc is not None else "closed the connection"
        if self._state is not _State.HELLO:
            return f"{how} during the TLS handshake, after its ClientHello"
        if not self._buffer:
            return f"{how} after 220 to STARTTLS, before sending a ClientHello"
        return f"{how} during its ClientHello, after {len(self._buffer)} bytes of it"

    # the SMTP dialogue

    def _lines(self) -> None:
        while self._state in (_State.COMMAND, _State.DATA):
            if self._state is _State.COMMAND:
                end = self._buffer.find(b"\n", 0, MAX_LINE)  # a line is at most MAX_LINE
                if end < 0 and len(self._buffer) >= MAX_LINE:
                    self._refuse_long_line()
                    return
            else:
                end = self._buffer.find(b"\n")
            if end < 0:
                if self._state is _State.DATA and len(self._buffer) > MAX_LINE:
                    self._count(len(self._buffer))  # a long data line: count it, keep nothing
                    self._buffer.clear()
                return
            line = bytes(self._buffer[: end + 1])
            del self._buffer[: end + 1]
            if self._state is _State.DATA:
                self._data_line(line)
            else:
                assert self._record is not None
                self._record.log_line(line)
                self._command(line.rstrip(b"\r\n").decode("utf-8", "replace"))

    def _refuse_long_line(self) -> None:
        """RFC 5321 §4.5.3.1.4: `500 Line too long`; the rest of it is never read."""
        assert self._record is not None
        self._record.long_line = len(self._buffer)
        self._buffer.clear()
        self._close_with(f"500 5.5.2 line too long (more than {MAX_LINE} bytes)", "error")

    def _command(self, line: str) -> None:
        assert self._record is not None
        self._commands += 1
        if self._commands > MAX_COMMANDS:
            self._close_with("421 4.7.0 too many commands", "error")
            return
        verb, _, argument = line.partition(" ")
        verb = verb.upper()
        if verb in ("EHLO", "HELO"):
            self._record.ehlo = argument.strip()[:255] or None
            lines = [self._hostname, "PIPELINING", f"SIZE {MAX_MESSAGE}", "8BITMIME"]
            if self._tls is None:
                lines.append("STARTTLS")
            if verb == "HELO":
                lines = lines[:1]
            self._reply("\r\n".join([*(f"250-{x}" for x in lines[:-1]), f"250 {lines[-1]}"]))
        elif verb == "STARTTLS" and self._tls is None:
            self._record.starttls = True
            self._reply("220 2.0.0 ready to start TLS")
            self._state = _State.HELLO
            self._hello_step()  # bytes pipelined after STARTTLS count as the hello's start
        elif verb == "STARTTLS":
            self._reply("554 5.5.1 Error: TLS already active")  # Postfix's words
        elif verb == "MAIL":
            if self._record.message_sent:
                self._reply("452 4.5.3 one message per connection")
                return
            sender = argument[5:] if argument[:5].upper() == "FROM:" else argument
            self._record.mail_from = _reverse_path(sender)
            self._record.mail_over_tls |= self._tls is not None
            self._record.recipients.clear()
            self._reply("250 2.1.0 ok")
        elif verb in ("RCPT", "DATA") and self._record.message_sent:
            self._reply("452 4.5.3 one message per connection")
        elif verb == "RCPT":
            if self._record.mail_from is None:
                self._reply("503 5.5.1 MAIL first")
                return
            self._record.recipients.append(argument[3:].strip()[:300])
            self._reply("250 2.1.5 ok, any recipient")
        elif verb == "DATA":
            if not self._record.recipients:
                self._reply("503 5.5.1 RCPT first")
                return
            self._record.message_size = 0
            self._state = _State.DATA
            self._reply("354 end data with <CR><LF>.<CR><LF>")
        elif verb in ("RSET", "NOOP"):
            if verb == "RSET":
                self._record.mail_from = None
                self._record.recipients.clear()
            self._reply("250 2.0.0 ok")
        elif verb == "QUIT":
            self._close_with("221 2.0.0 bye", "quit")
        else:
            self._reply("502 5.5.1 command not implemented")

    def _data_line(self, line: bytes) -> None:
        assert self._record is not None
        if line in (b".\r\n", b".\n"):
            self._state = _State.COMMAND
            self._record.log(Direction.EVENT, f"message: {self._record.message_size} bytes")
            if self._record.message_size > MAX_MESSAGE:
                self._reply("552 5.3.4 message too big (and discarded)")
                return
            self._record.message_sent = True
            self._record.message_over_tls = self._tls is not None
            self._reply("250 2.0.0 accepted and discarded")
            return
        self._count(len(line))

    def _count(self, size: int) -> None:
        assert self._record is not None
        self._record.message_size = min(self._record.message_size + size, MAX_MESSAGE + 1)

    # TLS

    def _hello_step(self) -> None:
        assert self._record is not None
        result = read_client_hello(bytes(self._buffer))
        if not result.complete:
            if len(self._buffer) > 1 << 17:
                self._record.hello_error = "no complete ClientHello"
                self._record.log(Direction.EVENT, "ClientHello: no complete ClientHello")
                self._abort()
            return
        self._record.hello, self._record.hello_error = result.offer, result.error
        self._record.log(Direction.EVENT, f"ClientHello: {result.error or 'read'}")
        if result.error is not None:
            self._abort()  # not TLS: no reply can be understood, so none is sent
            return
        self._tls = self._context.wrap_bio(self._incoming, self._outgoing, server_side=True)
        self._incoming.write(bytes(self._buffer))
        self._buffer.clear()
        self._state = _State.COMMAND
        self._handshake()

    def _handshake(self) -> None:
        assert self._tls is not None
        assert self._record is not None
        try:
            self._tls.do_handshake()
        except ssl.SSLWantReadError:
            self._flush()
            return
        except (ssl.SSLError, OSError) as exc:
            self._flush()  # the alert, so the client learns why
            self._record.handshake_error = _ssl_reason(exc)
            self._record.log(Direction.EVENT, f"TLS handshake failed: {_ssl_reason(exc)}")
            self._abort()
            return
        self._record.tls_version = self._tls.version()
        cipher = self._tls.cipher()
        self._record.cipher = cipher[0] if cipher else None
        self._record.log(Direction.EVENT, f"TLS: {self._record.tls_version} {self._record.cipher}")
        self._flush()
        self._read_tls()

    def _read_tls(self) -> None:
        assert self._tls is not None
        assert self._record is not None
        if self._record.tls_version is None:
            self._handshake()
            return
        while not self._over:
            try:
                chunk = self._tls.read(READ_SIZE)
            except ssl.SSLWantReadError:
                break
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                self._abort("client")
                return
            except ssl.SSLError as exc:
                self._record.handshake_error = self._record.handshake_error or _ssl_reason(exc)
                self._record.log(Direction.EVENT, f"TLS error: {_ssl_reason(exc)}")
                self._abort()
                return
            if not chunk:
                break
            self._buffer += chunk
            self._lines()
        self._flush()

    def _flush(self) -> None:
        data = self._outgoing.read()
        if data and self._transport is not None and not self._transport.is_closing():
            self._transport.write(data)

    # replies and endings

    def _reply(self, text: str) -> None:
        if self._record is not None:
            for line in text.split("\r\n"):
                self._record.log(Direction.SENT, line)
        data = (text + "\r\n").encode()
        if self._tls is not None:
            with contextlib.suppress(ssl.SSLError):
                self._tls.write(data)
            self._flush()
        elif self._transport is not None and not self._transport.is_closing():
            self._transport.write(data)

    def _close_with(self, text: str, reason: str) -> None:
        self._reply(text)
        self._finish(reason)
        if self._transport is not None:
            self._transport.close()

    def _abort(self, reason: str = "error") -> None:
        self._finish(reason)
        if self._transport is not None:
            self._transport.close()

    def timeout(self) -> None:
        """The idle timeout: the client said nothing for too long. Mid-handshake an SMTP
        reply would be noise to the client's TLS stack, so the connection just closes."""
        if self._handshaking():
            self._abort("timeout")
        else:
            self._close_with("421 4.4.2 idle timeout", "timeout")

    def stop(self) -> None:
        """The listener's end (N clients reached, or its deadline): close this session."""
        if self._handshaking():
            self._abort("limit")
        else:
            self._close_with("421 4.3.2 receive mode ending", "limit")

    def _touch(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = asyncio.get_running_loop().call_later(self._idle, self.timeout)

    def _finish(self, reason: str) -> None:
        if self._over or self._record is None:
            return
        self._over = True
        self._state = _State.CLOSED
        if self._timer is not None:
            self._timer.cancel()
        self._record.closed_by = reason
        self._record.log(Direction.EVENT, f"closed ({reason})")
        self._record.silent_ms = (time.monotonic() - self._last) * 1000
        self._done(self, self._record)


def _reverse_path(argument: str) -> str:
    """`<a@b.example>` of `<a@b.example> SIZE=123 BODY=8BITMIME`: the parameters are not
    the sender (RFC 5321 §4.1.2)."""
    text = argument.strip()
    end = text.find(">") + 1 if text.startswith("<") else 0
    return (text[:end] if end else text.partition(" ")[0])[:300]


def _ssl_reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    return str(reason or exc)[:300]


def _now() -> datetime:
    return datetime.now(UTC)
