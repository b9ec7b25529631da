"""Counting an SPF evaluation's DNS lookups across include: and redirect= (RFC 7208
§4.6.4), without I/O: from the answers gathered so far to the count, the loops, the void
lookups, and the queries still to make.

The gather step (policy/gather.py) calls `walk` with what it has, makes the queries it
returns in `needed`, and calls it again, until nothing is needed or its bounds are reached:
the logic lives here, the I/O there. Evaluation is followed as receivers do when no
mechanism matches, the case forged mail always takes: every term up to the first `all`, then
redirect= if there is no `all`. Domain-specs with macros depend on the message and are
counted but not followed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ..model.dns import DnsStatus
from ..model.report import SpfQuery
from .mail_auth import SpfTerm, spf_lookup_terms, spf_record

MAX_LOOKUPS = 10  # §4.6.4: more is permerror
MAX_VOID = 2  # §4.6.4: receivers SHOULD give permerror after more void lookups
_VOID = (DnsStatus.NXDOMAIN, DnsStatus.NO_DATA)
# What a term asks for: a asks A or AAAA by the client's family (void only if both are),
# exists always A (§5.7), mx the MX records (§5.4), include and redirect the TXT records.
_RDTYPES = {
    "a": ("A", "AAAA"),
    "exists": ("A",),
    "mx": ("MX",),
    "include": ("TXT",),
    "redirect": ("TXT",),
}

Answers = Mapping[tuple[str, str], SpfQuery]


@dataclass(slots=True, kw_only=True)
class WalkResult:
    """What the answers so far say about the evaluation's lookups."""

    lookups: int = 0  # DNS-querying terms met; a lower bound while `needed` or `unknown`
    over_limit: tuple[str, ...] = ()  # the names from the domain to the 11th lookup's term
    loop: tuple[str, ...] = ()  # the names from the domain round to one already on the path
    void: list[str] = field(default_factory=list)  # terms whose query found nothing
    missing: list[str] = field(default_factory=list)  # include:/redirect= without SPF record
    unknown: list[str] = field(default_factory=list)  # terms whose query failed
    needed: list[tuple[str, str]] = field(default_factory=list)  # (name, rdtype) to ask

    @property
    def stopped(self) -> bool:
        """Evaluation ends in permerror here: nothing further matters."""
        return bool(self.over_limit or self.loop)


def walk(domain: str, record: str, answers: Answers) -> WalkResult:
    """Follow `record` (the SPF record of `domain`) through `answers`."""
    result = WalkResult()
    _visit(result, answers, (_bare(domain),), record)
    if result.stopped:
        result.needed.clear()  # the outcome is known: no more queries
    return result


def _visit(result: WalkResult, answers: Answers, path: tuple[str, ...], record: str) -> None:
    for term in spf_lookup_terms(record):
        if result.stopped:
            return
        result.lookups += 1
        if result.lookups > MAX_LOOKUPS:
            result.over_limit = path
            return
        target = path[-1] if term.target is None else term.target
        if "%" in target or term.name == "ptr":
            continue  # a macro or the client's reverse name: not known before a message
        _term(result, answers, path, term, _bare(target))


def _term(
    result: WalkResult, answers: Answers, path: tuple[str, ...], term: SpfTerm, target: str
) -> None:
    text = f"{term.name}:{target}" if term.name != "redirect" else f"redirect={target}"
    if term.name in ("include", "redirect") and target in path:
        result.loop = (*path, target)
        return
    got = [answers.get((target, rdtype)) for rdtype in _RDTYPES[term.name]]
    if any(a is None for a in got):
        result.needed += [
            (target, t) for t, a in zip(_RDTYPES[term.name], got, strict=True) if a is None
        ]
        return
    known = [a for a in got if a is not None]
    if all(a.status in _VOID for a in known):
        result.void.append(f"{text} ({known[0].status})")
    elif any(a.status is not DnsStatus.OK for a in known if a.status not in _VOID):
        result.unknown.append(f"{text} ({', '.join(a.status for a in known)})")
        return
    if term.name in ("include", "redirect"):
        included = spf_record(known[0].records) if known[0].status is DnsStatus.OK else None
        if included is None:  # §5.2, §6.1: permerror
            result.missing.append(text)
        else:
            _visit(result, answers, (*path, target), included)


def _bare(name: str) -> str:
    return name.rstrip(".").lower()
