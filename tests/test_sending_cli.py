"""The sending-side modes as a user runs them: a real process, exit codes, the JSON
validated against its schema, hostile text escaped."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import pytest

MESSAGE = (
    b"Received: from relay.example.org (relay.example.org [198.51.100.7])\r\n"
    b"\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))\r\n"
    b"\tby mx.example.com (Postfix) with ESMTPS id AAA; Tue, 1 Dec 2026 12:00:02 +0000\r\n"
    b"Received: from sender.example.org (sender.example.org [192.0.2.1])\r\n"
    b"\tby relay.example.org (Postfix) with ESMTPS id BBB; Tue, 1 Dec 2026 12:00:01 +0000\r\n"
    b"Subject: \x1b[2J\xff hello\r\n"
    b"\r\n"
    b"body\r\n"
)


def cli(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "starttls_check", *args],
        input=stdin,
        env={**os.environ, "COLUMNS": "200"},
        capture_output=True,
        timeout=60,
        check=False,
    )


def validate(document: dict[str, Any]) -> None:
    schema = json.loads(files("starttls_check").joinpath("schema/sending.schema.json").read_text())
    jsonschema.validate(document, schema, format_checker=jsonschema.FormatChecker())


def test_headers_from_a_file_pass(tmp_path: Path) -> None:
    path = tmp_path / "m.eml"
    path.write_bytes(MESSAGE)
    result = cli("--headers", str(path))
    assert result.returncode == 0, result.stderr
    out = result.stdout.decode()
    assert "TLS 1.3 TLS_AES_256_GCM_SHA384" in out
    assert "\x1b" not in out
    assert "\\x1b[2J" in out


def test_headers_from_stdin_as_json_match_the_schema() -> None:
    clear = MESSAGE.replace(b"with ESMTPS id BBB", b"with ESMTP id BBB")
    result = cli("--headers", "-", "--format", "json", stdin=clear)
    assert result.returncode == 1, result.stderr
    document = json.loads(result.stdout)
    validate(document)
    assert document["mode"] == "headers"
    assert document["exit_code"] == 1
    report = document["report"]
    assert [h["tls"] for h in report["hops"]] == ["not-used", "used"]
    assert [f["code"] for f in report["findings"]] == ["received.clear-text"]


def test_a_not_recorded_hop_is_never_clear_text() -> None:
    unknown = MESSAGE.replace(b"(Postfix) with ESMTPS id BBB", b"(Foo) with ESMTP id BBB")
    result = cli("--headers", "-", stdin=unknown)
    assert result.returncode == 0, result.stderr
    out = result.stdout.decode()
    assert "not recorded" in out
    assert "CLEAR TEXT" not in out


@pytest.mark.parametrize(
    ("data", "codes"),
    [
        (b"", ["received.none", "received.not-a-message"]),
        (bytes(range(256)) * 64, ["received.none", "received.not-a-message"]),
        (b"Subject: no path\r\n\r\nbody\r\n", ["received.none"]),
    ],
)
@pytest.mark.parametrize("from_stdin", [False, True])
def test_headers_without_received_are_inconclusive(
    tmp_path: Path, data: bytes, codes: list[str], *, from_stdin: bool
) -> None:
    path = tmp_path / "m.eml"
    path.write_bytes(data)
    args = ("--headers", "-") if from_stdin else ("--headers", str(path))
    result = cli(*args, "--format", "json", stdin=data)
    assert result.returncode == 3, result.stderr
    document = json.loads(result.stdout)
    validate(document)
    assert document["exit_code"] == 3
    assert document["report"]["verdict"] == "inconclusive"
    assert [f["code"] for f in document["report"]["findings"]] == codes
    table = cli(*args, "--fail-on", "warn", stdin=data)
    assert table.returncode == 3, table.stderr
    assert "INCONCLUSIVE" in table.stdout.decode()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--headers", "/nonexistent/m.eml"], "/nonexistent/m.eml: No such file or directory"),
        (["--headers", "-", "example.com"], "--headers does not take a target"),
        (["--headers", "-", "--deep"], "--headers does not take --deep"),
        (["--headers", "-", "--format", "junit"], "write table or json only"),
        (["--headers", "-", "--postfix-config", "x"], "give one of --headers"),
        (["--headers", "-", "--clients", "2"], "--clients needs --receive"),
        (["--postfix-config", "x", "--certificate", "expired"], "--certificate needs --receive"),
        (["example.com", "--hostname", "mx.test"], "--hostname needs --receive"),
        (["--receive", "2525"], "bad listen address '2525'"),
        (["--receive", "example.com:25"], "bad listen address"),
        (["--receive", "127.0.0.1:0", "--certificate", "bogus"], "Invalid value"),
        (["--receive", "127.0.0.1:0", "--cert", "/nonexistent.pem"], "--cert and --key go"),
        (["--receive", "127.0.0.1:0", "--cert", "/no.pem", "--key", "/no.key"], "cannot read"),
        (["--receive", "127.0.0.1:0", "example.com"], "--receive does not take a target"),
        (["--receive", "127.0.0.1:0", "--input", "x"], "--receive does not take --input"),
        (["--receive", "127.0.0.1:0", "--resume", "r.jsonl"], "does not take --resume"),
        (["--receive", "127.0.0.1:0", "--dask", "local"], "does not take --dask"),
        (["--receive", "127.0.0.1:0", "--ehlo", "a.test"], "does not take --ehlo"),
        (["--receive", "127.0.0.1:0", "--no-policy-checks"], "does not take --no-policy-checks"),
        (["--postfix-config", "x", "-q"], "--postfix-config does not take -q"),
        (["--headers", "-", "-v"], "--headers does not take -v"),
        (["--receive", "127.0.0.1:0", "--hostname", "x\r\n250 evil"], "bad host name"),
        (["--receive", "127.0.0.1:0", "--hostname", "bad name"], "bad host name"),
        (
            ["--receive", ":0", "--cert", "c.pem", "--key", "k.pem", "--certificate", "expired"],
            "not with --cert/--key",
        ),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(args: list[str], message: str) -> None:
    result = cli(*args)
    assert result.returncode == 2
    err = result.stderr.decode()
    assert err.count("\n") == 1
    assert message in err


def test_postfix_config_file_as_json_matches_the_schema(tmp_path: Path) -> None:
    saved = tmp_path / "postconf-n.txt"
    saved.write_text("smtp_tls_security_level = may\nsmtpd_tls_security_level = none\n")
    result = cli("--postfix-config", str(saved), "--format", "json")
    assert result.returncode == 1, result.stderr
    document = json.loads(result.stdout)
    validate(document)
    assert document["mode"] == "postfix-config"
    codes = [f["code"] for f in document["report"]["findings"]]
    assert codes == [
        "postfix.smtp-unauthenticated",
        "postfix.loglevel-zero",
        "postfix.smtpd-tls-off",
    ]


def test_postfix_config_missing_is_a_usage_error(tmp_path: Path) -> None:
    result = cli("--postfix-config", str(tmp_path / "none.cf"))
    assert result.returncode == 2
    assert "none.cf" in result.stderr.decode()


def _one_error_line(result: subprocess.CompletedProcess[bytes], *parts: str) -> str:
    assert result.returncode == 2, result.stdout
    assert result.stdout == b""
    err = result.stderr.decode()
    assert err.count("\n") == 1, err
    assert all(part in err for part in parts), err
    assert "\x1b" not in err
    assert "\x00" not in err
    return err


def test_postfix_config_binary_file_is_an_error_not_a_verdict(tmp_path: Path) -> None:
    import random

    garbage = tmp_path / "random-bytes.cf"
    garbage.write_bytes(random.Random(1).randbytes(4096) + b"\0")
    result = cli("--postfix-config", str(garbage))
    _one_error_line(result, f"no Postfix settings found in {garbage}", "binary")


def test_postfix_config_without_a_setting_is_an_error(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("# only a comment\nhello world\n\n")
    result = cli("--postfix-config", str(text))
    _one_error_line(result, f"no Postfix settings found in {text}", "no `name = value` line")


def test_postfix_config_directory_postconf_refuses_is_an_error(tmp_path: Path) -> None:
    from starttls_check.policy.postfix_settings import postconf_path

    if postconf_path() is None:
        pytest.skip("postconf is not installed")
    import random

    (tmp_path / "main.cf").write_bytes(random.Random(1).randbytes(4096) + b"\0")
    result = cli("--postfix-config", str(tmp_path))
    _one_error_line(result, "no Postfix settings found", f"postconf -c {tmp_path} failed")
    # postconf takes this one for a setting named ESC [2J; a NUL still makes it binary.
    (tmp_path / "main.cf").write_bytes(b"\x1b[2J=\xff\x00garbage\n")
    result = cli("--postfix-config", str(tmp_path))
    _one_error_line(result, f"no Postfix settings found in {tmp_path / 'main.cf'} (a binary")
    # A text main.cf that postconf refuses is not judged either: Postfix would not start.
    (tmp_path / "main.cf").write_text("smtp_tls_security_level = may\nhello\n")
    result = cli("--postfix-config", str(tmp_path))
    _one_error_line(result, f"postconf -c {tmp_path} failed", "hello")


def _receive_one_message(*options: str) -> tuple[int, bytes, str, int]:
    """Run the receive mode in a child, send it one message over unverified TLS; its exit
    code, stdout, stderr and port."""
    import smtplib
    import socket
    import ssl
    import time

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    args = ["--receive", f"127.0.0.1:{port}", "--receive-timeout", "20", *options]
    process = subprocess.Popen(
        [sys.executable, "-m", "starttls_check", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                smtp = smtplib.SMTP("127.0.0.1", port, timeout=10)
                break
            except ConnectionRefusedError:
                assert time.monotonic() < deadline, "the receiver did not listen"
                time.sleep(0.05)
        with smtp:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            smtp.starttls(context=context)
            smtp.sendmail("a@sender.test", ["b@x.test"], b"Subject: t\r\n\r\nhi\r\n")
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return process.returncode, out, err.decode(), port


def test_receive_as_json_matches_the_schema() -> None:
    code, out, err, port = _receive_one_message("--format", "json", "--certificate", "wrong-name")
    assert code == 0, err
    assert f"receiving on 127.0.0.1:{port}" in err
    document = json.loads(out)
    validate(document)
    assert document["mode"] == "receive"
    (client,) = document["report"]["clients"]
    assert client["starttls"]
    assert client["message_sent"]
    assert "sender.unauthenticated" in [f["code"] for f in client["findings"]]
    assert {"at_ms", "direction", "text"} == set(client["transcript"][0])


def test_receive_with_v_shows_each_clients_dialogue() -> None:
    code, out, err, _ = _receive_one_message("-v")
    assert code == 0, err
    text = out.decode()
    assert "-> 220 2.0.0 ready to start TLS" in text
    assert "<- STARTTLS" in text
    assert "** closed (quit)" in text
    quiet_code, quiet, _, _ = _receive_one_message()
    assert quiet_code == 0
    assert "ready to start TLS" not in quiet.decode()


def test_receive_without_clients_exits_3_naming_the_bound_port() -> None:
    result = cli("--receive", "127.0.0.1:0", "--receive-timeout", "1")
    assert result.returncode == 3, result.stderr
    first, last = result.stderr.decode().splitlines()
    assert first.startswith("starttls-check: receiving on 127.0.0.1:")
    port = int(first.rpartition(":")[2])
    assert port != 0
    assert last == f"starttls-check: no client connected to 127.0.0.1:{port} in 1 s"
    out = result.stdout.decode()
    assert f"receive mode on 127.0.0.1:{port}" in out
    assert "receive.no-clients" in out


def test_swapped_or_mismatched_cert_and_key_name_the_wrong_file(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization

    from starttls_check.model.sending import CertificateKind
    from starttls_check.tls.self_signed import receiver_certificate

    chain, key = receiver_certificate(CertificateKind.SELF_SIGNED, "mine.test")
    _, other_key = receiver_certificate(CertificateKind.SELF_SIGNED, "other.test")
    locked = serialization.load_pem_private_key(key, password=None).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret"),
    )
    files = {"chain.pem": chain, "key.pem": key, "other.pem": other_key, "locked.pem": locked}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    cert, own, other, enc = (str(tmp_path / n) for n in files)
    for args, message in (
        ((own, cert), f"--cert {own} holds no PEM certificate"),
        ((cert, cert), f"--key {cert} holds no PEM private key"),
        ((cert, other), f"--key {other} is not the key of the first certificate"),
        ((cert, enc), f"--key {enc} is encrypted"),
    ):
        result = cli("--receive", "127.0.0.1:0", "--cert", args[0], "--key", args[1])
        assert result.returncode == 2
        err = result.stderr.decode()
        assert err.count("\n") == 1
        assert message in err
