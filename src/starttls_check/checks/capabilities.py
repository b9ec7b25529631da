"""Findings from what the server advertised before and after TLS, in the one core session.

Rules, all pure (facts → findings), applied to every session:
- `starttls.stripped`: STARTTLS could not be used because something rewrote the session:
  EHLO lines masked with X's (Cisco ASA/PIX ESMTP inspection turns `STARTTLS` into
  `XXXXXXXA`) while STARTTLS is missing, or STARTTLS advertised but answered 500/502.
- `capabilities.masked`: masked EHLO lines, but STARTTLS got through.
- `capabilities.auth-in-clear`: AUTH offered before TLS (credentials may travel in clear).
- `capabilities.starttls-after-tls`: STARTTLS advertised inside TLS (RFC 3207 §4.2: MUST NOT).
- `capabilities.changed-after-tls`: SIZE changed, or PIPELINING/CHUNKING/8BITMIME/SMTPUTF8 lost.
- `capabilities.requiretls`: REQUIRETLS (RFC 8689) advertised.

Keywords compare case-insensitively (RFC 5321 §2.4), and the legacy `AUTH=LOGIN` form
counts as AUTH. With implicit TLS (no STARTTLS reply, yet TLS), nothing was said in clear.
"""

from __future__ import annotations

import re

from ..model.catalogue import finding
from ..model.findings import Finding, Subject
from ..model.session import Reply, SessionFacts
from ..smtp.sansio import capability_keyword
from .context import HostContext

# Cisco masks a keyword as X's of the same length, the last one sometimes a letter
# (`XXXXXXXA` is STARTTLS); a real extension is never all X's.
_MASKED_LINE = re.compile(r"X{3,}[A-Z]?(?: +X+)*", re.IGNORECASE)
_MASKED_STARTTLS = "XXXXXXXA"
# Cisco's `mask-banner` turns the greeting into asterisks (with a few digits left).
_MASKED_BANNER = re.compile(r"[*0-9 ]*\*{4,}[*0-9 ]*")
_UNRECOGNIZED = (500, 502)  # RFC 5321 §4.2.4: command unrecognized / not implemented
_KEPT_AFTER_TLS = ("PIPELINING", "CHUNKING", "8BITMIME", "SMTPUTF8")


def check_capabilities(host: HostContext) -> list[Finding]:
    """Host check: what the server advertised, before and inside TLS."""
    return evaluate_capabilities(host.subject, host.facts)


def evaluate_capabilities(subject: Subject, facts: SessionFacts) -> list[Finding]:
    """Findings in the order of the session: clear EHLO, STARTTLS, EHLO inside TLS."""
    clear = _clear_capabilities(facts)
    after = facts.capabilities_after_tls
    findings = _stripping(subject, facts, clear)
    findings += _auth_in_clear(subject, clear, after)
    if after is not None:
        findings += _inside_tls(subject, clear, after)
    findings += _requiretls(subject, clear, after or ())
    return findings


def keyword(capability: str) -> str:
    """`auth=LOGIN PLAIN` → `AUTH`: the keyword, upper case, legacy `=` form folded."""
    return capability_keyword(capability).split("=", 1)[0]


def _clear_capabilities(facts: SessionFacts) -> tuple[str, ...]:
    """What the EHLO in clear text advertised; empty if there was no such EHLO."""
    if facts.tls is not None and facts.starttls_reply is None:
        return ()  # implicit TLS (RFC 8314): the only EHLO was inside TLS
    reply = facts.ehlo_reply
    if reply is None or reply.code != 250 or facts.ehlo_command == "HELO":
        return ()
    return facts.capabilities


def _has(capabilities: tuple[str, ...], name: str) -> bool:
    return any(keyword(c) == name for c in capabilities)


def starttls_stripped(facts: SessionFacts) -> bool:
    """A device on the path removed STARTTLS (masked it, or answered it as unknown)."""
    clear = _clear_capabilities(facts)
    refused = _unrecognized_starttls(facts)
    if refused is not None:
        return True
    return bool(_masked(clear)) and not _has(clear, "STARTTLS")


def _masked(clear: tuple[str, ...]) -> list[str]:
    return [c.strip() for c in clear if _MASKED_LINE.fullmatch(c.strip())]


