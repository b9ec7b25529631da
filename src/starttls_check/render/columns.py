"""The table of addresses, one row per MX and address, and how it narrows to fit a terminal.

A cell is never split inside a word (`Certifica/te`, `self-sign/ed`). The rows are built at
successive levels of detail and the first level whose table fits the width is printed:

0. everything: the cipher as negotiated, the certificate's problems and days left;
1. the cipher abbreviated (`ECDHE-AES128-GCM`): the key exchange and the bulk cipher stay,
   the certificate's signature algorithm and the handshake hash go;
2. the certificate as one word: `valid`, or its first problem and how many more
   (`expired +1`); the days left are in the findings when they matter;
3. STARTTLS and TLS in one column: the version where TLS came up, else why it did not;
4. the certificate's column headed `Cert`;
5. no cipher column (a weak cipher has its own finding; `-v` and the JSON name each one).

When even level 5 is too wide (a long MX name, an IPv6 address), columns wrap at spaces
only, in a fixed order (the MX's preference goes under its name first); a word is folded
only when the table cannot fit otherwise, and then the MX name first.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.cells import cell_len
from rich.table import Table
from rich.text import Text

from ..model.findings import Verdict
from ..model.report import HostReport
from ..model.session import tls_name
from .sanitize import terminal_safe

VERDICT_STYLE = {
    Verdict.PASS: "bold green",
    Verdict.WARN: "bold yellow",
    Verdict.FAIL: "bold red",
    Verdict.INCONCLUSIVE: "bold magenta",
    Verdict.UNTESTED: "dim",
    Verdict.NO_MAIL: "bold cyan",
}
LEVELS = 6
_GAP = 1  # the space between two columns (collapsed padding, no edge padding)
# The order in which columns give up width when even the narrowest level is too wide.
_SHRINK_ORDER = ("MX (pref)", "Cert", "STARTTLS", "Address", "Verdict")


_TLS13 = re.compile(r"TLS_AES_(\d+)_(GCM|CCM_8|CCM)_SHA\d+")
_FORWARD_SECRET = re.compile(r"(ECDHE|DHE)-(?:RSA-|ECDSA-)?(.+)")
_AEAD_HASH = re.compile(r"(GCM|CCM8?|CHACHA20)(?:-POLY1305)?-SHA\d+$|(CHACHA20)-POLY1305$")


def short_cipher(cipher: str) -> str:
    """A cipher suite in a few characters, keeping what judges it, key exchange and bulk
    cipher: `ECDHE-RSA-AES128-GCM-SHA256` → `ECDHE-AES128-GCM`, `TLS_AES_256_GCM_SHA384`
    → `AES256-GCM`. Static-RSA suites (`AES256-SHA`) stay as OpenSSL names them: short,
    and their name is how people recognise them."""
    if cipher == "TLS_CHACHA20_POLY1305_SHA256":
        return "CHACHA20"
    if match := _TLS13.fullmatch(cipher):
        return f"AES{match[1]}-{match[2].replace('_', '')}"
    if match := _FORWARD_SECRET.fullmatch(cipher):
        # The certificate's algorithm and an AEAD's handshake hash say nothing of strength.
        return f"{match[1]}-" + _AEAD_HASH.sub(lambda m: m[1] or m[2], match[2])
    return cipher


def starttls_cell(host: HostReport) -> str:
    """Did the upgrade happen? `yes`, `no` (not offered), `refused (454)`, `failed`."""
    facts = host.facts
    if facts.tls is not None:
        return "yes"
    if facts.starttls_offered is False:
        return "no"
    if facts.starttls_reply is not None and facts.starttls_reply.code != 220:
        return f"refused ({facts.starttls_reply.code})"
    if facts.starttls_offered:
        return "failed"
    return "—"


def certificate_cell(host: HostReport, level: int = 0) -> Text:
    """`valid, 89 d` or the problems and days left; from level 2 on, one word."""
    trust, tls = host.trust, host.facts.tls
    if trust is None or tls is None:
        return Text("—")
    days = f", {tls.chain[0].days_left} d" if tls.chain and level < 2 else ""
    if trust.valid:
        return Text(f"valid{days}", style="green")
    problems = [p.value for p in trust.problems]
    if level >= 2:
        more = f" +{len(problems) - 1}" if len(problems) > 1 else ""
        return Text(problems[0] + more, style="yellow")
    return Text(", ".join(problems) + days, style="yellow")


def _cells(host: HostReport, level: int) -> dict[str, Text]:
    tls = host.facts.tls
    cipher = "—" if tls is None else tls.cipher if level < 1 else short_cipher(tls.cipher)
    cells = {
        "MX (pref)": Text(f"{terminal_safe(host.mx)} ({host.preference})"),
        "Address": Text(terminal_safe(host.address)),
        "STARTTLS": Text(starttls_cell(host)),
        "TLS": Text(terminal_safe(tls_name(tls.version)) if tls else "—"),
        "Cipher": Text(terminal_safe(cipher)),
        "Certificate": certificate_cell(host, level),
        "Verdict": Text(host.verdict.value, style=VERDICT_STYLE.get(host.verdict, "bold")),
    }
    if level >= 3:  # the version says the upgrade happened; otherwise, why it did not
        version = cells.pop("TLS")
        cells["STARTTLS"] = version if tls is not None else cells["STARTTLS"]
    if level >= 4:
        cells = {("Cert" if k == "Certificate" else k): v for k, v in cells.items()}
    if level >= 5:  # the findings name a weak cipher; -v and the JSON show every one
        del cells["Cipher"]
    return cells


@dataclass(frozen=True, slots=True)
class _Layout:
    headers: tuple[str, ...]
    rows: tuple[tuple[Text, ...], ...]

    def widths(self, measure: Callable[[str], int]) -> list[int]:
        return [
            max(measure(h), *(measure(row[i].plain) for row in self.rows))
            for i, h in enumerate(self.headers)
        ]

    def width(self) -> int:
        return sum(self.widths(cell_len)) + _GAP * (len(self.headers) - 1)


def layout(hosts: Sequence[HostReport], level: int) -> _Layout:
    """The table's header and rows at one level of detail."""
    rows = [_cells(host, level) for host in hosts]
    headers = tuple(rows[0]) if rows else ()
    return _Layout(headers, tuple(tuple(row.values()) for row in rows))


