"""Receive mode against real clients on loopback: smtplib with and without STARTTLS, a
client that sends garbage instead of a ClientHello, one that drops mid-handshake."""

from __future__ import annotations

import contextlib
import os
import shutil
import smtplib
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable

import pytest

from starttls_check.model.sending import CertificateKind, ReceiveReport
from starttls_check.run.sending import ReceiveSettings, receive_clients
from starttls_check.tls.self_signed import receiver_certificates


def run_receiver(
    client: Callable[[int], None],
    kind: CertificateKind,
    *,
    done: threading.Event | None = None,
    deadline: float = 15.0,
    idle: float = 5.0,
    clients: int = 1,
) -> ReceiveReport:
    """Listen on a free loopback port, run `client(port)`, return the receiver's report;
    `done` is set once the receiver has its client."""
    settings = ReceiveSettings(
        address="127.0.0.1",
        port=0,
        hostname="receiver.test",
        certificate=kind,
        certificates=receiver_certificates(kind, "receiver.test"),
        clients=clients,
        deadline=deadline,
        idle=idle,
    )
    listening = threading.Event()
    bound: list[int] = []
    result: list[ReceiveReport] = []

    def on_listening(_address: str, port: int) -> None:
        bound.append(port)
        listening.set()

    def serve() -> None:
        result.append(receive_clients(settings, on_listening))
        if done is not None:
            done.set()

    thread = threading.Thread(target=serve)
    thread.start()
    assert listening.wait(10)
    try:
        client(bound[0])
    finally:
        thread.join(20)
    assert result, "the receiver did not return"
    return result[0]


def _smtplib(starttls: bool) -> Callable[[int], None]:
    def client(port: int) -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            smtp.ehlo("sender.test")
            if starttls:
                context = ssl.create_default_context()
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
                smtp.starttls(context=context)
                smtp.ehlo("sender.test")
            smtp.sendmail("a@sender.test", ["b@anywhere.test"], b"Subject: t\r\n\r\nhi\r\n")

    return client


@pytest.mark.parametrize("kind", [CertificateKind.EXPIRED, CertificateKind.WRONG_NAME])
def test_smtplib_over_tls_without_verifying(kind: CertificateKind) -> None:
    report = run_receiver(_smtplib(starttls=True), kind)
    (client,) = report.clients
    assert client.ehlo == "sender.test"
    assert client.starttls
    assert client.tls_version in ("TLSv1.3", "TLSv1.2")
    assert client.client_hello is not None
    assert "TLSv1.3" in client.client_hello.versions
    assert client.cipher
    assert client.message_sent
    assert client.message_over_tls
    assert client.recipients == ("<b@anywhere.test>",)
    assert "sender.unauthenticated" in {f.code for f in client.findings}
    assert report.certificate is kind


def test_verifying_client_stops() -> None:
    def client(port: int) -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            smtp.ehlo("sender.test")
            with pytest.raises(ssl.SSLCertVerificationError):
                smtp.starttls(context=ssl.create_default_context())

    report = run_receiver(client, CertificateKind.UNTRUSTED)
    (received,) = report.clients
    assert received.starttls
    assert received.client_hello is not None
    assert not received.message_sent
    assert received.handshake_error
    assert "sender.unauthenticated" not in {f.code for f in received.findings}


def test_smtplib_in_clear_text() -> None:
    report = run_receiver(_smtplib(starttls=False), CertificateKind.SELF_SIGNED)
    (client,) = report.clients
    assert not client.starttls
    assert client.client_hello is None
    assert client.message_sent
    assert not client.message_over_tls
    assert client.verdict.value == "fail"


def _raw(after_starttls: bytes) -> Callable[[int], None]:
    def client(port: int) -> None:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            reader = sock.makefile("rb")
            reader.readline()
            sock.sendall(b"EHLO raw.test\r\n")
            while not reader.readline().startswith(b"250 "):
                pass
            sock.sendall(b"STARTTLS\r\n")
            assert reader.readline().startswith(b"220")
            sock.sendall(after_starttls)

    return client


