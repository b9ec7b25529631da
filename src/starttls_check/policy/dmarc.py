"""DMARC records (RFC 7489 §6.3-6.4) without I/O: from TXT records to problems, as
mail_auth.py does for TLS-RPT and SPF; the organisational domain's record for a subdomain
without its own (§6.6.3) is read here too. Patterns are text, compiled on first use, as
there."""

from __future__ import annotations

import re
from collections.abc import Sequence

from .mail_auth import MAILTO, RecordProblem, missing_record, select_records, txt_records

# --- DMARC (RFC 7489 §6.3-6.4) ----------------------------------------------------------

# §6.4: "v" *WSP "=" *WSP "DMARC1" (the version in upper case: %x44 %x4d ...).
_DMARC = r"[vV][ \t]*=[ \t]*DMARC1[ \t]*(?:;|\Z)"
_DMARC_LOOSE = r"(?i)\s*v\s*=\s*dmarc1"
_DMARC_TAG = r"(?is)([a-z][a-z0-9_]*)[ \t]*=[ \t]*(.*)"
_REPORT_SIZE = r"(?i)[0-9]+[kmgt]?"
# Each tag's valid values (lower-cased). np, psd and t are DMARCbis tags already in use.
_DMARC_VALUES: dict[str, str] = {
    "p": "none|quarantine|reject",
    "sp": "none|quarantine|reject",
    "np": "none|quarantine|reject",
    "adkim": "[rs]",
    "aspf": "[rs]",
    "pct": r"(?=[0-9]{1,3}\Z)0*(?:100|[1-9]?[0-9])",
    "fo": r"[01ds](?:[ \t]*:[ \t]*[01ds])*",
    "rf": r"afrf(?:[ \t]*:[ \t]*afrf)*",
    "ri": "[0-9]{1,10}",
    "psd": "[ynu]",
    "t": "[yn]",
}


def lint_dmarc(domain: str, txt: Sequence[str] | None) -> list[RecordProblem]:
    """Problems with the TXT records at `_dmarc.<domain>` (RFC 7489)."""
    name = f"_dmarc.{domain}"
    used, lookalikes = select_records(txt_records(txt), _DMARC, _DMARC_LOOSE)
    if not used:
        rule = 'a record must begin with "v=DMARC1", in upper case (RFC 7489 §6.4)'
        return [missing_record("dmarc.missing", name, lookalikes, rule)]
    if len(used) > 1:
        message = f"{len(used)} DMARC records at {name}: receivers apply no DMARC"
        return [RecordProblem("dmarc.multiple", message, "\n".join(used))]
    record = used[0]
    tags = _dmarc_tags(record)
    out: list[RecordProblem] = []
    if problems := _dmarc_problems(tags):
        message = f"DMARC record at {name}: " + "; ".join(problems)
        out.append(RecordProblem("dmarc.syntax", message, record))
    if next((v for t, v in tags if t == "p"), "").lower() == "none":
        message = f"DMARC record at {name} has p=none: failing mail is delivered as usual"
        out.append(RecordProblem("dmarc.policy-none", message, record))
    return out


def _dmarc_tags(record: str) -> list[tuple[str, str]]:
    """(tag, value) after the version, in order; a part that is no tag has tag ""."""
    parts = (p.strip(" \t") for p in record.split(";")[1:])
    tags = [(m[1].lower(), m[2]) if (m := re.fullmatch(_DMARC_TAG, p)) else ("", p) for p in parts]
    return [(tag, value) for tag, value in tags if tag or value]  # a trailing ";" is fine


def _dmarc_problems(tags: list[tuple[str, str]]) -> list[str]:
    names = [tag for tag, _ in tags]
    problems: list[str] = []
    if "p" not in names:
        problems.append("p= (none, quarantine or reject) is missing")
    elif names[0] != "p":  # §6.3: "v" and "p" MUST appear in that order, first
        problems.append("p= must come right after v=DMARC1")
    seen: set[str] = set()
    for tag, value in tags:
        if tag in seen:
            problems.append(f"{tag}= appears more than once")
        seen.add(tag)
        problems += _dmarc_tag_problems(tag, value)
    return problems


def _dmarc_tag_problems(tag: str, value: str) -> list[str]:
    if not tag:
        return [f"{value!r} is not a tag=value pair"]
    if tag in ("rua", "ruf"):
        uris = [u.strip(" \t") for u in value.split(",")]
        return [f"{tag} {u!r} is not a mailto: address" for u in uris if not _dmarc_uri_ok(u)]
    pattern = _DMARC_VALUES.get(tag)
    if pattern is None:
        return [f"unknown tag {tag}= (ignored by receivers)"]
    return [] if re.fullmatch(pattern, value.lower()) else [f"invalid value {tag}={value}"]


def _dmarc_uri_ok(uri: str) -> bool:
    """§6.4 dmarc-uri: a URI with an optional "!size"; receivers need only support mailto."""
    address, bang, size = uri.rpartition("!")
    if bang and re.fullmatch(_REPORT_SIZE, size):
        uri = address
    return re.fullmatch(MAILTO, uri) is not None


def dmarc_records(txt: Sequence[str] | None) -> list[str]:
    """The records at a name that receivers take for DMARC records (RFC 7489 §6.6.3 step 2)."""
    return select_records(txt_records(txt), _DMARC, _DMARC_LOOSE)[0]


def dmarc_record(txt: Sequence[str] | None) -> str | None:
    """The DMARC record receivers apply among a name's TXT records; None when there is
    none, or more than one (RFC 7489 §6.6.3)."""
    used = dmarc_records(txt)
    return used[0] if len(used) == 1 else None


def lint_inherited_dmarc(
    domain: str, organisational: str, txt: Sequence[str] | None
) -> list[RecordProblem]:
    """Problems with the record at `_dmarc.<organisational>` as it applies to `domain`, a
    subdomain with no record of its own (RFC 7489 §6.6.3): its sp= tag, where valid, is
    the subdomain's policy, else p= (§6.3)."""
    name = f"_dmarc.{organisational}"
    problems = [p for p in lint_dmarc(organisational, txt) if p.code != "dmarc.policy-none"]
    record = dmarc_record(txt)
    if record is None:  # none there either, or several: lint_dmarc said which
        return problems
    tags = {tag: value.lower() for tag, value in reversed(_dmarc_tags(record))}
    tag = "sp" if re.fullmatch(_DMARC_VALUES["sp"], tags.get("sp", "")) else "p"
    policy = tags.get(tag, "")
    message = (
        f"no DMARC record at _dmarc.{domain}: receivers apply the organisational domain's "
        f"record at {name} (RFC 7489 §6.6.3), with {tag}={policy or '(missing)'}"
    )
    inherited = RecordProblem("dmarc.inherited", message, record)
    if policy == "none":
        message = f"DMARC record at {name} applies to {domain} with {tag}=none: "
        message += "failing mail is delivered as usual"
        problems.append(RecordProblem("dmarc.policy-none", message, record))
    return [inherited, *problems]
