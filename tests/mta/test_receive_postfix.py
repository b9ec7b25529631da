"""Postfix from Debian's packages as the sender: a private instance relays one message to
the receive mode's loopback port with each smtp_tls_security_level in turn."""

from __future__ import annotations

import os
import smtplib
import threading
from pathlib import Path

import pytest

from starttls_check.model.sending import CertificateKind
from starttls_check.tls.self_signed import receiver_certificate
from tests.mta.postfix import _free_port, postfix_available, running_postfix
from tests.test_receive import run_receiver

pytestmark = [
    pytest.mark.postfix,
    pytest.mark.skipif(not postfix_available(), reason="Postfix is not installed"),
    pytest.mark.skipif(os.geteuid() != 0, reason="a private Postfix must start as root"),
]


@pytest.mark.parametrize(
    ("level", "starttls", "delivered"),
    [("none", False, True), ("may", True, True), ("encrypt", True, True), ("verify", True, False)],
)
def test_postfix_sender_levels(tmp_path: Path, level: str, starttls: bool, delivered: bool) -> None:
    chain, key = receiver_certificate(CertificateKind.SELF_SIGNED, "postfix-sender.test")
    (tmp_path / "chain.pem").write_bytes(chain)
    (tmp_path / "key.pem").write_bytes(key)

    # A CA file that does not hold the receiver's certificate: `verify` must stop.
    unrelated, _ = receiver_certificate(CertificateKind.SELF_SIGNED, "unrelated.test")
    (tmp_path / "ca.pem").write_bytes(unrelated)
    done = threading.Event()

    def send_through_postfix(port: int) -> None:
        extra = (
            f"relayhost = [127.0.0.1]:{port}\n"
            f"smtp_tls_security_level = {level}\n"
            f"smtp_tls_CAfile = {tmp_path / 'ca.pem'}\n"
        )
        with (
            running_postfix(
                tmp_path / "chain.pem", tmp_path / "key.pem", extra_main_cf=extra
            ) as postfix,
            smtplib.SMTP("127.0.0.1", postfix.port, timeout=10) as smtp,
        ):
            smtp.sendmail("a@sender.test", ["b@dest.test"], b"Subject: t\r\n\r\nhi\r\n")
            # Keep Postfix running until its smtp client has come and gone.
            done.wait(25)

    report = run_receiver(send_through_postfix, CertificateKind.SELF_SIGNED, done=done)
    (client,) = report.clients
    assert client.starttls is starttls
    assert client.message_sent is delivered
    if starttls:
        assert client.client_hello is not None
        assert client.client_hello.versions
    codes = {f.code for f in client.findings}
    assert ("sender.unauthenticated" in codes) is (level in ("may", "encrypt"))


@pytest.mark.parametrize("submit_tls", [True, False])
def test_postfix_received_line_parsed_by_headers(tmp_path: Path, submit_tls: bool) -> None:
    """The Received line this Postfix writes, read back by the --headers analysis."""
    import ssl

    from aiosmtpd.controller import Controller

    from starttls_check.model.sending import HeaderFormat, HopTls
    from starttls_check.run.sending import check_headers

    chain, key = receiver_certificate(CertificateKind.SELF_SIGNED, "mx.postfix.test")
    (tmp_path / "chain.pem").write_bytes(chain)
    (tmp_path / "key.pem").write_bytes(key)
    arrived: list[bytes] = []
    got = threading.Event()

    class Sink:
        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
            arrived.append(envelope.original_content)  # type: ignore[attr-defined]
            got.set()
            return "250 OK"

    sink_port = _free_port()
    sink = Controller(Sink(), hostname="127.0.0.1", port=sink_port)
    sink.start()
    try:
        extra = (
            f"relayhost = [127.0.0.1]:{sink_port}\n"
            "smtp_tls_security_level = none\n"
            "smtpd_tls_received_header = yes\n"
        )
        with (
            running_postfix(
                tmp_path / "chain.pem", tmp_path / "key.pem", extra_main_cf=extra
            ) as postfix,
            smtplib.SMTP("127.0.0.1", postfix.port, timeout=10) as smtp,
        ):
            smtp.ehlo("submitter.test")
            if submit_tls:
                context = ssl.create_default_context()
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
                smtp.starttls(context=context)
                smtp.ehlo("submitter.test")
            smtp.sendmail("a@sender.test", ["b@dest.test"], b"Subject: t\r\n\r\nhi\r\n")
            assert got.wait(20), "Postfix did not relay the message"
    finally:
        sink.stop()
    report = check_headers(arrived[0], "relayed")
    (hop,) = report.hops
    assert hop.format is HeaderFormat.POSTFIX
    assert hop.tls is (HopTls.USED if submit_tls else HopTls.NOT_USED)