def _longest_word(text: str) -> int:
    return max((cell_len(word) for word in text.split()), default=0)


def fitting_level(hosts: Sequence[HostReport], width: int) -> int:
    """The most detailed level at which the table fits `width` (the last if none does)."""
    return next((n for n in range(LEVELS) if layout(hosts, n).width() <= width), LEVELS - 1)


def hosts_table(hosts: Sequence[HostReport], width: int, level: int | None = None) -> Table:
    """The addresses at `level` (by default the most detailed that fits `width`); columns
    wrap at spaces, in `_SHRINK_ORDER`, only if even the last level is too wide."""
    chosen = layout(hosts, fitting_level(hosts, width) if level is None else level)
    widths = _fitted_widths(chosen, width) if chosen.width() > width else None
    table = Table(box=None, pad_edge=False, collapse_padding=True, header_style="bold")
    for index, header in enumerate(chosen.headers):
        fixed = widths[index] if widths else None
        table.add_column(header, overflow="fold", no_wrap=widths is None, width=fixed)
    for row in chosen.rows:
        table.add_row(*row)
    return table


def _fitted_widths(chosen: _Layout, width: int) -> list[int]:
    """Column widths that fit `width`: each column in `_SHRINK_ORDER` gives up width down
    to its longest word; if that is not enough, down to one character in the same order,
    so that a word is folded in the MX name first, never in the verdict."""
    widths = chosen.widths(cell_len)
    excess = sum(widths) + _GAP * (len(widths) - 1) - width
    for floors in (chosen.widths(_longest_word), [1] * len(widths)):
        for header in _SHRINK_ORDER:
            if excess <= 0 or header not in chosen.headers:
                continue
            index = chosen.headers.index(header)
            given = max(0, min(excess, widths[index] - floors[index]))
            widths[index] -= given
            excess -= given
    return widths
