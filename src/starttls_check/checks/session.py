"""Findings about one SMTP session: did the upgrade to TLS happen, and to what."""

from __future__ import annotations

from ..model.catalogue import finding
from ..model.findings import Finding, Subject
from ..model.session import (
    EVIDENCE_LIMIT,
    ErrorKind,
    Phase,
    ProbeError,
    Reply,
    ReplyDefect,
    SessionFacts,
)
from .capabilities import starttls_stripped
from .context import HostContext
from .tls_version import deprecated_version_findings

_CONNECT_CODES = {
    ErrorKind.REFUSED: "connect.refused",
    ErrorKind.TIMEOUT: "connect.timeout",
    ErrorKind.UNREACHABLE: "connect.unreachable",
}
_PHASE_CODES = {
    Phase.GREETING: "smtp.no-greeting",
    Phase.EHLO: "smtp.ehlo-failed",
    Phase.STARTTLS: "starttls.failed",
    Phase.HANDSHAKE: "tls.handshake-failed",
    Phase.EHLO_TLS: "tls.ehlo-failed",
}


# When a middlebox stripped STARTTLS, 'not offered' or 'refused' would send the reader to
# the server's TLS settings; the capabilities check's stripping finding says what happened.
_SUPERSEDED_BY_STRIPPING = frozenset({"starttls.not-offered", "starttls.refused"})


def check_session(host: HostContext) -> tuple[Finding, ...]:
    """Host check: did the dialogue reach TLS, and if not, where it stopped."""
    findings = evaluate_session(host.subject, host.facts)
    if starttls_stripped(host.facts):
        return tuple(f for f in findings if f.code not in _SUPERSEDED_BY_STRIPPING)
    return findings


def check_retries(host: HostContext) -> list[Finding]:
    """Host check: the temporary failures that came before the final attempt."""
    return transient_findings(host.subject, host.earlier_attempts, host.facts)


def evaluate_session(subject: Subject, facts: SessionFacts) -> tuple[Finding, ...]:
    """Findings in the order a person reads the session; the error, if any, last."""
    findings = [_malformed(subject, defect) for defect in facts.reply_defects]
    findings += _dialogue(subject, facts)
    if facts.injected_plaintext is not None:
        evidence = facts.injected_plaintext
        size = (
            f"{len(evidence)}" if len(evidence) < EVIDENCE_LIMIT else f"at least {EVIDENCE_LIMIT}"
        )
        message = f"{size} bytes of plaintext arrived after the 220 to STARTTLS, before TLS"
        findings.append(finding("starttls.injection", subject, message, evidence=evidence))
    findings += deprecated_version_findings(subject, facts.tls)
    if facts.error is not None:
        findings.append(_error(subject, facts.error))
    return tuple(findings)


def _dialogue(subject: Subject, facts: SessionFacts) -> list[Finding]:
    findings: list[Finding] = []
    greeting = facts.greeting
    if greeting is not None and greeting.code != 220:
        message = f"greeting refused the session: {greeting.code} {greeting.text}"
        return [finding("smtp.greeting-rejected", subject, message)]
    if facts.ehlo_command == "HELO":
        ehlo = facts.ehlo_reply
        text = f"{ehlo.code} {ehlo.text}" if ehlo else "no reply"
        findings.append(finding("smtp.ehlo-rejected", subject, f"EHLO rejected ({text})"))
        helo = facts.helo_reply
        if helo is not None and helo.code != 250:
            message = f"HELO rejected too: {helo.code} {helo.text}"
            return [*findings, finding("smtp.ehlo-failed", subject, message)]
    elif (
        facts.ehlo_reply is not None
        and facts.ehlo_reply.code != 250
        and facts.starttls_offered is False
    ):
        # IMAP/POP3: the capability list was refused, so STARTTLS/STLS cannot be negotiated
        reply = facts.ehlo_reply
        message = f"{facts.ehlo_command} refused ({reply.code} {reply.text}): no STARTTLS"
        return [*findings, finding("starttls.not-offered", subject, message)]
    elif facts.ehlo_reply is not None and facts.ehlo_reply.code != 250:
        message = f"EHLO refused: {facts.ehlo_reply.code} {facts.ehlo_reply.text}"
        return [*findings, finding("smtp.ehlo-failed", subject, message)]
    if facts.starttls_offered is False:
        message = "STARTTLS is not offered: mail to this address travels in clear text"
        findings.append(finding("starttls.not-offered", subject, message))
    starttls = facts.starttls_reply
    if starttls is not None and starttls.code != 220:
        message = f"STARTTLS refused: {starttls.code} {starttls.text}"
        findings.append(finding("starttls.refused", subject, message))
    tls_reply = facts.ehlo_tls_reply
    if tls_reply is not None and tls_reply.code != 250:
        message = f"EHLO inside TLS refused: {tls_reply.code} {tls_reply.text}"
        findings.append(finding("tls.ehlo-failed", subject, message))
    return findings


def _malformed(subject: Subject, defect: ReplyDefect) -> Finding:
    """A reply read as senders read it, but not as RFC 5321 writes it: worth a warning,
    never a failure, since Postfix and the others go on with the session."""
    where = "the greeting" if defect.reply == "greeting" else f"the reply to {defect.reply}"
    message = f"{defect.kind} in {where}: {defect.detail}"
    return finding("smtp.malformed-reply", subject, message)


def _error(subject: Subject, error: ProbeError) -> Finding:
    if error.phase is Phase.CONNECT:
        code = _CONNECT_CODES.get(error.kind, "connect.error")
    elif error.kind is ErrorKind.PROTOCOL:
        code = "smtp.protocol-error"
    elif error.kind in (ErrorKind.CLOSED, ErrorKind.RESET) and error.phase is Phase.EHLO:
        code = "smtp.closed"
    else:
        code = _PHASE_CODES.get(error.phase, "smtp.closed")
    return finding(code, subject, f"{error.phase}: {error.kind}: {error.detail}")


def transient_reply(facts: SessionFacts) -> Reply | None:
    """The 4xx reply that ended a session, if it ended on one: worth a polite retry.

    421 to the greeting (busy, rate limited) and 4xx to EHLO or STARTTLS (454: TLS not
    available for a temporary reason) say 'try again later' (RFC 5321 §4.2.1).
    """
    for reply in (facts.greeting, facts.ehlo_reply, facts.helo_reply, facts.starttls_reply):
        if reply is not None and 400 <= reply.code < 500:
            return reply
    return None


def transient_findings(
    subject: Subject, earlier: tuple[SessionFacts, ...], final: SessionFacts
) -> list[Finding]:
    """`smtp.transient`: what the first attempts got, and how the retry turned out."""
    if not earlier:
        return []
    first = transient_reply(earlier[0])
    first_text = f"{first.code} {first.text}" if first else "a temporary failure"
    outcome = transient_reply(final)
    result = f"still {outcome.code} {outcome.text}" if outcome else "the retry got through"
    retries = "1 retry" if len(earlier) == 1 else f"{len(earlier)} retries"
    message = f"first attempt: {first_text}; after {retries}: {result}"
    # A 4xx to STARTTLS is the TLS setup failing, not a limit: its own hint says so.
    case = "starttls" if first is not None and first is earlier[0].starttls_reply else None
    return [finding("smtp.transient", subject, message, case=case)]