def test_garbage_instead_of_client_hello() -> None:
    report = run_receiver(
        _raw(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" + b"\x00" * 64), CertificateKind.SELF_SIGNED
    )
    (client,) = report.clients
    assert client.starttls
    assert client.client_hello is None
    assert client.client_hello_error
    assert client.tls_version is None
    assert not client.message_sent


def client_hello() -> bytes:
    """A real ClientHello, as Python's TLS client writes it."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    outgoing = ssl.MemoryBIO()
    tls = context.wrap_bio(ssl.MemoryBIO(), outgoing, server_hostname="receiver.test")
    with pytest.raises(ssl.SSLWantReadError):
        tls.do_handshake()
    return outgoing.read()


@pytest.mark.parametrize(
    ("sent", "detail"),
    [
        (b"", "the connection after 220 to STARTTLS, before sending a ClientHello"),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", "during its ClientHello, after 11 bytes"),
        (None, "the connection during the TLS handshake, after its ClientHello"),
    ],
    ids=["nothing", "partial-hello", "full-hello"],
)
def test_disconnect_mid_handshake(sent: bytes | None, detail: str) -> None:
    report = run_receiver(
        _raw(client_hello() if sent is None else sent), CertificateKind.SELF_SIGNED
    )
    (client,) = report.clients
    assert client.starttls
    assert client.tls_version is None
    assert not client.message_sent
    assert client.closed_by == "client"
    assert client.client_hello is None if sent is not None else client.client_hello is not None
    (failed,) = (f for f in client.findings if f.code == "sender.handshake-failed")
    assert detail in failed.message
    # A client that closes with our ServerHello unread in its buffer makes its kernel send
    # a reset: which of the two the receiver sees is a race, both are reported truthfully.
    assert "closed the connection" in failed.message or "reset the connection" in failed.message
    assert client.verdict.value == "fail"


def test_swaks_over_tls() -> None:
    if shutil.which("swaks") is None:
        if os.environ.get("CI") == "true":  # CI installs it; a skip there would hide that
            pytest.fail("swaks is not installed but CI=true; run .ci/install-postfix")
        pytest.skip("swaks is not installed (run .ci/install-postfix)")
    runs: list[subprocess.CompletedProcess[str]] = []

    def client(port: int) -> None:
        runs.append(
            subprocess.run(
                [
                    *("swaks", "--server", "127.0.0.1", "--port", str(port), "--tls"),
                    *("--helo", "swaks.test", "--from", "a@sender.test", "--to", "b@dest.test"),
                ],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
        )

    report = run_receiver(client, CertificateKind.SELF_SIGNED)
    (run,) = runs
    assert run.returncode == 0, run.stdout + run.stderr
    assert " -> STARTTLS" in run.stdout
    assert "=== TLS started with cipher" in run.stdout
    assert "<~  250 2.0.0 accepted and discarded" in run.stdout  # the message, inside TLS
    (received,) = report.clients
    assert received.ehlo == "swaks.test"
    assert received.starttls
    assert received.client_hello is not None
    assert received.tls_version in ("TLSv1.2", "TLSv1.3")
    assert received.mail_from == "<a@sender.test>"
    assert received.recipients == ("<b@dest.test>",)
    assert received.message_sent
    assert received.message_over_tls
    assert received.message_size > 0
    assert received.closed_by == "quit"
    (found,) = (f for f in received.findings if f.code == "sender.unauthenticated")
    assert "self-signed" in found.message


def _unverifying() -> ssl.SSLContext:
    """A client context that accepts any certificate, as Postfix's `may` does."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _unverifying_tls12_rsa_only() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers("ECDHE-RSA-AES128-GCM-SHA256")  # needs an RSA key on the server
    return context


def test_a_sender_with_rsa_suites_only_meets_the_flaw_not_a_cipher_mismatch() -> None:
    def client(port: int) -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            smtp.starttls(context=_unverifying_tls12_rsa_only())
            smtp.sendmail("a@sender.test", ["b@dest.test"], b"Subject: t\r\n\r\nhi\r\n")

    report = run_receiver(client, CertificateKind.EXPIRED)
    (received,) = report.clients
    assert received.handshake_error is None
    assert (received.tls_version, received.cipher) == ("TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256")
    assert "sender.unauthenticated" in {f.code for f in received.findings}


@pytest.mark.parametrize("ending", ["quit", "drop-in-data"])
def test_a_transaction_after_an_unverifiable_certificate_is_not_stopping(ending: str) -> None:
    """An address-verification probe (MAIL, RCPT, QUIT) or a drop in mid-message: the
    sender went on past the certificate; it is not credited with stopping there."""

    def client(port: int) -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            smtp.starttls(context=_unverifying())
            smtp.ehlo("probe.test")
            assert smtp.mail("<>", ["SIZE=12"])[0] == 250
            assert smtp.rcpt("<b@dest.test>")[0] == 250
            if ending == "quit":
                smtp.quit()
                return
            assert smtp.docmd("DATA")[0] == 354
            smtp.send(b"Subject: half a message\r\n")
            smtp.close()  # the connection drops in mid-message

    report = run_receiver(client, CertificateKind.SELF_SIGNED)
    (received,) = report.clients
    codes = {f.code for f in received.findings}
    assert "sender.stopped-at-certificate" not in codes
    assert "sender.unauthenticated" in codes
    assert received.mail_over_tls
    assert not received.message_sent
    assert received.mail_from == "<>"  # the SIZE parameter is not the sender
    assert received.verdict.value == "warn"


def test_starttls_inside_tls_is_refused_as_postfix_refuses_it() -> None:
    replies: list[tuple[int, bytes]] = []

    def client(port: int) -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            smtp.starttls(context=_unverifying())
            smtp.ehlo("again.test")
            replies.append(smtp.docmd("STARTTLS"))

    run_receiver(client, CertificateKind.SELF_SIGNED)
    assert replies == [(554, b"5.5.1 Error: TLS already active")]


def test_each_clients_offer_line_names_that_client() -> None:
    from starttls_check.render.receive_table import render_receive

    def two_clients(port: int) -> None:
        _smtplib(starttls=True)(port)
        _smtplib(starttls=True)(port)

    report = run_receiver(two_clients, CertificateKind.SELF_SIGNED, clients=2)
    text = render_receive(report, color=False, width=200)
    offers = [line for line in text.splitlines() if " offered: " in line]
    ports = {client.port for client in report.clients}
    assert len(offers) == len(ports) == 2
    for line, client in zip(offers, report.clients, strict=True):
        assert line.startswith(f"127.0.0.1:{client.port} (EHLO sender.test) offered: ")


def test_the_transcript_is_the_dialogue_without_the_message() -> None:
    report = run_receiver(_smtplib(starttls=True), CertificateKind.SELF_SIGNED)
    (client,) = report.clients
    seen = [(e.direction.value, e.text) for e in client.transcript]
    assert seen[0] == ("sent", "220 receiver.test ESMTP starttls-check receive mode")
    assert ("received", "ehlo sender.test") in seen
    assert ("sent", "220 2.0.0 ready to start TLS") in seen
    tls = [text for direction, text in seen if text.startswith("TLS: ")]
    assert tls == [f"TLS: {client.tls_version} {client.cipher}"]
    assert ("received", "data") in seen
    assert ("event", f"message: {client.message_size} bytes") in seen
    assert not [text for _, text in seen if "Subject" in text or text == "hi"]  # no content
    assert seen[-1] == ("event", "closed (quit)")
    times = [e.at_ms for e in client.transcript]
    assert times == sorted(times)


def test_the_transcript_is_bounded_and_keeps_its_end() -> None:
    from starttls_check.smtp.receive_record import HEAD, LINE_BYTES, MAX_ENTRIES, TAIL

    def chatty(port: int) -> None:  # each EHLO is answered with five lines
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            long_ehlo = b"EHLO " + b"\xff" * 1500 + b"\r\n"
            sock.sendall(long_ehlo + b"EHLO chatty.test\r\n" * 190 + b"QUIT\r\n")
            with contextlib.suppress(OSError):
                while sock.recv(65536):
                    pass

    report = run_receiver(chatty, CertificateKind.SELF_SIGNED)
    (client,) = report.clients
    transcript = [e.text for e in client.transcript]
    assert len(transcript) == MAX_ENTRIES == HEAD + 1 + TAIL
    assert transcript[HEAD].endswith(" entries left out)")
    assert transcript[-2:] == ["221 2.0.0 bye", "closed (quit)"]  # where a session ends
    (long,) = (t for t in transcript if t.startswith("EHLO \\xff"))
    assert (
        long
        == "EHLO "
        + "\\xff" * (LINE_BYTES - 5)
        + f" ... ({len(b'EHLO ') + 1502 - LINE_BYTES} more bytes)"
    )


def test_one_message_per_connection_a_second_is_refused() -> None:
    """A clear-text message, then STARTTLS and a second one, must not read as delivered
    over TLS: the second transaction is refused."""
    replies: list[int] = []

    def client(port: int) -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            smtp.sendmail("a@sender.test", ["b@dest.test"], b"Subject: one\r\n\r\nhi\r\n")
            replies.append(smtp.rcpt("<c@dest.test>")[0])
            replies.append(smtp.docmd("DATA")[0])
            replies.append(smtp.mail("<a@sender.test>")[0])

    report = run_receiver(client, CertificateKind.SELF_SIGNED)
    assert replies == [452, 452, 452]
    (received,) = report.clients
    assert received.message_sent
    assert not received.message_over_tls


def test_a_drop_in_the_client_hello_is_in_the_transcript() -> None:
    report = run_receiver(_raw(b"\x16\x03\x01\x02\x00\x01"), CertificateKind.SELF_SIGNED)
    (client,) = report.clients
    events = [e.text for e in client.transcript if e.direction.value == "event"]
    assert events[-2:] == [client.handshake_error, "closed (client)"]
    assert "during its ClientHello, after 6 bytes" in events[-2]
