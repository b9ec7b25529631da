"""Mail authentication records published in DNS: TLS-RPT (RFC 8460) and SPF (RFC 7208)
here, DMARC (RFC 7489) in dmarc.py, without I/O: from TXT records to problems, each a
finding code and a message. Problems carry codes, never severities: those are the
catalogue's (model/texts/mail-auth.toml), judged in checks/mail_auth.py.

Each record is one string: a TXT record made of several character-strings must be joined
without separators first (RFC 7208 §3.3). `None` or an empty sequence means the name has no
TXT records; a lookup that *failed* (timeout, SERVFAIL) is a DNS finding, not "missing".

Patterns are kept as text, flags inline, and matched through `re`'s own cache: each is
compiled when a record first needs it, not when the module is imported.

A record that resembles the protocol's version tag but is not one (leading space, wrong
case where the RFC demands it, no separator) is discarded by receivers, so it is reported
as the missing record, with the reason and the record as evidence.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple


class RecordProblem(NamedTuple):
    """One thing wrong with the records at a name; its severity is the code's."""

    code: str
    message: str
    evidence: str | None = None  # the record (or records) concerned, as published


def txt_records(txt: Sequence[str] | None) -> tuple[str, ...]:
    if isinstance(txt, str):  # a str is a Sequence[str] too: our bug, not the zone's
        raise TypeError("txt must be a sequence of records, not one string")
    return tuple(txt or ())


def select_records(records: tuple[str, ...], exact: str, loose: str) -> tuple[list[str], list[str]]:
    """The records receivers use, and those that only look like one (and are discarded)."""
    used = [r for r in records if re.match(exact, r)]
    return used, [r for r in records if not re.match(exact, r) and re.match(loose, r)]


def missing_record(code: str, name: str, lookalikes: list[str], rule: str) -> RecordProblem:
    label = {"tls-rpt": "TLS-RPT", "spf": "SPF", "dmarc": "DMARC"}[code.split(".")[0]]
    if not lookalikes:
        return RecordProblem(code, f"no {label} record at {name}")
    message = f"the {label} record at {name} is ignored by receivers: {rule}"
    return RecordProblem(code, message, lookalikes[0])


# --- TLS-RPT (RFC 8460 §3) --------------------------------------------------------------

# §3: "Records that do not begin with "v=TLSRPTv1;" are discarded"; %s: case-sensitive.
_TLSRPT = r"v=TLSRPTv1;"
_TLSRPT_LOOSE = r"(?i)\s*v\s*=\s*tlsrptv1"
_TLSRPT_FIELD = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}=[\x21-\x3a\x3c\x3e-\x7e]+"
_HOST = r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?\.?"
MAILTO = rf"(?i)mailto:[^@\s,;!?]+@{_HOST}(?:\?\S*)?"
_HTTPS = rf"(?i)https://{_HOST}(?::[0-9]{{1,5}})?(?:[/?#]\S*)?"


def lint_tls_rpt(domain: str, txt: Sequence[str] | None) -> list[RecordProblem]:
    """Problems with the TXT records at `_smtp._tls.<domain>`."""
    name = f"_smtp._tls.{domain}"
    used, lookalikes = select_records(txt_records(txt), _TLSRPT, _TLSRPT_LOOSE)
    if not used:
        rule = 'a record must begin with exactly "v=TLSRPTv1;" (case-sensitive, RFC 8460 §3)'
        return [missing_record("tls-rpt.missing", name, lookalikes, rule)]
    if len(used) > 1:
        message = f"{len(used)} TLS-RPT records at {name}: senders use none (RFC 8460 §3)"
        return [RecordProblem("tls-rpt.multiple", message, "\n".join(used))]
    if problems := _tls_rpt_problems(used[0]):
        message = f"TLS-RPT record at {name}: " + "; ".join(problems)
        return [RecordProblem("tls-rpt.syntax", message, used[0])]
    return []


def _tls_rpt_problems(record: str) -> list[str]:
    problems: list[str] = []
    ruas: list[str] = []
    for part in record.split(";")[1:]:
        item = part.strip(" \t")
        key = item.partition("=")[0]
        if key == "rua":
            ruas.append(item.partition("=")[2])
        elif key.lower() == "rua":
            problems.append(f"field names are case-sensitive: write rua=, not {key}=")
        elif item and not re.fullmatch(_TLSRPT_FIELD, item):
            problems.append(f"malformed field {item!r}")
    if len(ruas) != 1:
        problems.append("rua= (where to send reports) is " + ("repeated" if ruas else "missing"))
    for rua in ruas[:1]:
        uris = [u.strip(" \t") for u in rua.split(",")]
        bad = [u for u in uris if not (re.fullmatch(MAILTO, u) or re.fullmatch(_HTTPS, u))]
        problems += [f"rua {u!r} is not a mailto: address or https: URL" for u in bad]
    return problems


