"""`--postfix-config` against a real Postfix instance's configuration, read by `postconf`."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest

from starttls_check.demo.loopback.pki import chain_pem, make_ca, make_leaf
from tests.mta.postfix import PostfixInstance, postfix_available, running_postfix

pytestmark = pytest.mark.postfix


@pytest.fixture(scope="module")
def instance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostfixInstance]:
    if not postfix_available():
        pytest.skip("postfix is not installed (run .ci/install-postfix)")
    directory = tmp_path_factory.mktemp("postfix-settings")
    ca = make_ca("settings test CA")
    leaf = make_leaf(["mx.postfix.test"], ca, key="rsa2048")
    (directory / "chain.pem").write_bytes(chain_pem(leaf, ca))
    (directory / "key.pem").write_bytes(leaf.key_pem)
    with running_postfix(directory / "chain.pem", directory / "key.pem") as running:
        yield running


def test_the_running_instance_settings(instance: PostfixInstance) -> None:
    config = instance.log_path.parent / "etc"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "starttls_check",
            "--postfix-config",
            str(config),
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1, result.stderr  # it sends in clear text: smtp level empty
    report = json.loads(result.stdout)["report"]
    assert report["settings"]["source"] == "postconf"
    values = dict(report["settings"]["values"])
    assert values["smtpd_tls_security_level"] == "may"
    codes = [f["code"] for f in report["findings"]]
    assert codes == [
        "postfix.smtp-tls-off",
        "postfix.loglevel-zero",
        "postfix.no-received-header",
    ]
    (chain,) = report["settings"]["files"]
    assert chain["setting"] == "smtpd_tls_chain_files"
    assert chain["key_matches"] is True
    assert len(chain["certificates"]) == 2
