"""Closed sets named once for the command line, the config and the code behind them.

Kept free of imports so that `--help` can list the choices without loading anything.
"""

from enum import StrEnum

OUTPUT_FORMATS = ("table", "json", "junit", "github", "markdown", "jsonl")


class MailProtocol(StrEnum):
    """`--protocol` values."""

    SMTP = "smtp"
    SUBMISSION = "submission"
    SMTPS = "smtps"
    LMTP = "lmtp"
    IMAP = "imap"
    IMAPS = "imaps"
    POP3 = "pop3"
    POP3S = "pop3s"
