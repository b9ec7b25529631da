"""Smoke test: the private Postfix instance starts, offers STARTTLS and negotiates TLS 1.3."""

from __future__ import annotations

import os
import smtplib
import socket
import ssl
import time
from pathlib import Path

import pytest
import trustme

from tests.mta.postfix import postfix_available, running_postfix

HOSTNAME = "mx.postfix.test"

pytestmark = pytest.mark.postfix


@pytest.fixture
def require_postfix() -> None:
    if postfix_available():
        return
    # CI installs Postfix (.ci/install-postfix); a skip there would hide a broken setup.
    if os.environ.get("CI") == "true":
        pytest.fail("postfix is not installed but CI=true; run .ci/install-postfix")
    pytest.skip("postfix is not installed (run .ci/install-postfix)")


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def server_pems(ca: trustme.CA, tmp_path: Path) -> tuple[Path, Path]:
    leaf = ca.issue_cert(HOSTNAME)
    chain, key = tmp_path / "chain.pem", tmp_path / "key.pem"
    for blob in leaf.cert_chain_pems:
        blob.write_to_path(chain, append=True)
    leaf.private_key_pem.write_to_path(key)
    return chain, key


@pytest.mark.usefixtures("require_postfix")
def test_postfix_offers_starttls_with_tls13(ca: trustme.CA, server_pems: tuple[Path, Path]) -> None:
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    with running_postfix(*server_pems) as mx:
        assert mx.hostname == HOSTNAME
        # local_hostname: otherwise smtplib calls socket.getfqdn(), i.e. the system resolver.
        with smtplib.SMTP("127.0.0.1", mx.port, local_hostname="client.test", timeout=10) as smtp:
            smtp.ehlo()
            assert smtp.has_extn("starttls")
            # smtplib verifies against the host it connected to (an IP here); the certificate
            # names the MX, and a resolver must not be used, so set the name it checks.
            smtp._host = HOSTNAME
            smtp.starttls(context=client_ctx)
            assert isinstance(smtp.sock, ssl.SSLSocket)
            assert smtp.sock.version() == "TLSv1.3"
            smtp.ehlo()
            assert not smtp.has_extn("starttls")
        # The log file is where failures get diagnosed: make sure Postfix writes to it.
        assert _wait_for_log(mx.log_path, "TLS connection established")


@pytest.mark.usefixtures("require_postfix")
def test_instances_run_side_by_side_and_stop_cleanly(server_pems: tuple[Path, Path]) -> None:
    with running_postfix(*server_pems) as a, running_postfix(*server_pems) as b:
        assert a.port != b.port
        for mx in (a, b):
            with smtplib.SMTP("127.0.0.1", mx.port, local_hostname="client.test") as smtp:
                assert smtp.noop()[0] == 250
    for mx in (a, b):
        assert not mx.log_path.parent.exists()
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", mx.port), timeout=2).close()


def _wait_for_log(path: Path, text: str, timeout: float = 5.0) -> bool:
    # postlogd writes asynchronously, so the line may lag behind the SMTP dialogue.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text(errors="replace"):
            return True
        time.sleep(0.05)
    return False
