"""Library exceptions in a mail administrator's words, for the I/O edge to record.

Python's texts are for programmers: `[Errno 111] Connect call failed ('192.0.2.1', 25)`,
`[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)`. Admins search for
OpenSSL's and the kernel's own words ("connection refused", "wrong version number",
"alert handshake failure"), so those stay; file names, line numbers and tuples go. Pure.
"""

from __future__ import annotations

import errno
import os
import re
import ssl

# What an OpenSSL reason means for the session, with OpenSSL's words kept in brackets.
_SSL_REASONS = {
    "WRONG_VERSION_NUMBER": "the server did not answer in TLS (wrong version number)",
    "UNSUPPORTED_PROTOCOL": "no TLS version in common (unsupported protocol)",
    "TLSV1_ALERT_PROTOCOL_VERSION": "the server refused every TLS version offered (alert "
    "protocol version)",
    "SSLV3_ALERT_HANDSHAKE_FAILURE": "the server ended the handshake: no cipher or version in "
    "common (alert handshake failure)",
    "NO_SHARED_CIPHER": "no cipher in common (no shared cipher)",
    "NO_CIPHERS_AVAILABLE": "no cipher in common (no ciphers available)",
    "UNEXPECTED_EOF_WHILE_READING": "connection closed by the server during the TLS handshake",
    "TLSV1_ALERT_INTERNAL_ERROR": "the server's TLS library failed (alert internal error)",
    "DH_KEY_TOO_SMALL": "the server's Diffie-Hellman key is too small (dh key too small)",
    "RECORD_LAYER_FAILURE": "the TLS record layer failed (record layer failure)",
}
_SSL_BRACKETS = re.compile(r"^\[SSL(?:: [A-Z0-9_]+)?\]\s*|\s*\(_ssl\.c:\d+\)$")
_ERRNO_PREFIX = re.compile(r"^\[Errno -?\d+\]\s*")
_CONNECT_CALL = re.compile(r"^(?:Multiple exceptions: )?Connect call failed \(.*\)$")


def describe(exc: BaseException) -> str:
    """One line for a person: what went wrong, in the words admins search for."""
    if isinstance(exc, ssl.SSLError):
        return _ssl(exc)
    if isinstance(exc, OSError) and exc.errno is not None:
        return _os(exc)
    text = " ".join(str(exc).split())
    return _ERRNO_PREFIX.sub("", text) or type(exc).__name__


def _ssl(exc: ssl.SSLError) -> str:
    reason = getattr(exc, "reason", None)
    if isinstance(reason, str) and reason in _SSL_REASONS:
        return _SSL_REASONS[reason]
    text = _SSL_BRACKETS.sub("", " ".join(str(exc).split()))
    text = _ERRNO_PREFIX.sub("", text).strip()
    if isinstance(reason, str) and (not text or text.startswith("(")):
        return reason.lower().replace("_", " ")
    return text or "TLS failed"


def _os(exc: OSError) -> str:
    code = exc.errno
    assert code is not None
    words = os.strerror(code).lower() if code > 0 else ""
    text = _ERRNO_PREFIX.sub("", " ".join(str(exc).split()))
    if code == errno.ECONNREFUSED or _CONNECT_CALL.match(text):
        return words or "connection refused"
    return words or text or type(exc).__name__
