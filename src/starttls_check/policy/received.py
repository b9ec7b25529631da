"""`Received:` headers (RFC 5321 §4.4) read as hops: who handed the message to whom, when,
and whether that hop used TLS, in the formats the common MTAs write.

Pure: bytes in, hops out. The standard library's email parser reads the header block;
each header is then unfolded, bounded and matched against the patterns below. A header
records TLS in one of three ways: an explicit version or cipher, a protocol keyword
(RFC 3848: `ESMTPS`, `ESMTPSA`, `UTF8SMTPS`, ...), or nothing at all. "Nothing" is clear
text only for an MTA known to record TLS whenever it is used.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.parser import BytesParser
from email.policy import compat32
from email.utils import parsedate_to_datetime

from ..model.sending import HeaderFormat, Hop, HopTls

MAX_INPUT = 4 << 20  # bytes of header block parsed: a message's headers, not its body
MAX_HOPS = 100  # Received headers analysed; the newest ones, added by the receiving side
MAX_HEADER = 4000  # characters of one unfolded header kept and matched

_SPACE = re.compile(r"\s+")
_KEYWORDS = frozenset({"from", "by", "via", "with", "id", "for"})  # RFC 5321 §4.4
# RFC 3848 and RFC 6531: the protocol names that say the hop was encrypted.
_TLS_PROTOCOLS = frozenset(
    {"ESMTPS", "ESMTPSA", "LMTPS", "LMTPSA", "UTF8SMTPS", "UTF8SMTPSA", "UTF8LMTPS"}
    | {"UTF8LMTPSA", "SMTPS", "HTTPS"}
)
_CLEAR_PROTOCOLS = frozenset({"SMTP", "ESMTP", "ESMTPA", "LMTP", "LMTPA", "UTF8SMTP"})
_CLEAR_PROTOCOLS |= frozenset({"UTF8SMTPA", "MICROSOFT SMTP SERVER"})
_HELO = re.compile(r"\(HELO\s", re.I)
_LOOPBACK = re.compile(r"(?:\[|\(|\s|^)(?:127\.\d+\.\d+\.\d+|::1|IPv6:::1|localhost)(?:\]|\)|\s|$)")

# Explicit TLS details, each MTA's own way; group 1 the version, group 2 the cipher.
_TLS_DETAILS: tuple[re.Pattern[str], ...] = (
    # Postfix: (using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) ...)
    re.compile(r"\(using\s+((?:TLS|SSL)v[\d.]+)\s+with\s+cipher\s+([\w-]+)", re.I),
    # Exim 4.92+: with esmtps (TLS1.3) tls TLS_AES_256_GCM_SHA384
    re.compile(r"\(((?:TLS|SSL)v?[\d.]+)\)\s+tls\s+([\w-]+)", re.I),
    # Exim before 4.92, OpenSMTPD: (TLS1.2:ECDHE-RSA-AES256-GCM-SHA384:256), (TLSv1.3:...:256:NO)
    re.compile(r"\(((?:TLS|SSL)v?[\d.]+):([\w-]+):\d+", re.I),
    # Sendmail, Gmail, Microsoft: (version=TLSv1.2 cipher=...), (version=TLS1_2, cipher=...)
    re.compile(r"version=((?:TLS|SSL)v?[\d._]+),?\s+cipher=([\w-]+)", re.I),
    # Courier: (TLS: TLSv1.3,256bits,TLS_AES_256_GCM_SHA384)
    re.compile(r"TLS:\s*((?:TLS|SSL)v?[\d.]+)(?:/SSLv3)?,\d+bits,([\w-]+)", re.I),
    # qmail's TLS patch: `with ESMTPS (ECDHE-RSA-AES256-GCM-SHA384 encrypted)` (its protocol
    # string, set in tls_init()); older versions and qpsmtpd put the comment first:
    # `with (DHE-RSA-AES256-SHA encrypted) SMTP`. No version is written, only the cipher.
    re.compile(r"with\s+(?:\w+\s+)?\(()([\w-]+)\s+encrypted\)", re.I),
)
# TLS recorded without details.
_TLS_MARKS = re.compile(
    r"\(Google Transport Security\)|with\s+Microsoft SMTP Server\s+\(TLS\)|\(TLS\)", re.I
)

_FORMATS: tuple[tuple[HeaderFormat, re.Pattern[str]], ...] = (
    (
        HeaderFormat.MICROSOFT,
        re.compile(r"Microsoft SMTP Server|with\s+mapi\b|\.outlook\.com", re.I),
    ),
    (
        HeaderFormat.GMAIL,
        re.compile(
            # mx.google.com, smtp.gmail.com, smtp-relay.gmail.com (Workspace relay) and
            # Google's internal hops, named by an IPv6 address in 2002::/16
            r"by\s+(?:(?:[\w-]+\.)+(?:google|gmail|googlemail)\.com|2002:[0-9a-f:]+)\s"
            r"|Google Transport Security",
            re.I,
        ),
    ),
    (HeaderFormat.EXIM, re.compile(r"\(Exim\s+[\d.]", re.I)),
    (HeaderFormat.POSTFIX, re.compile(r"\(Postfix\b", re.I)),
    (HeaderFormat.OPENSMTPD, re.compile(r"\(OpenSMTPD\)", re.I)),
    (HeaderFormat.SENDMAIL, re.compile(r"\(\d+\.\d+\.\d+(?:/[\w.+-]+)*\)\s+with\s", re.I)),
    (
        HeaderFormat.QMAIL,
        re.compile(
            r"\(qmail\s+\d+\s+invoked|\(HELO\s|with\s+(?:\w+\s+)?\([\w-]+\s+encrypted\)", re.I
        ),
    ),
    (HeaderFormat.COURIER, re.compile(r"Courier|\(AUTH:\s|\bTLS:\s", re.I)),
)
# Formats known to write a TLS keyword or details whenever TLS was used on the hop.
_RECORDS_TLS = frozenset(HeaderFormat) - {HeaderFormat.UNKNOWN}


@dataclass(frozen=True, slots=True, kw_only=True)
class HeaderBlock:
    """What the input's header block holds, as the parser read it."""

    subject: str | None
    received: tuple[str, ...]  # newest first (as written), unfolded
    fields: int  # header fields of any name; 0: the input does not begin with a header
    size: int  # bytes read, at most MAX_INPUT


