"""The `_mta-sts.<domain>` TXT record (RFC 8461 §3.1), without I/O: whether senders go on
to fetch a policy, and if not, why.

The ABNF is read strictly, because a sender that discards a sloppy record protects
nothing; every problem names the field. Problems carry codes, never severities: those
are the catalogue's (model/texts/mta-sts.toml), judged in checks/mta_sts.py.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from .txt import quote


class TxtProblem(NamedTuple):
    """Why the `_mta-sts` TXT record does not announce a policy; its severity is the code's."""

    code: str
    message: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StsTxt:
    """The `_mta-sts.<domain>` TXT record as senders read it (RFC 8461 §3.1)."""

    record: str | None = None  # the one record starting with v=STSv1, if exactly one did
    id: str | None = None  # its id, when that field itself is well-formed
    problems: tuple[TxtProblem, ...] = ()

    @property
    def valid(self) -> bool:
        """True when senders go on to fetch the policy."""
        return self.record is not None and self.id is not None and not self.problems


_TXT_ID = re.compile(r"[A-Za-z0-9]{1,32}")
_EXT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")
_EXT_VALUE = re.compile(r"[\x21-\x3a\x3c\x3e-\x7e]+")  # printable ASCII except '=' and ';'
_WSP = " \t"


def _is_sts_record(text: str) -> bool:
    # RFC 8461 §3.1: records not beginning with "v=STSv1" are discarded; the version is
    # followed by the field delimiter (which may start with spaces) or nothing.
    return text.startswith("v=STSv1") and text[7:8] in ("", ";", " ", "\t")


def parse_sts_txt(records: Sequence[str]) -> StsTxt:
    """Judge the TXT strings found at `_mta-sts.<domain>` (decoded: see `decode_txt_rdata`)."""
    candidates = [r for r in records if _is_sts_record(r)]
    if len(candidates) > 1:
        listed = "; ".join(quote(r) for r in candidates[:3])
        message = (
            f"{len(candidates)} TXT records start with v=STSv1 ({listed}); senders need "
            "exactly one and otherwise ignore MTA-STS (RFC 8461 §3.1)"
        )
        return StsTxt(problems=(TxtProblem("mta-sts.txt-multiple", message),))
    if not candidates:
        return StsTxt(problems=(_no_record(records),))
    record = candidates[0]
    ident, problems = _lint_record(record)
    return StsTxt(record=record, id=ident, problems=tuple(problems))


def _no_record(records: Sequence[str]) -> TxtProblem:
    near = next((r for r in records if r.strip().lower().startswith("v=sts")), None)
    if near is not None:
        message = (
            f"{quote(near)} is not read as an MTA-STS record: it must begin with exactly "
            "`v=STSv1` (case-sensitive, nothing before it)"
        )
        return TxtProblem("mta-sts.txt-invalid", message)
    others = f" ({len(records)} other TXT records ignored)" if records else ""
    return TxtProblem("mta-sts.txt-missing", f"no TXT record starts with v=STSv1{others}")


def _lint_record(record: str) -> tuple[str | None, list[TxtProblem]]:
    """The id and every syntax problem of a record that starts with v=STSv1."""
    head, *fields = record.split(";")
    problems: list[str] = []
    if head.rstrip(_WSP) != "v=STSv1":
        problems.append(f"fields must be separated by ';' ({quote(head)})")
    if fields and not fields[-1].strip(_WSP):
        fields.pop()  # one trailing delimiter is allowed
    ident: str | None = None
    id_fields = 0
    for field in fields:
        name, value, problem = _lint_field(field.strip(_WSP))
        id_fields += name.strip(_WSP).lower() == "id"
        if problem:
            problems.append(problem)
        elif name == "id" and ident is None:
            ident = value
    if id_fields > 1:
        problems.append("more than one id= field")
    if id_fields == 0:
        problems.append("no id= field (required: 1 to 32 letters and digits)")
    return ident, [TxtProblem("mta-sts.txt-invalid", f"{quote(record)}: {p}") for p in problems]


def _lint_field(field: str) -> tuple[str, str, str | None]:
    """(name, value, problem) for one `name=value` field."""
    if not field:
        return "", "", "empty field (two ';' in a row)"
    name, sep, value = field.partition("=")
    if not sep:
        return name, "", f"field {quote(field)} has no '='"
    if name != name.rstrip(_WSP) or value != value.lstrip(_WSP):
        return name, value, f"no spaces around '=' in {quote(field)}"
    if name == "id":
        return name, value, _lint_id(value)
    if name.lower() == "id":
        return name, value, f"field names are case-sensitive: write id=, not {name}="
    if name == "v":
        return name, value, "v= must come first, and only once"
    if not _EXT_NAME.fullmatch(name) or not _EXT_VALUE.fullmatch(value):
        return name, value, f"malformed field {quote(field)}"
    return name, value, None  # an extension field: senders ignore it


def _lint_id(value: str) -> str | None:
    if _TXT_ID.fullmatch(value):
        return None
    if not value:
        return "id= is empty (1 to 32 letters and digits)"
    bad = sorted({c for c in value if not (c.isascii() and c.isalnum())})
    if bad:
        shown = " ".join(repr(c) for c in bad[:5])
        return f"id {quote(value)} contains {shown}: only letters and digits are allowed"
    return f"id is {len(value)} characters long; at most 32 are allowed"
