"""Library exceptions in admins' words (tls/wording.py): no file names, no errno tuples."""

from __future__ import annotations

import errno
import ssl

import pytest

from starttls_check.tls.wording import describe


def ssl_error(reason: str, text: str) -> ssl.SSLError:
    exc = ssl.SSLError(1, f"[SSL: {reason}] {text} (_ssl.c:1006)")
    exc.reason = reason  # as the ssl module sets it
    return exc


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (
            ConnectionRefusedError(errno.ECONNREFUSED, "Connect call failed ('127.0.0.1', 25)"),
            "connection refused",
        ),
        (OSError(errno.ENETUNREACH, "Network is unreachable"), "network is unreachable"),
        (OSError(errno.EHOSTUNREACH, "No route to host"), "no route to host"),
        (
            ssl_error("WRONG_VERSION_NUMBER", "wrong version number"),
            "the server did not answer in TLS (wrong version number)",
        ),
        (ssl_error("BAD_ECPOINT", "bad ecpoint"), "bad ecpoint"),
        (RuntimeError("[Errno 5] something odd"), "something odd"),
        (RuntimeError(), "RuntimeError"),
    ],
)
def test_exceptions_read_as_admins_write_them(exc: BaseException, expected: str) -> None:
    text = describe(exc)
    assert text == expected
    assert "_ssl.c" not in text
    assert "Errno" not in text