def received_headers(data: bytes) -> HeaderBlock:
    """The message's Subject and its Received headers; non-UTF-8 bytes become U+FFFD.

    The parser takes a first line that is not `name: value` (binary data, a body saved
    alone) as the start of the body, so such input has no fields at all."""
    data = data[:MAX_INPUT]
    # Editors and save dialogs add a byte-order mark or blank lines before the header;
    # the parser would read either as the start of the body.
    start = data.removeprefix(b"\xef\xbb\xbf").lstrip(b"\r\n")
    message = BytesParser(policy=compat32).parsebytes(start, headersonly=True)
    subject = message.get("Subject")
    return HeaderBlock(
        subject=_text(subject) if subject is not None else None,
        received=tuple(_text(v) for v in message.get_all("Received") or ()),
        fields=len(message),
        size=len(data),
    )


def _text(value: object) -> str:
    # compat32 keeps undecodable bytes as surrogate escapes (or a Header object).
    text = str(value).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return _SPACE.sub(" ", text).strip()


def hops(headers: Sequence[str]) -> tuple[tuple[Hop, ...], int]:
    """The hops, oldest first, and how many (oldest) headers were beyond `MAX_HOPS`."""
    kept = list(headers[:MAX_HOPS])
    kept.reverse()
    return tuple(parse_hop(n, h) for n, h in enumerate(kept, 1)), max(0, len(headers) - MAX_HOPS)


def parse_hop(number: int, header: str) -> Hop:
    """One unfolded Received header as a hop."""
    header = _SPACE.sub(" ", header).strip()[:MAX_HEADER]
    clauses, _, date_text = header.rpartition(";")
    if not clauses:  # no date: the whole header is clauses
        clauses, date_text = date_text, ""
    clauses = clauses.strip()
    parts = _clauses(clauses)
    from_host = _from_host(parts.get("from"))
    protocol = _protocol(parts.get("with"))
    fmt = header_format(clauses)
    tls, version, cipher = tls_state(clauses, fmt, protocol, has_from=from_host is not None)
    by_words = [t for t in parts.get("by", ()) if not t.startswith("(")]
    return Hop(
        number=number,
        from_host=from_host,
        by_host=by_words[0] if by_words else None,
        protocol=protocol,
        received_at=_date(date_text),
        date_text=date_text.strip() or None,
        format=fmt,
        tls=tls,
        tls_version=version,
        cipher=cipher,
        local=_is_local(from_host, clauses),
        header=header,
    )


