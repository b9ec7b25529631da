"""The checker against a real MTA: a private Postfix on loopback with a test certificate."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from starttls_check.demo.loopback.dns_server import LoopbackDnsServer
from starttls_check.demo.loopback.pki import Issued, chain_pem, make_ca, make_leaf
from tests.mta.postfix import PostfixInstance, postfix_available, running_postfix
from tests.support.threaded import BackgroundLoop

pytestmark = pytest.mark.postfix
ZONE = (
    "test. 300 IN SOA ns.test. hostmaster.test. 1 3600 600 86400 300\n"
    "test. 300 IN NS ns.test.\n"
    "postfix.test. 300 IN MX 10 mx.postfix.test.\n"
    "mx.postfix.test. 300 IN A 127.0.0.1\n"
)


@pytest.fixture(scope="module")
def postfix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[PostfixInstance, Path]]:
    if not postfix_available():
        if os.environ.get("CI") == "true":  # CI installs it; a skip there would hide that
            pytest.fail("postfix is not installed but CI=true; run .ci/install-postfix")
        pytest.skip("postfix is not installed (run .ci/install-postfix)")
    directory = tmp_path_factory.mktemp("postfix-pki")
    ca: Issued = make_ca("postfix test CA")
    leaf = make_leaf(["mx.postfix.test"], ca, key="rsa2048")
    (directory / "chain.pem").write_bytes(chain_pem(leaf, ca))
    (directory / "key.pem").write_bytes(leaf.key_pem)
    (directory / "ca.pem").write_bytes(ca.cert_pem)
    with running_postfix(directory / "chain.pem", directory / "key.pem") as instance:
        yield instance, directory / "ca.pem"


def test_postfix_end_to_end(postfix: tuple[PostfixInstance, Path]) -> None:
    instance, ca_file = postfix
    with BackgroundLoop() as background:
        dns = background.enter_async_context(LoopbackDnsServer({"test.": ZONE}))
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "starttls_check",
                "--format",
                "json",
                "--nameserver",
                f"127.0.0.1:{dns.port}",
                "--port",
                str(instance.port),
                "--ca-file",
                str(ca_file),
                "--ehlo",
                "client.test",
                "postfix.test",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        dns.raise_errors()
    assert result.returncode == 0, result.stdout + result.stderr
    (report,) = json.loads(result.stdout)["reports"]
    assert report["verdict"] == "pass", report["findings"]
    (host,) = report["hosts"]
    facts = host["facts"]
    assert facts["greeting"]["lines"][0].startswith("mx.postfix.test ESMTP")
    assert facts["starttls_offered"] is True
    assert facts["tls"]["version"] == "TLSv1.3"
    assert facts["tls"]["chain"][0]["key_type"] == "RSA"
    assert host["trust"]["problems"] == []
    assert host["trust"]["trusted_path"][-1] == "CN=postfix test CA"
    after = facts["capabilities_after_tls"]
    assert "STARTTLS" not in after  # Postfix stops offering it inside TLS
    assert "PIPELINING" in after
    assert host["findings"] == []
