"""`--deep`: what else does the server accept beyond what it negotiated with us?

Each probe is its own session (greeting, EHLO, STARTTLS, handshake) offering one thing:
one protocol version, one weak cipher class, a cipher order, or a command pipelined behind
STARTTLS. Off by default because it costs a dozen connections per address; the caller runs
the probes one after another inside the address's connection slot, with the same retry
rules as the main session.
"""

from __future__ import annotations

import dataclasses
import ssl
from collections.abc import Awaitable, Callable

from ..model.choices import MailProtocol
from ..model.session import DeepProbe, ErrorKind, Phase, ProbeKind, ProbeOutcome, SessionOutcome
from ..smtp.session import SessionSettings
from ..tls.client import PROBE_VERSIONS, WEAK_CIPHER_CLASSES, cipher_context, version_context

Probe = Callable[[SessionSettings], Awaitable[SessionOutcome]]
INJECTED_COMMAND = "NOOP"  # harmless if a vulnerable server executes it
# IMAP needs tags and POP3 has no NOOP before login; implicit TLS has no STARTTLS at all.
_STARTTLS_SMTP = (MailProtocol.SMTP, MailProtocol.SUBMISSION, MailProtocol.LMTP)


async def run_deep_probes(probe: Probe, base: SessionSettings) -> tuple[DeepProbe, ...]:
    """All probes against one address; `probe` runs one session with the given settings."""
    results = [
        DeepProbe(
            kind=ProbeKind.VERSION,
            name="SSLv3",
            outcome=ProbeOutcome.UNTESTABLE,
            detail="this OpenSSL cannot offer SSLv3",
        )
    ]
    # One at a time: the address gets one connection at once, probes included.
    results += [
        await _offer(probe, base, ProbeKind.VERSION, version, version_context(version))
        for version in PROBE_VERSIONS
    ]
    results += [
        await _offer(probe, base, ProbeKind.CIPHER, name, cipher_context(ciphers))
        for name, ciphers in WEAK_CIPHER_CLASSES.items()
    ]
    results.append(await _cipher_order(probe, base))
    return tuple(results)


async def _offer(
    probe: Probe,
    base: SessionSettings,
    kind: ProbeKind,
    name: str,
    context: ssl.SSLContext | None,
) -> DeepProbe:
    if context is None:
        detail = f"this OpenSSL ({ssl.OPENSSL_VERSION}) cannot offer it"
        return DeepProbe(kind=kind, name=name, outcome=ProbeOutcome.UNTESTABLE, detail=detail)
    outcome = await probe(dataclasses.replace(base, tls_context=context))
    return DeepProbe(
        kind=kind, name=name, outcome=handshake_outcome(outcome), detail=_detail(outcome)
    )


def handshake_outcome(outcome: SessionOutcome) -> ProbeOutcome:
    """Accepted if TLS came up; refused if the handshake failed; else the probe failed."""
    facts = outcome.facts
    if facts.tls is not None:
        return ProbeOutcome.ACCEPTED
    error = facts.error
    if error is not None and error.phase is Phase.HANDSHAKE and error.kind is not ErrorKind.TIMEOUT:
        return ProbeOutcome.REFUSED  # a stalled handshake refused nothing: that is FAILED
    return ProbeOutcome.FAILED


def _detail(outcome: SessionOutcome) -> str:
    facts = outcome.facts
    if facts.tls is not None:
        return f"{facts.tls.version} {facts.tls.cipher}"
    if facts.error is not None:
        return f"{facts.error.phase}: {facts.error.detail}"
    return "STARTTLS was not available to this session"


async def _cipher_order(probe: Probe, base: SessionSettings) -> DeepProbe:
    """Offer TLS 1.2 ciphers, then the same with the server's pick moved last: a server
    that picks it again enforces its own order (or supports that cipher only)."""
    first_context = cipher_context("HIGH:!aNULL:!eNULL")
    assert first_context is not None  # OpenSSL always has these
    first = await probe(dataclasses.replace(base, tls_context=first_context))
    if first.facts.tls is None or first.facts.tls.version == "TLSv1.3":
        return DeepProbe(
            kind=ProbeKind.ORDER,
            name="server-order",
            outcome=handshake_outcome(first),
            detail="no TLS 1.2 session to compare: " + _detail(first),
        )
    chosen = first.facts.tls.cipher
    second_context = cipher_context(f"HIGH:!aNULL:!eNULL:-{chosen}:{chosen}")
    assert second_context is not None
    second = await probe(dataclasses.replace(base, tls_context=second_context))
    if second.facts.tls is None:
        return DeepProbe(
            kind=ProbeKind.ORDER,
            name="server-order",
            outcome=handshake_outcome(second),
            detail=_detail(second),
        )
    again = second.facts.tls.cipher
    outcome = ProbeOutcome.SERVER_ORDER if again == chosen else ProbeOutcome.CLIENT_ORDER
    detail = f"picked {chosen}, then {again} when it was offered last"
    return DeepProbe(kind=ProbeKind.ORDER, name="server-order", outcome=outcome, detail=detail)


async def injection_probe(probe: Probe, base: SessionSettings) -> DeepProbe:
    """STARTTLS and NOOP in one segment: a server that answers the NOOP after the
    handshake kept plaintext across the upgrade (CVE-2011-0411; USENIX Security 2021)."""
    if base.protocol not in _STARTTLS_SMTP:
        detail = "the injection probe speaks SMTP and LMTP with STARTTLS only"
        return DeepProbe(
            kind=ProbeKind.INJECTION,
            name="starttls-injection",
            outcome=ProbeOutcome.UNTESTABLE,
            detail=detail,
        )
    outcome = await probe(dataclasses.replace(base, pipeline_after_starttls=INJECTED_COMMAND))
    if outcome.facts.tls is None:
        return DeepProbe(
            kind=ProbeKind.INJECTION,
            name="starttls-injection",
            outcome=handshake_outcome(outcome),
            detail=_detail(outcome),
        )
    answered = outcome.answered_inside_tls
    if answered is None:
        return DeepProbe(
            kind=ProbeKind.INJECTION,
            name="starttls-injection",
            outcome=ProbeOutcome.IGNORED,
            detail="the pipelined NOOP was discarded",
        )
    detail = f"answered {INJECTED_COMMAND} inside TLS: {answered}"
    return DeepProbe(
        kind=ProbeKind.INJECTION,
        name="starttls-injection",
        outcome=ProbeOutcome.ANSWERED,
        detail=detail,
    )