def _tokens(text: str) -> list[str]:
    """Words and parenthesised comments (nested, RFC 5322 §3.2.2); an unclosed comment
    runs to the end."""
    tokens: list[str] = []
    word: list[str] = []
    depth = 0
    for char in text:
        if depth == 0 and char.isspace():
            if word:
                tokens.append("".join(word))
                word = []
            continue
        if char == "(" and depth == 0 and word:
            tokens.append("".join(word))
            word = []
        word.append(char)
        if char == "(":
            depth += 1
        elif char == ")" and depth:
            depth -= 1
            if depth == 0:
                tokens.append("".join(word))
                word = []
    if word:
        tokens.append("".join(word))
    return tokens


def _clauses(text: str) -> dict[str, list[str]]:
    """Keyword -> the tokens of its clause (the first occurrence of each keyword)."""
    result: dict[str, list[str]] = {}
    current: list[str] | None = None
    for token in _tokens(text):
        keyword = token.lower()
        if keyword in _KEYWORDS and keyword not in result:
            current = result[keyword] = []
        elif current is not None:
            current.append(token)
    return result


def _from_host(tokens: list[str] | None) -> str | None:
    """The name the sender gave and, if written, the comment with its rDNS and address."""
    if not tokens:
        return None
    if len(tokens) > 1 and tokens[1].startswith("(") and not tokens[0].startswith("("):
        # qmail writes the HELO name and the address in two comments (received.c):
        # `from HOST (HELO name) (IP)`; the second one is where the address is.
        if len(tokens) > 2 and _HELO.match(tokens[1]) and tokens[2].startswith("("):
            return " ".join(tokens[:3])
        return f"{tokens[0]} {tokens[1]}"
    return tokens[0]


def _protocol(tokens: list[str] | None) -> str | None:
    words = [t for t in tokens or () if not t.startswith("(")]
    if not words:
        return None
    if [w.lower() for w in words[:3]] == ["microsoft", "smtp", "server"]:
        return " ".join(words[:3])
    return words[0]


def header_format(clauses: str) -> HeaderFormat:
    """The MTA whose format the header's clauses are in, or unknown."""
    for fmt, pattern in _FORMATS:
        if pattern.search(clauses):
            return fmt
    return HeaderFormat.UNKNOWN


def tls_state(
    clauses: str, fmt: HeaderFormat, protocol: str | None, *, has_from: bool
) -> tuple[HopTls, str | None, str | None]:
    """Used (with version and cipher where recorded), not used, or not recorded."""
    for pattern in _TLS_DETAILS:
        match = pattern.search(clauses)
        if match:
            return HopTls.USED, _version(match.group(1)), match.group(2)
    if _TLS_MARKS.search(clauses):
        return HopTls.USED, None, None
    name = (protocol or "").upper()
    if name in _TLS_PROTOCOLS:
        return HopTls.USED, None, None
    if name in _CLEAR_PROTOCOLS and fmt in _RECORDS_TLS and has_from:
        return HopTls.NOT_USED, None, None
    return HopTls.NOT_RECORDED, None, None


def _version(text: str) -> str | None:
    """TLS1_2, TLS1.2, TLSv1.2 -> TLSv1.2 (Python's names, as in the domain reports)."""
    if not text:
        return None
    match = re.fullmatch(r"(TLS|SSL)v?(\d)(?:[._](\d))?", text, re.I)
    if not match:
        return text
    family, major, minor = match.group(1).upper(), match.group(2), match.group(3)
    if family == "SSL":
        return f"SSLv{major}"
    return f"TLSv{major}" if minor in (None, "0") else f"TLSv{major}.{minor}"


def _date(text: str) -> datetime | None:
    text = text.strip()
    if not text:
        return None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # RFC 5322 §3.3: "-0000" means the zone is unknown; read as UTC
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


def _is_local(from_host: str | None, clauses: str) -> bool:
    if from_host is None:
        return True
    return bool(_LOOPBACK.search(from_host)) or bool(re.search(r"invoked by uid", clauses, re.I))