def _stripping(subject: Subject, facts: SessionFacts, clear: tuple[str, ...]) -> list[Finding]:
    masked = _masked(clear)
    refused = _unrecognized_starttls(facts)
    if not masked and refused is None:
        return []
    evidence = _evidence(facts.greeting, masked, refused)
    if refused is None and _has(clear, "STARTTLS"):
        message = f"a device on the path masked {len(masked)} EHLO keyword(s); STARTTLS got through"
        return [finding("capabilities.masked", subject, message, evidence=evidence)]
    return [
        finding("starttls.stripped", subject, _stripped_message(masked, refused), evidence=evidence)
    ]


def _unrecognized_starttls(facts: SessionFacts) -> Reply | None:
    reply = facts.starttls_reply
    if facts.starttls_offered and reply is not None and reply.code in _UNRECOGNIZED:
        return reply
    return None


def _stripped_message(masked: list[str], refused: Reply | None) -> str:
    if refused is not None:
        return (
            f"STARTTLS is advertised but answered {refused.code} (command unrecognized): a "
            "device on the path (e.g. a firewall's SMTP inspection) lets the keyword through "
            "but blocks the command, or the server offers STARTTLS it cannot run; mail to "
            "this address travels in clear text"
        )
    starttls = any(m.upper() == _MASKED_STARTTLS for m in masked)
    which = "STARTTLS (as XXXXXXXA)" if starttls else "EHLO keywords"
    return (
        f"a device on the path, not necessarily this server (e.g. SMTP inspection on a "
        f"firewall), masked {which} with X's, so STARTTLS is not offered: mail to this "
        "address travels in clear text"
    )


def _evidence(greeting: Reply | None, masked: list[str], refused: Reply | None) -> str:
    parts = []
    if greeting is not None and _MASKED_BANNER.fullmatch(greeting.text):
        parts.append(f"greeting: 220 {greeting.text}")
    if masked:
        parts.append("EHLO: " + ", ".join(masked))
    if refused is not None:
        parts.append(f"STARTTLS -> {refused.code} {refused.text}")
    return " / ".join(parts)


def _auth_in_clear(
    subject: Subject, clear: tuple[str, ...], after: tuple[str, ...] | None
) -> list[Finding]:
    lines = [c for c in clear if keyword(c) == "AUTH"]
    if not lines:
        return []
    if after is None:
        where = "and no EHLO inside TLS was seen"
    elif _has(after, "AUTH"):
        where = "as well as inside TLS"
    else:
        where = "but not inside TLS, so clients can only authenticate in clear text"
    message = f"AUTH is offered before STARTTLS, {where}: passwords may be sent unencrypted"
    return [finding("capabilities.auth-in-clear", subject, message, evidence=", ".join(lines))]


def _inside_tls(subject: Subject, clear: tuple[str, ...], after: tuple[str, ...]) -> list[Finding]:
    findings = []
    if _has(after, "STARTTLS"):
        message = "STARTTLS is advertised again inside TLS (RFC 3207 §4.2: it must not be)"
        findings.append(finding("capabilities.starttls-after-tls", subject, message))
    if clear and (changes := _changes(clear, after)):
        message = "the EHLO inside TLS differs from the one in clear text: " + "; ".join(changes)
        findings.append(finding("capabilities.changed-after-tls", subject, message))
    return findings


def _requiretls(subject: Subject, clear: tuple[str, ...], after: tuple[str, ...]) -> list[Finding]:
    if _has(after, "REQUIRETLS"):
        where = "inside TLS"
    elif _has(clear, "REQUIRETLS"):
        where = "in clear text only"
    else:
        return []
    message = f"REQUIRETLS (RFC 8689) is advertised {where}"
    return [finding("capabilities.requiretls", subject, message)]


def _changes(clear: tuple[str, ...], after: tuple[str, ...]) -> list[str]:
    changes = []
    before_size, after_size = _size(clear), _size(after)
    if before_size != after_size:
        changes.append(f"SIZE {before_size or 'absent'} -> {after_size or 'absent'}")
    lost = [k for k in _KEPT_AFTER_TLS if _has(clear, k) and not _has(after, k)]
    if lost:
        changes.append("lost " + ", ".join(lost))
    return changes


def _size(capabilities: tuple[str, ...]) -> str | None:
    """SIZE's parameter ("(no limit)" when it has none), None when SIZE is not advertised."""
    for c in capabilities:
        if keyword(c) == "SIZE":
            return " ".join(c.split()[1:]) or "(no limit)"
    return None