# --- SPF (RFC 7208) ---------------------------------------------------------------------

# §4.5: the version section is exactly "v=spf1" (ABNF: case-insensitive), ended by SP or
# the end of the record; anything else is not an SPF record.
_SPF = r"(?i)v=spf1(?: |\Z)"
_SPF_LOOSE = r"(?i)\s*v\s*=\s*spf1"
_MODIFIER = r"(?is)([a-z][a-z0-9_.-]*)=(.*)"
_DIRECTIVE = r"(?is)([+\-~?]?)([a-z][a-z0-9_.-]*)(.*)"
# §7.1 macro-expand; "c", "r", "t" are for exp= only, a distinction not worth a finding.
_MACRO = r"%\{[slodiphcrtv][0-9]*r?[.+,/_=-]*\}|%[%_-]"
_TOPLABEL = r"(?:[a-z0-9]*[a-z][a-z0-9]*|[a-z0-9]+-[a-z0-9-]*[a-z0-9])"
_DOMAIN_END = rf"(?i)(?:\.{_TOPLABEL}\.?|{_MACRO})\Z"
_IP4_CIDR, _IP6_CIDR = r"(?:/(?P<v4>0|[1-9][0-9]?))", r"(?:/(?P<v6>0|[1-9][0-9]{0,2}))"
_DUAL_CIDR = rf"(?P<cidr>{_IP4_CIDR}?(?:/{_IP6_CIDR})?)"
# Each mechanism's text after its name (RFC 7208 §5); `dom` is a domain-spec.
_SPF_ARGS = {
    "all": r"",
    "include": r"(?s):(?P<dom>.+)",
    "exists": r"(?s):(?P<dom>.+)",
    "a": rf"(?s)(?::(?P<dom>.+?))?{_DUAL_CIDR}",
    "mx": rf"(?s)(?::(?P<dom>.+?))?{_DUAL_CIDR}",
    "ptr": r"(?s)(?::(?P<dom>.+))?",
    "ip4": rf"(?P<ip4>:[0-9.]+){_IP4_CIDR}?",
    "ip6": rf"(?i)(?P<ip6>:[0-9a-f:.]+){_IP6_CIDR}?",
}
_LOOKUP_TERMS = frozenset({"include", "a", "mx", "ptr", "exists", "redirect"})  # §4.6.4
_MAX_LOOKUPS = 10


class SpfTerm(NamedTuple):
    """A term that makes a DNS query (RFC 7208 §4.6.4), as evaluation meets it."""

    name: str  # include, a, mx, ptr, exists or redirect
    target: str | None  # the domain-spec as written; None: the current domain (a, mx, ptr)


@dataclass(slots=True)
class _SpfTerms:
    """A record's terms: directives in order as (qualifier, mechanism, domain-spec or None),
    modifier names, and redirect='s domain-spec."""

    directives: list[tuple[str, str, str | None]] = field(default_factory=list)
    modifiers: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    redirect: str | None = None


def lint_spf(domain: str, txt: Sequence[str] | None) -> list[RecordProblem]:
    """Problems with the TXT records at `<domain>` (RFC 7208)."""
    used, lookalikes = select_records(txt_records(txt), _SPF, _SPF_LOOSE)
    if not used:
        rule = 'an SPF record begins with "v=spf1" and a space (RFC 7208 §4.5)'
        return [missing_record("spf.missing", domain, lookalikes, rule)]
    if len(used) > 1:
        message = f"{len(used)} SPF records at {domain}: receivers return permerror"
        return [RecordProblem("spf.multiple", message, "\n".join(used))]
    record = used[0]
    terms = _spf_terms(record)
    problems: list[RecordProblem] = []
    if terms.problems:
        message = f"SPF record at {domain}: " + "; ".join(terms.problems)
        problems.append(RecordProblem("spf.syntax", message, record))
    return problems + _spf_semantics(domain, record, terms)


def spf_record(txt: Sequence[str] | None) -> str | None:
    """The SPF record receivers evaluate among a name's TXT records; None when there is
    none, or more than one (both end evaluation, RFC 7208 §4.5)."""
    used, _ = select_records(txt_records(txt), _SPF, _SPF_LOOSE)
    return used[0] if len(used) == 1 else None


def spf_lookup_terms(record: str) -> list[SpfTerm]:
    """The DNS-querying terms of `record` that evaluation reaches, in order, when no
    mechanism matches: the worst case, and the one forged mail takes (RFC 7208 §4.6.4)."""
    terms = _spf_terms(record)
    return [SpfTerm(m, dom) for m, dom in _evaluated(terms) if m in _LOOKUP_TERMS]


