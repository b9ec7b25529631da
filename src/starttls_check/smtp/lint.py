"""What was wrong with a reply that was accepted anyway: one `ReplyDefect` per kind.

The reader (sansio.py) accepts these as Postfix's SMTP client does, so the session goes on
and the verdict is a sender's verdict; each defect is still named, with its lines, so the
server's owner can fix it before a stricter client trips over it. Pure: lines in, defects
out. Line numbers count from 1 within the reply.

What Postfix's client does with each (smtp_chat.c `smtp_chat_resp`, smtp_stream.c
`smtp_get`, smtp_proto.c `smtp_helo`):
- mixed codes: only the last line's code is read; the others are never compared.
- bare LF: `smtp_get` ends a line at LF and drops any CRs before it.
- empty line: no three digits, so it is read as one more line of the reply.
- empty EHLO line (`250-` alone): the EHLO parser finds no keyword on it and skips it.
- a line over 512 octets: read whole up to `line_length_limit` (2048 by default), which is
  also our hard limit; only longer lines are cut (Postfix) or end the session (here).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..model.session import DefectKind, ReplyDefect
from .sansio import parse_reply_line

RFC_REPLY_LINE = 512  # octets, CRLF included (RFC 5321 §4.5.3.1.5)


def reply_defects(
    reply: str, raw: Sequence[bytes], *, smtp: bool = True, ehlo: bool = False
) -> list[ReplyDefect]:
    """Every defect of one reply, as received; `reply` names whose reply it was.

    `smtp` is false for IMAP and POP3, whose lines carry no codes: only their line
    endings are judged. `ehlo` adds the EHLO reply's own grammar (RFC 5321 §4.1.1.1).
    """
    found = [_bare_lf(raw)]
    if smtp:
        found += [_long_lines(raw), _empty_lines(raw, ehlo=ehlo), _mixed_codes(raw)]
    return [
        ReplyDefect(reply=reply, kind=kind, lines=lines, detail=detail)
        for kind, lines, detail in (f for f in found if f is not None)
    ]


_Found = tuple[DefectKind, tuple[int, ...], str] | None


def _numbers(lines: Sequence[int]) -> str:
    word = "line" if len(lines) == 1 else "lines"
    shown = ", ".join(str(n) for n in lines[:10])
    more = f" and {len(lines) - 10} more" if len(lines) > 10 else ""
    return f"{word} {shown}{more}"


def _bare_lf(raw: Sequence[bytes]) -> _Found:
    lines = tuple(n for n, line in enumerate(raw, 1) if not line.endswith(b"\r\n"))
    if not lines:
        return None
    detail = f"{_numbers(lines)}: a bare LF ends the line, without CR (RFC 5321 §2.3.8)"
    return DefectKind.BARE_LF, lines, detail


def _long_lines(raw: Sequence[bytes]) -> _Found:
    # Counted as if it had ended in CRLF, so a bare-LF line is judged by the same bound.
    sizes = {n: len(line.rstrip(b"\r\n")) + 2 for n, line in enumerate(raw, 1)}
    lines = tuple(n for n, size in sizes.items() if size > RFC_REPLY_LINE)
    if not lines:
        return None
    longest = max(sizes[n] for n in lines)
    detail = (
        f"{_numbers(lines)}: longer than {RFC_REPLY_LINE} octets with CRLF (the longest "
        f"{longest}; RFC 5321 §4.5.3.1.5)"
    )
    return DefectKind.LONG_LINE, lines, detail


def _empty_lines(raw: Sequence[bytes], *, ehlo: bool) -> _Found:
    empty = tuple(n for n, line in enumerate(raw, 1) if not line.strip())
    # RFC 5321 §4.1.1.1: every EHLO line after the first names an extension keyword.
    bare = tuple(
        n
        for n, line in enumerate(raw, 1)
        if ehlo and n > 1 and line.strip() and not parse_reply_line(line)[2].strip()
    )
    if not empty and not bare:
        return None
    parts = [f"{_numbers(empty)}: empty, no reply code"] if empty else []
    parts += [f"{_numbers(bare)}: a code and no extension keyword"] if bare else []
    return DefectKind.EMPTY_LINE, tuple(sorted(empty + bare)), "; ".join(parts)


def _mixed_codes(raw: Sequence[bytes]) -> _Found:
    codes = {n: parse_reply_line(line)[0] for n, line in enumerate(raw, 1) if line.strip()}
    if not codes:
        return None
    final = codes[max(codes)]
    lines = tuple(n for n, code in codes.items() if code != final)
    if not lines:
        return None
    others = ", ".join(sorted({str(codes[n]) for n in lines}))
    detail = (
        f"{_numbers(lines)}: code {others}, the last line's {final}; "
        f"the last line's code was taken, as Postfix does"
    )
    return DefectKind.MIXED_CODES, lines, detail
