"""The sans-I/O SMTP core: ReplyReader (bytes → replies) and SmtpClient (replies → commands).

Everything here is pure: recorded bytes are fed whole and one byte at a time.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from starttls_check.model.session import Reply
from starttls_check.smtp.sansio import (
    MAX_LINE_BYTES,
    MAX_UNREAD_BYTES,
    Close,
    RemoteProtocolError,
    ReplyReader,
    Send,
    SmtpClient,
    StartTls,
    State,
    capability_keyword,
    format_reply,
    parse_capabilities,
)

# Recorded shapes of real replies (names and addresses changed).
POSTFIX_GREETING = b"220 mx.example.org ESMTP Postfix (Debian/GNU)\r\n"
POSTFIX_EHLO = (
    b"250-mx.example.org\r\n"
    b"250-PIPELINING\r\n"
    b"250-SIZE 10240000\r\n"
    b"250-VRFY\r\n"
    b"250-ETRN\r\n"
    b"250-STARTTLS\r\n"
    b"250-ENHANCEDSTATUSCODES\r\n"
    b"250-8BITMIME\r\n"
    b"250-DSN\r\n"
    b"250-SMTPUTF8\r\n"
    b"250 CHUNKING\r\n"
)
MICROSOFT_GREETING = (
    b"220 AM0PR01MB1234.eurprd01.prod.exchangelabs.com Microsoft ESMTP MAIL Service ready"
    b" at Mon, 1 Jan 2024 12:00:00 +0000 [08DC0A1B2C3D4E5F]\r\n"
)
MICROSOFT_EHLO = (
    b"250-AM0PR01MB1234.eurprd01.prod.exchangelabs.com Hello [192.0.2.1]\r\n"
    b"250-SIZE 157286400\r\n"
    b"250-PIPELINING\r\n"
    b"250-DSN\r\n"
    b"250-ENHANCEDSTATUSCODES\r\n"
    b"250-STARTTLS\r\n"
    b"250-8BITMIME\r\n"
    b"250-BINARYMIME\r\n"
    b"250-CHUNKING\r\n"
    b"250 SMTPUTF8\r\n"
)
POSTSCREEN_MULTILINE_GREETING = b"220-mx.example.org ESMTP\r\n220 mx.example.org ESMTP Postfix\r\n"

POSTFIX_EHLO_REPLY = Reply(
    code=250,
    lines=(
        "mx.example.org",
        "PIPELINING",
        "SIZE 10240000",
        "VRFY",
        "ETRN",
        "STARTTLS",
        "ENHANCEDSTATUSCODES",
        "8BITMIME",
        "DSN",
        "SMTPUTF8",
        "CHUNKING",
    ),
)


def drain(reader: ReplyReader) -> list[Reply]:
    replies = []
    while (reply := reader.next_reply()) is not None:
        replies.append(reply)
    return replies


def feed_whole(data: bytes, reader: ReplyReader | None = None) -> list[Reply]:
    reader = reader or ReplyReader()
    reader.feed(data)
    return drain(reader)


def feed_bytewise(data: bytes, reader: ReplyReader | None = None) -> list[Reply]:
    reader = reader or ReplyReader()
    replies = []
    for i in range(len(data)):
        reader.feed(data[i : i + 1])
        replies += drain(reader)
    return replies


FEEDERS = [pytest.param(feed_whole, id="whole"), pytest.param(feed_bytewise, id="bytewise")]


# --- ReplyReader: valid input ----------------------------------------------------------------

VALID = [
    pytest.param(b"250 ok\r\n", [Reply(code=250, lines=("ok",))], id="single-line"),
    pytest.param(b"250-a\r\n250 b\r\n", [Reply(code=250, lines=("a", "b"))], id="multi-line"),
    pytest.param(b"250 ok\n", [Reply(code=250, lines=("ok",))], id="bare-lf"),
    pytest.param(b"250-a\n250 b\r\n", [Reply(code=250, lines=("a", "b"))], id="mixed-line-ends"),
    pytest.param(b"250\r\n", [Reply(code=250, lines=("",))], id="code-only"),
    pytest.param(b"250 \r\n", [Reply(code=250, lines=("",))], id="code-and-space"),
    pytest.param(b"250-\r\n250 end\r\n", [Reply(code=250, lines=("", "end"))], id="empty-cont"),
    pytest.param(
        b"220 one\r\n250 two\r\n",
        [Reply(code=220, lines=("one",)), Reply(code=250, lines=("two",))],
        id="two-replies",
    ),
    pytest.param(b"354 a  b \r\n", [Reply(code=354, lines=("a  b ",))], id="spaces-kept"),
    pytest.param(b"250 a\rb\r\n", [Reply(code=250, lines=("a\rb",))], id="inner-cr-kept"),
    pytest.param(b"599 x\r\n", [Reply(code=599, lines=("x",))], id="code-599"),
    pytest.param(b"200 x\r\n", [Reply(code=200, lines=("x",))], id="code-200"),
    pytest.param(
        POSTFIX_GREETING,
        [Reply(code=220, lines=("mx.example.org ESMTP Postfix (Debian/GNU)",))],
        id="postfix-greeting",
    ),
    pytest.param(POSTFIX_EHLO, [POSTFIX_EHLO_REPLY], id="postfix-ehlo"),
    pytest.param(
        POSTSCREEN_MULTILINE_GREETING,
        [Reply(code=220, lines=("mx.example.org ESMTP", "mx.example.org ESMTP Postfix"))],
        id="postscreen-multiline-greeting",
    ),
    pytest.param(
        MICROSOFT_GREETING,
        [
            Reply(
                code=220,
                lines=(
                    "AM0PR01MB1234.eurprd01.prod.exchangelabs.com Microsoft ESMTP MAIL Service"
                    " ready at Mon, 1 Jan 2024 12:00:00 +0000 [08DC0A1B2C3D4E5F]",
                ),
            )
        ],
        id="microsoft-greeting",
    ),
    pytest.param("250 Grüße\r\n".encode(), [Reply(code=250, lines=("Grüße",))], id="utf-8-decoded"),
    pytest.param(
        b"250 caf\xe9 \xff\r\n",
        [Reply(code=250, lines=("caf\\xe9 \\xff",))],
        id="invalid-8bit-backslashreplace",
    ),
    pytest.param(b"250 a\x00b\r\n", [Reply(code=250, lines=("a\x00b",))], id="nul-kept"),
    # Accepted as Postfix's client accepts them (smtp_chat.c): the last line's code decides,
    # and a line without a code continues the reply. smtp/lint.py names each defect.
    pytest.param(b"250-a\r\n251 b\r\n", [Reply(code=251, lines=("a", "b"))], id="last-code-wins"),
    pytest.param(
        b"250-a\r\n251-SIZE 1\r\n250 b\r\n",
        [Reply(code=250, lines=("a", "SIZE 1", "b"))],
        id="mixed-codes",
    ),
    pytest.param(b"250-a\r\n\r\n250 b\r\n", [Reply(code=250, lines=("a", "", "b"))], id="empty"),
    pytest.param(b"250-a\r\n \t\r\n250 b\n", [Reply(code=250, lines=("a", "", "b"))], id="blank"),
    pytest.param(b"\r\n220 hi\r\n", [Reply(code=220, lines=("", "hi"))], id="empty-first"),
]


@pytest.mark.parametrize("feed", FEEDERS)
@pytest.mark.parametrize(("data", "expected"), VALID)
def test_reader_parses_valid_replies(feed, data: bytes, expected: list[Reply]) -> None:
    assert feed(data) == expected


@pytest.mark.parametrize("feed", FEEDERS)
def test_reader_microsoft_session_in_one_stream(feed) -> None:
    replies = feed(MICROSOFT_GREETING + MICROSOFT_EHLO)
    assert [r.code for r in replies] == [220, 250]
    assert replies[1].lines[0] == "AM0PR01MB1234.eurprd01.prod.exchangelabs.com Hello [192.0.2.1]"
    assert "STARTTLS" in replies[1].lines
    assert len(replies[1].lines) == 10


def test_reader_holds_partial_reply_until_final_line() -> None:
    reader = ReplyReader()
    reader.feed(b"250-a\r\n250-b\r\n")
    assert reader.next_reply() is None
    reader.feed(b"250 c")
    assert reader.next_reply() is None
    reader.feed(b"\r\n")
    assert reader.next_reply() == Reply(code=250, lines=("a", "b", "c"))
    assert reader.next_reply() is None
    assert reader.buffered_bytes == 0


def test_reader_empty_lines_alone_are_no_reply_yet() -> None:
    reader = ReplyReader()
    reader.feed(b"\r\n\n\r\n")
    assert reader.next_reply() is None
    reader.feed(b"220 late\r\n")
    assert reader.next_reply() == Reply(code=220, lines=("", "", "", "late"))


@pytest.mark.parametrize("bytewise", [False, True], ids=["whole", "bytewise"])
def test_reader_keeps_each_line_as_received(bytewise: bool) -> None:
    wire = b"250-a\n251-\xff x\r\n\r\n250 b\r\r\n"
    reader = ReplyReader()
    for piece in [wire[i : i + 1] for i in range(len(wire))] if bytewise else [wire]:
        reader.feed(piece)
    received = reader.next_received()
    assert received is not None
    assert received.raw == (b"250-a\n", b"251-\xff x\r\n", b"\r\n", b"250 b\r\r\n")
    assert received.reply == Reply(code=250, lines=("a", "\\xff x", "", "b\r"))


def test_reader_empty_feed_is_harmless() -> None:
    reader = ReplyReader()
    reader.feed(b"")
    assert reader.next_reply() is None
    assert reader.buffered_bytes == 0


# --- ReplyReader: invalid input --------------------------------------------------------------

INVALID = [
    pytest.param(b"abc hello\r\n", "not an SMTP reply", id="letters"),
    pytest.param(b"25x ok\r\n", "not an SMTP reply", id="non-digit-third"),
    pytest.param(b"25\r\n", "not an SMTP reply", id="short-code"),
    pytest.param(b"150 x\r\n", "not an SMTP reply", id="first-digit-1"),
    pytest.param(b"650 x\r\n", "not an SMTP reply", id="first-digit-6"),
    pytest.param(b"050 x\r\n", "not an SMTP reply", id="first-digit-0"),
    pytest.param(b"\xef\xbc\x92\xef\xbc\x95\xef\xbc\x90 x\r\n", "not an SMTP", id="fullwidth"),
    pytest.param(b"250_x\r\n", "bad separator", id="underscore-separator"),
    pytest.param(b"2500 x\r\n", "bad separator", id="four-digit-code"),
    pytest.param(b"250\tx\r\n", "bad separator", id="tab-separator"),
    pytest.param(b"SSH-2.0-OpenSSH_9.2\r\n", "not an SMTP reply", id="ssh-banner"),
    pytest.param(b"HTTP/1.1 400 Bad Request\r\n", "not an SMTP reply", id="http"),
]


@pytest.mark.parametrize("feed", FEEDERS)
@pytest.mark.parametrize(("data", "message"), INVALID)
def test_reader_rejects_malformed_lines(feed, data: bytes, message: str) -> None:
    with pytest.raises(RemoteProtocolError, match=message):
        feed(data)


LINE_LIMIT = 64


@pytest.mark.parametrize(
    ("data", "ok"),
    [
        pytest.param(b"250 " + b"x" * (LINE_LIMIT - 6) + b"\r\n", True, id="exactly-max-crlf"),
        pytest.param(b"250 " + b"x" * (LINE_LIMIT - 5) + b"\r\n", False, id="max+1-crlf"),
        pytest.param(b"250 " + b"x" * (LINE_LIMIT - 5) + b"\n", True, id="exactly-max-lf"),
        pytest.param(b"250 " + b"x" * (LINE_LIMIT - 4), True, id="unterminated-at-max"),
        pytest.param(b"250 " + b"x" * (LINE_LIMIT - 3), False, id="unterminated-max+1"),
    ],
)
@pytest.mark.parametrize("feed", FEEDERS)
def test_reader_line_length_limit(feed, data: bytes, ok: bool) -> None:
    reader = ReplyReader(max_line=LINE_LIMIT)
    if ok:
        feed(data, reader)
    else:
        with pytest.raises(RemoteProtocolError, match=f"longer than {LINE_LIMIT} bytes"):
            feed(data, reader)


def test_reader_default_line_limit_with_newline() -> None:
    reader = ReplyReader()
    with pytest.raises(RemoteProtocolError, match="line longer"):
        reader.feed(b"250 " + b"x" * MAX_LINE_BYTES + b"\r\n")


def test_reader_overlong_line_after_complete_line_in_one_chunk() -> None:
    reader = ReplyReader(max_line=LINE_LIMIT)
    with pytest.raises(RemoteProtocolError, match="line longer"):
        reader.feed(b"250-ok\r\n250 " + b"y" * 100 + b"\r\n")


def feed_until_error(reader: ReplyReader, chunks: Iterable[bytes]) -> tuple[str, int, int]:
    """Feed until the reader raises: (error message, bytes fed, most bytes ever buffered)."""
    fed = peak = 0
    for chunk in chunks:
        fed += len(chunk)
        try:
            reader.feed(chunk)
        except RemoteProtocolError as exc:
            return str(exc), fed, max(peak, reader.buffered_bytes)
        peak = max(peak, reader.buffered_bytes)
    pytest.fail("the reader accepted everything")


def test_reader_endless_line_raises_before_buffering_it() -> None:
    """1 MiB without a newline in 4 KiB chunks: bounded buffer, error long before the end."""
    chunk = b"2" * 4096
    message, fed, peak = feed_until_error(ReplyReader(), [chunk] * 256)
    assert "line longer" in message
    assert fed < 1024 * 1024
    assert peak <= MAX_LINE_BYTES + len(chunk)


def test_reader_endless_line_bytewise_stays_bounded() -> None:
    message, fed, peak = feed_until_error(ReplyReader(max_line=LINE_LIMIT), [b"x"] * 1000)
    assert "line longer" in message
    assert fed == LINE_LIMIT + 1
    assert peak == LINE_LIMIT + 1


def test_reader_endless_continuation_lines_raise() -> None:
    line = b"250-more\r\n"
    message, fed, peak = feed_until_error(ReplyReader(), [line] * 10_000)
    assert "longer than 200 lines" in message
    assert fed == 201 * len(line)
    assert peak <= 201 * len(line)


def test_reader_unsolicited_replies_are_bounded() -> None:
    line = b"250 " + b"z" * 1000 + b"\r\n"
    message, _, peak = feed_until_error(ReplyReader(), [line] * 1000)
    assert "unsolicited" in message
    assert peak <= MAX_UNREAD_BYTES + len(line)


@pytest.mark.parametrize("feed", FEEDERS)
@pytest.mark.parametrize(("lines", "ok"), [(3, True), (4, False)])
def test_reader_line_count_limit(feed, lines: int, ok: bool) -> None:
    data = b"".join(b"250-x\r\n" for _ in range(lines - 1)) + b"250 end\r\n"
    reader = ReplyReader(max_lines=3)
    if ok:
        assert feed(data, reader) == [Reply(code=250, lines=("x",) * (lines - 1) + ("end",))]
    else:
        with pytest.raises(RemoteProtocolError, match="longer than 3 lines"):
            feed(data, reader)


# --- ReplyReader: take_unread ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "take", "unread"),
    [
        pytest.param(b"", 0, b"", id="nothing"),
        pytest.param(b"220 go ahead\r\n", 1, b"", id="clean-220"),
        pytest.param(b"220 go ahead\r\n250 injected\r\n", 1, b"250 injected\r\n", id="injected"),
        pytest.param(b"220 go\r\n250 x\r\n", 0, b"220 go\r\n250 x\r\n", id="none-taken"),
        pytest.param(b"220 go\r\n250-a\r\n250-b\r\n", 1, b"250-a\r\n250-b\r\n", id="partial-reply"),
        pytest.param(b"220 go\r\n250 a\r\nQU", 1, b"250 a\r\nQU", id="reply-and-partial-line"),
        pytest.param(b"220 go\r\n\x16\x03\x01", 1, b"\x16\x03\x01", id="tls-bytes"),
        pytest.param(b"220 go\n250-a\n250 b\n25", 1, b"250-a\n250 b\n25", id="bare-lf-kept"),
    ],
)
@pytest.mark.parametrize("bytewise", [False, True], ids=["whole", "bytewise"])
def test_take_unread_returns_exactly_what_was_not_taken(
    data: bytes, take: int, unread: bytes, bytewise: bool
) -> None:
    reader = ReplyReader()
    for piece in [data[i : i + 1] for i in range(len(data))] if bytewise else [data]:
        reader.feed(piece)
    for _ in range(take):
        assert reader.next_reply() is not None
    assert reader.buffered_bytes == len(unread)
    assert reader.take_unread() == unread
    assert reader.buffered_bytes == 0
    assert reader.next_reply() is None
    assert reader.take_unread() == b""


def test_take_unread_resets_partial_reply_state() -> None:
    """After take_unread a new reply with another code parses: no stale multi-line state."""
    reader = ReplyReader()
    reader.feed(b"250-half a reply\r\n")
    assert reader.take_unread() == b"250-half a reply\r\n"
    reader.feed(b"220 fresh\r\n")
    assert reader.next_reply() == Reply(code=220, lines=("fresh",))


# --- format_reply and properties -------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "wire"),
    [
        (Reply(code=250, lines=("ok",)), b"250 ok\r\n"),
        (Reply(code=250, lines=("a", "b", "c")), b"250-a\r\n250-b\r\n250 c\r\n"),
        (Reply(code=421, lines=("",)), b"421 \r\n"),
        (Reply(code=250, lines=("Grüße",)), "250 Grüße\r\n".encode()),
        (POSTFIX_EHLO_REPLY, POSTFIX_EHLO),
    ],
)
def test_format_reply_round_trip(reply: Reply, wire: bytes) -> None:
    assert format_reply(reply) == wire
    assert feed_whole(wire) == [reply]


@settings(max_examples=200, deadline=None, database=None)
@given(data=st.binary(max_size=600), cuts=st.lists(st.integers(0, 600), max_size=20))
def test_reader_raises_only_remote_protocol_error(data: bytes, cuts: list[int]) -> None:
    reader = ReplyReader(max_line=128, max_lines=5)
    bound = 128 * 6  # a partial line plus the lines of an unfinished reply
    bounds = [0, *sorted(c for c in cuts if c <= len(data)), len(data)]
    try:
        for start, end in pairwise(bounds):
            reader.feed(data[start:end])
            drain(reader)
            assert reader.buffered_bytes <= bound + (end - start)
    except RemoteProtocolError:
        pass


_TEXT = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs",), blacklist_characters="\r\n", min_codepoint=0x20
    ),
    max_size=40,
)
_REPLY = st.builds(
    Reply,
    code=st.integers(200, 599),
    lines=st.lists(_TEXT, min_size=1, max_size=5).map(tuple),
)


@settings(max_examples=200, deadline=None, database=None)
@given(replies=st.lists(_REPLY, min_size=1, max_size=3), data=st.data())
def test_format_then_parse_is_identity(replies: list[Reply], data: st.DataObject) -> None:
    wire = b"".join(format_reply(r) for r in replies)
    cuts = data.draw(st.lists(st.integers(0, len(wire)), max_size=10))
    bounds = [0, *sorted(cuts), len(wire)]
    reader = ReplyReader()
    parsed: list[Reply] = []
    for start, end in pairwise(bounds):
        reader.feed(wire[start:end])
        parsed += drain(reader)
    assert parsed == replies
    assert reader.buffered_bytes == 0


# --- capabilities ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("capability", "keyword"),
    [
        ("SIZE 10240000", "SIZE"),
        ("STARTTLS", "STARTTLS"),
        ("starttls", "STARTTLS"),
        ("StartTLS", "STARTTLS"),
        ("AUTH PLAIN LOGIN", "AUTH"),
        ("X-EXPS=LOGIN", "X-EXPS=LOGIN"),
        ("", ""),
    ],
)
def test_capability_keyword(capability: str, keyword: str) -> None:
    assert capability_keyword(capability) == keyword


@pytest.mark.parametrize(
    ("lines", "capabilities"),
    [
        (("mx.example.org",), ()),
        (("mx.example.org", "PIPELINING", "STARTTLS"), ("PIPELINING", "STARTTLS")),
        (("mx", "  SIZE 100  ", "", "   ", "8BITMIME"), ("SIZE 100", "8BITMIME")),
        (POSTFIX_EHLO_REPLY.lines, POSTFIX_EHLO_REPLY.lines[1:]),
    ],
)
def test_parse_capabilities(lines: tuple[str, ...], capabilities: tuple[str, ...]) -> None:
    assert parse_capabilities(Reply(code=250, lines=lines)) == capabilities


# --- SmtpClient ------------------------------------------------------------------------------

EHLO = Send("EHLO client.example")
HELO = Send("HELO client.example")
QUIT = Send("QUIT")


def r(code: int, *lines: str) -> Reply:
    return Reply(code=code, lines=lines or ("",))


def client_after(*replies: Reply) -> tuple[SmtpClient, list[object]]:
    client = SmtpClient("client.example")
    return client, [client.receive(reply) for reply in replies]


@pytest.mark.parametrize(
    ("greeting", "action", "state"),
    [
        (r(220, "mx ESMTP"), EHLO, State.EHLO),
        (r(421, "busy"), QUIT, State.QUIT),
        (r(554, "no SMTP service here"), QUIT, State.QUIT),
        (r(520, "go away"), QUIT, State.QUIT),
    ],
)
def test_client_greeting(greeting: Reply, action: object, state: State) -> None:
    client, actions = client_after(greeting)
    assert actions == [action]
    assert client.state is state
    assert client.greeting == greeting
    assert client.starttls_offered is None


@pytest.mark.parametrize(
    ("ehlo", "action", "offered", "state"),
    [
        (r(250, "mx", "PIPELINING", "STARTTLS"), Send("STARTTLS"), True, State.STARTTLS),
        (r(250, "mx", "starttls"), Send("STARTTLS"), True, State.STARTTLS),
        (r(250, "mx", "StartTls"), Send("STARTTLS"), True, State.STARTTLS),
        (r(250, "mx", "SIZE 1000", "8BITMIME"), QUIT, False, State.QUIT),
        (r(250, "mx"), QUIT, False, State.QUIT),
        (r(250, "mx", "XSTARTTLS", "STARTTLSX"), QUIT, False, State.QUIT),
        (r(421, "closing"), QUIT, None, State.QUIT),
        (r(451, "later"), QUIT, None, State.QUIT),
    ],
    ids=["upper", "lower", "mixed-case", "without", "name-only", "lookalikes", "421", "451"],
)
def test_client_ehlo(ehlo: Reply, action: object, offered: bool | None, state: State) -> None:
    client, actions = client_after(r(220), ehlo)
    assert actions == [EHLO, action]
    assert client.state is state
    assert client.starttls_offered is offered
    assert client.ehlo_reply == ehlo
    assert client.ehlo_command == "EHLO"


def test_client_records_capabilities() -> None:
    client, _ = client_after(r(220), POSTFIX_EHLO_REPLY)
    assert client.capabilities == POSTFIX_EHLO_REPLY.lines[1:]
    assert client.starttls_offered is True


@pytest.mark.parametrize("code", [500, 502, 550])
@pytest.mark.parametrize(
    ("helo", "offered"), [(r(250, "mx"), False), (r(550, "no"), None), (r(421, "bye"), None)]
)
def test_client_helo_fallback(code: int, helo: Reply, offered: bool | None) -> None:
    client, actions = client_after(r(220), r(code, "unrecognized"))
    assert actions == [EHLO, HELO]
    assert client.state is State.HELO
    assert client.ehlo_command == "HELO"
    assert client.receive(helo) == QUIT
    assert client.state is State.QUIT
    assert client.helo_reply == helo
    assert client.starttls_offered is offered
    assert client.capabilities == ()
    assert client.receive(r(221, "bye")) == Close()
    assert client.state is State.DONE


@pytest.mark.parametrize(
    ("reply", "action", "state"),
    [
        (r(220, "Ready to start TLS"), StartTls(), State.TLS),
        (r(454, "TLS not available due to temporary reason"), QUIT, State.QUIT),
        (r(501, "Syntax error"), QUIT, State.QUIT),
        (r(250, "ok?"), QUIT, State.QUIT),
    ],
)
def test_client_starttls_reply(reply: Reply, action: object, state: State) -> None:
    client, actions = client_after(r(220), r(250, "mx", "STARTTLS"), reply)
    assert actions[-1] == action
    assert client.state is state
    assert client.starttls_reply == reply


def test_client_full_session() -> None:
    client = SmtpClient("client.example")
    assert client.receive(r(220, "mx ESMTP")) == EHLO
    assert client.receive(r(250, "mx", "SIZE 100", "STARTTLS")) == Send("STARTTLS")
    assert client.receive(r(220, "go ahead")) == StartTls()
    assert client.state is State.TLS
    assert client.tls_established() == EHLO
    assert client.state is State.EHLO_TLS
    assert client.receive(r(250, "mx", "SIZE 100", "AUTH PLAIN")) == QUIT
    assert client.capabilities == ("SIZE 100", "STARTTLS")
    assert client.capabilities_after_tls == ("SIZE 100", "AUTH PLAIN")
    assert client.ehlo_tls_reply == r(250, "mx", "SIZE 100", "AUTH PLAIN")
    assert client.state is State.QUIT
    assert client.receive(r(221, "bye")) == Close()
    assert client.state is State.DONE


def test_client_ehlo_in_tls_refused() -> None:
    client, _ = client_after(r(220), r(250, "mx", "STARTTLS"), r(220))
    client.tls_established()
    assert client.receive(r(554, "no")) == QUIT
    assert client.capabilities_after_tls is None
    assert client.ehlo_tls_reply == r(554, "no")


@pytest.mark.parametrize("quit_reply", [r(221, "bye"), r(500, "what"), r(421, "closing")])
def test_client_any_reply_to_quit_closes(quit_reply: Reply) -> None:
    client, actions = client_after(r(421, "busy"), quit_reply)
    assert actions == [QUIT, Close()]
    assert client.state is State.DONE
    assert client.receive(r(250, "unsolicited")) == Close()


@pytest.mark.parametrize(
    ("after", "blank"),
    [(b"", True), (b"\r\n", True), (b"\r", True), (b"\r\n \r\n", True), (b"\r\n250 x\r\n", False)],
)
def test_unread_is_blank_only_for_empty_lines(after: bytes, blank: bool) -> None:
    reader = ReplyReader()
    reader.feed(b"250 ok\r\n" + after)
    assert reader.next_reply() == Reply(code=250, lines=("ok",))
    assert reader.unread_is_blank() is blank
