"""The mail protocols we can check, their ports, and the sans-I/O client for each.

STARTTLS protocols upgrade a clear-text session (SMTP and submission RFC 3207, LMTP
RFC 2033, IMAP RFC 9051, POP3 RFC 2595); the `s` variants are implicit TLS from the first
byte (RFC 8314), and the protocol's greeting follows inside TLS.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..model.choices import MailProtocol
from .dialects import ImapClient, Pop3Client
from .sansio import ReplyReader, SmtpClient


@dataclass(frozen=True, slots=True)
class ProtocolInfo:
    """What a protocol is on the wire."""

    default_port: int
    implicit_tls: bool


PROTOCOLS = {
    MailProtocol.SMTP: ProtocolInfo(25, implicit_tls=False),
    MailProtocol.SUBMISSION: ProtocolInfo(587, implicit_tls=False),
    MailProtocol.SMTPS: ProtocolInfo(465, implicit_tls=True),
    MailProtocol.LMTP: ProtocolInfo(24, implicit_tls=False),
    MailProtocol.IMAP: ProtocolInfo(143, implicit_tls=False),
    MailProtocol.IMAPS: ProtocolInfo(993, implicit_tls=True),
    MailProtocol.POP3: ProtocolInfo(110, implicit_tls=False),
    MailProtocol.POP3S: ProtocolInfo(995, implicit_tls=True),
}

Client = SmtpClient | ImapClient | Pop3Client


def new_dialogue(protocol: MailProtocol, ehlo_name: str) -> tuple[ReplyReader, Client]:
    """A fresh reader and client for one session of `protocol`."""
    implicit = PROTOCOLS[protocol].implicit_tls
    if protocol in (MailProtocol.IMAP, MailProtocol.IMAPS):
        reader = ReplyReader()
        return reader, ImapClient(reader, implicit_tls=implicit)
    if protocol in (MailProtocol.POP3, MailProtocol.POP3S):
        reader = ReplyReader()
        return reader, Pop3Client(reader, implicit_tls=implicit)
    hello = "LHLO" if protocol is MailProtocol.LMTP else "EHLO"
    return ReplyReader(), SmtpClient(ehlo_name, hello=hello, implicit_tls=implicit)
