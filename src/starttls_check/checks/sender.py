"""What a sender did with the receive mode, judged: did it use STARTTLS, what did its
ClientHello offer, and did it deliver after a certificate it could not have verified.

A sender that delivers after being shown a self-signed, untrusted, expired or misnamed
certificate does not authenticate the receiver: that is what opportunistic TLS (Postfix
`may`, `encrypt`) does by design. `verify`, `secure` and `dane` senders must stop there.
A session the receiver ended on a timeout says nothing about what the sender would have
done next: it is inconclusive, never read as the sender stopping.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime

from ..model.catalogue import finding
from ..model.findings import Finding, Verdict
from ..model.sending import CertificateKind, ReceivedClient, ReceiveReport, listen_text
from ..model.session import DEPRECATED_TLS, TLS_VERSIONS, tls_name
from .outcome import verdict_of, worst_verdict

WEAK_MARKS = ("RC4", "3DES", "_DES_", "NULL", "EXPORT", "anon")
# OpenSSL's names for the alerts a verifying client sends about the server's certificate.
CERTIFICATE_ALERTS: tuple[str, ...] = ("UNKNOWN_CA", "BAD_CERTIFICATE", "CERTIFICATE_UNKNOWN")
CERTIFICATE_ALERTS += ("CERTIFICATE_EXPIRED", "UNSUPPORTED_CERTIFICATE", "CERTIFICATE_REVOKED")
TIMED_OUT = ("timeout", "limit")  # closed_by values: the receiver ended the session


def client_findings(client: ReceivedClient, certificate: CertificateKind) -> list[Finding]:
    """One client's findings, in the order its session went."""
    subject = f"{listen_text(client.address, client.port)} (EHLO {client.ehlo or '-'})"
    found: list[Finding] = []
    if client.closed_by in TIMED_OUT:
        found.append(finding("sender.idle-timeout", subject, _timed_out(client)))
    if client.long_line is not None:
        read = f"{client.long_line} bytes read before refusing it"
        message = f"sent a command line longer than the limit ({read}); 500, closed"
        found.append(finding("sender.line-too-long", subject, message))
    if client.client_hello_error is not None:
        found.append(finding("sender.not-client-hello", subject, client.client_hello_error))
    if client.client_hello is not None:
        found += _offer_findings(subject, client)
    stopped = _stopped_at_certificate(client)
    if stopped:
        shown = certificate.value
        found.append(finding("sender.stopped-at-certificate", subject, f"{stopped} ({shown})"))
    elif client.handshake_error is not None and client.client_hello_error is None:
        found.append(finding("sender.handshake-failed", subject, client.handshake_error))
    if client.message_sent and not client.message_over_tls:
        found.append(
            finding("sender.clear-text", subject, "delivered in clear text; STARTTLS was offered")
        )
    elif client.message_sent and certificate is not CertificateKind.PROVIDED:
        version = tls_name(client.tls_version or "")
        message = f"delivered over {version} after a certificate ({certificate.value})"
        found.append(finding("sender.unauthenticated", subject, message))
    elif client.mail_over_tls and certificate is not CertificateKind.PROVIDED:
        # A verifying sender stops before MAIL FROM; one that goes on to a transaction
        # has accepted the certificate, however the transaction then ended.
        version = tls_name(client.tls_version or "")
        message = (
            f"began a mail transaction over {version} after a certificate "
            f"({certificate.value}); no message was completed ({client.closed_by})"
        )
        found.append(finding("sender.unauthenticated", subject, message))
    if not client.message_sent and not client.starttls and client.closed_by not in TIMED_OUT:
        found.append(
            finding("sender.no-message", subject, f"left without a message ({client.closed_by})")
        )
    return found


def _timed_out(client: ReceivedClient) -> str:
    silent = f"sent nothing for {client.silent_ms / 1000:.1f} s {_phase(client)}"
    if client.closed_by == "timeout":
        return f"{silent}; closed at the idle limit"
    return f"{silent}; still connected when the receive mode ended (--receive-timeout)"


def _phase(client: ReceivedClient) -> str:
    """Where in the session the client was, from what it had done."""
    if client.message_sent:
        return "after its message"
    if client.starttls and client.tls_version is None:
        return "during the TLS handshake"
    over_tls = " over TLS" if client.tls_version is not None else ""
    if client.mail_from is not None:
        return f"in its mail transaction{over_tls}"
    if client.ehlo is not None:
        return f"after EHLO{over_tls}"
    return f"after connecting{over_tls}"


def _offer_findings(subject: str, client: ReceivedClient) -> list[Finding]:
    offer = client.client_hello
    assert offer is not None
    found: list[Finding] = []
    known = [v for v in offer.versions if v in TLS_VERSIONS]
    if known and max(known, key=TLS_VERSIONS.index) in DEPRECATED_TLS:
        found.append(finding("sender.no-tls12", subject, f"offers only {_names(known)}"))
    elif old := [v for v in known if v in DEPRECATED_TLS]:
        found.append(finding("sender.offers-old-tls", subject, f"also offers {_names(old)}"))
    weak = [s for s in offer.cipher_suites if any(m in s for m in WEAK_MARKS)]
    if weak:
        found.append(
            finding("sender.offers-weak-ciphers", subject, f"offers {', '.join(weak[:6])}")
        )
    if offer.server_name is None:
        found.append(finding("sender.no-sni", subject, "no server name (SNI) in its ClientHello"))
    return found


def _names(versions: Sequence[str]) -> str:
    return ", ".join(tls_name(v) for v in versions)


def _stopped_at_certificate(client: ReceivedClient) -> str | None:
    """How the client stopped after seeing the certificate, if it did."""
    error = (client.handshake_error or "").upper()
    if any(alert in error for alert in CERTIFICATE_ALERTS):
        return f"refused the certificate in the handshake ({client.handshake_error})"
    if (
        client.tls_version is not None
        and not client.message_sent
        and not client.mail_over_tls
        and client.handshake_error is None
        and client.closed_by not in TIMED_OUT
    ):
        completed = tls_name(client.tls_version)
        return f"completed {completed}, then left without a message ({client.closed_by})"
    return None


def judge_receive(
    *,
    listen: str,
    certificate: CertificateKind,
    certificate_subject: str,
    started_at: datetime,
    elapsed_ms: float,
    clients: Sequence[ReceivedClient],
    refused: int = 0,
) -> ReceiveReport:
    """Every client judged; no client at all is inconclusive (nothing was tested), and so
    is a client whose session timed out, unless something failed before."""
    judged = []
    for client in clients:
        found = client_findings(client, certificate)
        floor = Verdict.INCONCLUSIVE if client.closed_by in TIMED_OUT else Verdict.PASS
        verdict = verdict_of(found, floor=floor)
        judged.append(dataclasses.replace(client, findings=tuple(found), verdict=verdict))
    run_findings = []
    if not judged:
        run_findings.append(finding("receive.no-clients", listen, "no client connected in time"))
    if refused:
        message = f"{refused} connection{'s' if refused != 1 else ''} refused with 421"
        run_findings.append(finding("receive.sessions-refused", listen, message))
    verdict = worst_verdict(c.verdict for c in judged) if judged else Verdict.INCONCLUSIVE
    return ReceiveReport(
        listen=listen,
        certificate=certificate,
        certificate_subject=certificate_subject,
        started_at=started_at,
        elapsed_ms=elapsed_ms,
        clients=tuple(judged),
        refused_sessions=refused,
        findings=tuple(run_findings),
        verdict=verdict,
    )