def _evaluated(terms: _SpfTerms) -> list[tuple[str, str | None]]:
    """(mechanism or "redirect", domain-spec) in evaluation order. §5.1: mechanisms after
    "all" are never evaluated; §6.1: redirect= neither, if "all" is there."""
    mechanisms = [(m, dom) for _, m, dom in terms.directives]
    names = [m for m, _ in mechanisms]
    if "all" in names:
        return mechanisms[: names.index("all") + 1]
    redirect = [("redirect", terms.redirect)] if "redirect" in terms.modifiers else []
    return mechanisms + redirect


def _spf_semantics(domain: str, record: str, terms: _SpfTerms) -> list[RecordProblem]:
    out: list[RecordProblem] = []
    mechanisms = [m for _, m, _ in terms.directives]
    first_all = mechanisms.index("all") if "all" in mechanisms else None
    evaluated = [m for m, _ in _evaluated(terms)]
    if first_all is None:
        if "redirect" not in terms.modifiers:
            message = f"SPF record at {domain} has no `all` and no redirect=: others get neutral"
            out.append(RecordProblem("spf.no-all", message, record))
    elif terms.directives[first_all][0] in ("", "+"):
        message = f"SPF record at {domain} ends in +all: every server passes"
        out.append(RecordProblem("spf.pass-all", message, record))
    lookups = sum(m in _LOOKUP_TERMS for m in evaluated)
    if lookups > _MAX_LOOKUPS:
        message = (
            f"SPF record at {domain} has {lookups} DNS-querying terms, over the limit of 10 "
            "(counted statically: includes may add more)"
        )
        out.append(RecordProblem("spf.too-many-lookups", message, record))
    if "ptr" in mechanisms:
        message = f"SPF record at {domain} uses the deprecated ptr mechanism"
        out.append(RecordProblem("spf.ptr", message, record))
    return out


def _spf_terms(record: str) -> _SpfTerms:
    terms = _SpfTerms()
    for term in record.split(" ")[1:]:  # §4.6.1: terms are separated by SP, and only SP
        if not term:
            continue
        if modifier := re.fullmatch(_MODIFIER, term):
            _spf_modifier(terms, term, modifier[1].lower(), modifier[2])
        elif (directive := re.fullmatch(_DIRECTIVE, term)) and (
            checked := _spf_mechanism(directive[2].lower(), directive[3])
        ):
            terms.directives.append((directive[1], directive[2].lower(), checked[1]))
        else:
            terms.problems.append(f"invalid term {term!r}")
    return terms


def _spf_modifier(terms: _SpfTerms, term: str, name: str, value: str) -> None:
    if name in ("redirect", "exp"):
        if name in terms.modifiers:  # §6: at most once each, else permerror
            terms.problems.append(f"{name}= appears more than once")
        if not _domain_spec_ok(value):
            terms.problems.append(f"invalid term {term!r}")
        elif name == "redirect":
            terms.redirect = value
    elif not _macro_string_ok(value):  # unknown modifiers are ignored (§6) if well formed
        terms.problems.append(f"invalid term {term!r}")
    terms.modifiers.append(name)


def _spf_mechanism(name: str, rest: str) -> tuple[bool, str | None] | None:
    """(True, its domain-spec or None) for a well-formed mechanism; None otherwise."""
    args = _SPF_ARGS.get(name)
    match = re.fullmatch(args, rest) if args is not None else None
    if match is None:
        return None
    groups = match.groupdict()
    v4, v6 = groups.get("v4"), groups.get("v6")
    if (v4 and int(v4) > 32) or (v6 and int(v6) > 128):
        return None
    dom, ip4, ip6 = groups.get("dom"), groups.get("ip4"), groups.get("ip6")
    ok = (
        _domain_spec_ok(dom)
        if dom
        else _address_ok(ipaddress.IPv4Address, ip4[1:])
        if ip4
        else _address_ok(ipaddress.IPv6Address, ip6[1:])
        if ip6
        else True
    )
    return (True, dom or None) if ok else None


def _address_ok(kind: type[ipaddress.IPv4Address | ipaddress.IPv6Address], text: str) -> bool:
    try:
        kind(text)
    except ValueError:
        return False
    return True


def _macro_string_ok(text: str) -> bool:
    """§7.1 macro-string: visible ASCII, every % part of a macro."""
    printable = all("\x21" <= c <= "\x7e" for c in text)
    return printable and "%" not in re.sub(_MACRO, "", text, flags=re.IGNORECASE)


def _domain_spec_ok(text: str) -> bool:
    """§7.1 domain-spec: a macro-string ending in ".toplabel" or a macro."""
    return bool(text) and _macro_string_ok(text) and re.search(_DOMAIN_END, text) is not None
