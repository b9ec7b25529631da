"""Postfix's TLS settings: the protocol expressions, the levels, the files they name,
judged; read from files and through the real `postconf`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from starttls_check.checks.postfix_settings import allowed_protocols, client_level, judge_postfix
from starttls_check.demo.loopback.pki import chain_pem, make_ca, make_leaf
from starttls_check.model.findings import Verdict
from starttls_check.policy.postfix_files import read_files
from starttls_check.policy.postfix_settings import (
    DEFAULTS,
    expand,
    parse_main_cf,
    postconf_path,
    read_settings,
)
from starttls_check.tls.certs import TrustStore

NOW = datetime.now(UTC)


@pytest.mark.parametrize(
    ("expression", "allowed"),
    [
        (">=TLSv1", ("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")),
        (">=TLSv1.2", ("TLSv1.2", "TLSv1.3")),
        ("!SSLv2, !SSLv3", ("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")),
        ("!SSLv2 !SSLv3 !TLSv1 !TLSv1.1", ("TLSv1.2", "TLSv1.3")),
        ("!SSLv2", ("SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")),
        ("TLSv1.2:TLSv1.3", ("TLSv1.2", "TLSv1.3")),
        (">=TLSv1 <=TLSv1.2", ("TLSv1", "TLSv1.1", "TLSv1.2")),
        ("", ("SSLv2", "SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")),
        ("SSLv3, TLSv1", ("SSLv3", "TLSv1")),  # the inclusion list: nothing newer
        ("TLSv1.2, TLSv1.3", ("TLSv1.2", "TLSv1.3")),
        ("tlsv1.2 TLSV1.3", ("TLSv1.2", "TLSv1.3")),  # names in any case, as Postfix takes them
        ("TLSv1, TLSv1.1, TLSv1.2, !TLSv1", ("TLSv1.1", "TLSv1.2")),
        ("!TLSv1.2, !TLSv1.3", ("SSLv2", "SSLv3", "TLSv1", "TLSv1.1")),
        (">=TLSv1.3", ("TLSv1.3",)),
    ],
)
def test_protocol_expressions(expression: str, allowed: tuple[str, ...]) -> None:
    assert allowed_protocols(expression) == allowed


def test_main_cf_syntax_and_expansion() -> None:
    text = (
        "# comment\n"
        "base = /etc/postfix\n"
        "smtpd_tls_chain_files = ${base}/key.pem,\n"
        "    $base/chain.pem\n"
        "smtp_tls_security_level = may\n"
        "smtp_tls_security_level = encrypt\n"
        "not a setting\n"
    )
    values = expand(parse_main_cf(text))
    assert values["smtpd_tls_chain_files"] == "/etc/postfix/key.pem, /etc/postfix/chain.pem"
    assert values["smtp_tls_security_level"] == "encrypt"  # the later one wins
    assert expand({"a": "x$a$a"})["a"] == "x"  # a self-reference expands to nothing
    assert expand({"a": "1$b", "b": "2$a"}) == {"a": "12", "b": "21"}  # a loop ends
    wide = {f"v{i}": f"$v{i + 1}$v{i + 1}" for i in range(30)}
    assert len(expand(wide)["v0"]) <= 1 << 16  # doubling at each level stays bounded


@pytest.mark.parametrize(
    ("values", "level"),
    [
        ({}, "none"),
        ({"smtp_use_tls": "yes"}, "may"),
        ({"smtp_enforce_tls": "yes"}, "encrypt"),
        ({"smtp_tls_security_level": "DANE", "smtp_use_tls": "yes"}, "dane"),
    ],
)
def test_client_level_with_obsolete_settings(values: dict[str, str], level: str) -> None:
    assert client_level({**DEFAULTS, **values}) == level


def _write_pki(directory: Path) -> dict[str, Path]:
    ca = make_ca("Test CA")
    other = make_ca("Other CA")
    leaf = make_leaf(["mx.example.com"], ca)
    expired = make_leaf(
        ["mx.example.com"],
        ca,
        not_before=NOW - timedelta(days=90),
        not_after=NOW - timedelta(days=1),
    )
    files = {
        "key": leaf.key_pem,
        "chain": chain_pem(leaf, ca),
        "leaf": leaf.cert_pem,
        "ca": ca.cert_pem,
        "other_key": other.key_pem,
        "expired_key": expired.key_pem,
        "expired": chain_pem(expired, ca),
        "misordered": chain_pem(ca, leaf),
        "garbage": b"not a certificate\n",
    }
    paths = {}
    for name, data in files.items():
        paths[name] = directory / f"{name}.pem"
        paths[name].write_bytes(data)
    return paths


def _judge(tmp_path: Path, text: str, trust: TrustStore) -> list[str]:
    main_cf = tmp_path / "postconf-n.txt"  # not named main.cf: parsed, never postconf'd
    main_cf.write_text(text)
    report = judge_postfix(read_files(read_settings(main_cf), trust), NOW)
    return [f.code for f in report.findings]


GOOD = (
    "smtp_tls_security_level = dane\n"
    "smtp_dns_support_level = dnssec\n"
    "smtp_tls_loglevel = 1\n"
    "smtpd_tls_security_level = may\n"
    "smtpd_tls_received_header = yes\n"
    "smtpd_tls_chain_files = {key}, {chain}\n"
)


@pytest.mark.parametrize(
    ("change", "codes"),
    [
        ({}, []),
        ({"smtp_tls_security_level": "none"}, ["postfix.smtp-tls-off"]),
        ({"smtp_tls_security_level": "may"}, ["postfix.smtp-unauthenticated"]),
        ({"smtp_dns_support_level": "enabled"}, ["postfix.dane-without-dnssec"]),
        (
            {"smtp_tls_security_level": "verify"},
            ["postfix.smtp-mandatory-everywhere", "postfix.smtp-no-ca", "postfix.protocols-old"],
        ),
        (
            {
                "smtp_tls_security_level": "secure",
                "smtp_tls_CAfile": "{ca}",
                "smtp_tls_mandatory_protocols": ">=TLSv1.2",
            },
            ["postfix.smtp-mandatory-everywhere"],
        ),
        (
            {"smtp_tls_security_level": "verify", "smtp_tls_CAfile": "{garbage}"},
            [
                "postfix.smtp-mandatory-everywhere",
                "postfix.file-unreadable",
                "postfix.smtp-no-ca",
                "postfix.protocols-old",
            ],
        ),
        ({"smtp_tls_loglevel": "0"}, ["postfix.loglevel-zero"]),
        ({"smtp_tls_protocols": "!SSLv2"}, ["postfix.protocols-old"]),
        (
            {"smtp_tls_mandatory_protocols": "SSLv3, TLSv1"},
            ["postfix.protocols-old", "postfix.protocols-no-modern"],
        ),
        ({"smtpd_tls_protocols": "TLSv1, TLSv1.1"}, ["postfix.protocols-no-modern"]),
        ({"smtpd_tls_protocols": "TLSv1.2, TLSv1.3"}, []),
        (
            {"smtp_tls_protocols": "!TLSv1.2 !TLSv1.3"},  # and SSL is not excluded
            ["postfix.protocols-old", "postfix.protocols-no-modern"],
        ),
        ({"smtpd_tls_ciphers": "export"}, ["postfix.ciphers-weak"]),
        ({"smtpd_tls_security_level": "none"}, ["postfix.smtpd-tls-off"]),
        (
            {"smtpd_tls_security_level": "encrypt"},
            ["postfix.smtpd-encrypt", "postfix.protocols-old"],
        ),
        ({"smtpd_tls_chain_files": ""}, ["postfix.smtpd-no-certificate"]),
        ({"smtpd_tls_chain_files": "{other_key}, {chain}"}, ["postfix.key-mismatch"]),
        ({"smtpd_tls_chain_files": "{key}, /nonexistent.pem"}, ["postfix.file-unreadable"]),
        ({"smtpd_tls_chain_files": "{chain}"}, ["postfix.file-unreadable"]),  # no key
        ({"smtpd_tls_chain_files": "{expired_key}, {expired}"}, ["postfix.cert-expired"]),
        ({"smtpd_tls_chain_files": "{key}, {leaf}"}, []),  # the CA is in the trust store
        ({"smtpd_tls_chain_files": "{key}, {misordered}"}, ["postfix.chain-order"]),
        (
            {
                "smtpd_tls_cert_file": "{chain}",
                "smtpd_tls_key_file": "{key}",
                "smtpd_tls_chain_files": "",
            },
            [],
        ),
        ({"smtpd_tls_received_header": "no"}, ["postfix.no-received-header"]),
    ],
)
def test_settings_judged(tmp_path: Path, change: dict[str, str], codes: list[str]) -> None:
    paths = {k: str(v) for k, v in _write_pki(tmp_path).items()}
    values = parse_main_cf(GOOD.format(**paths))
    values.update({k: v.format(**paths) for k, v in change.items()})
    text = "".join(f"{k} = {v}\n" for k, v in values.items())
    ca = Path(paths["ca"]).read_bytes()
    from cryptography import x509

    trust = TrustStore([x509.load_pem_x509_certificate(ca)])
    assert _judge(tmp_path, text, trust) == codes


def test_a_chain_without_its_anchor_in_the_trust_store_is_incomplete(tmp_path: Path) -> None:
    paths = {k: str(v) for k, v in _write_pki(tmp_path).items()}
    paths["chain"] = paths["leaf"]
    assert _judge(tmp_path, GOOD.format(**paths), TrustStore([])) == ["postfix.chain-incomplete"]


def test_misordered_chain(tmp_path: Path) -> None:
    ca = make_ca("Root")
    intermediate = make_ca("Intermediate", issuer=ca)
    leaf = make_leaf(["mx.example.com"], intermediate)
    (tmp_path / "key.pem").write_bytes(leaf.key_pem)
    (tmp_path / "chain.pem").write_bytes(chain_pem(leaf, ca, intermediate))
    text = GOOD.format(key=tmp_path / "key.pem", chain=tmp_path / "chain.pem")
    codes = _judge(tmp_path, text, TrustStore([ca.cert]))
    assert codes == ["postfix.chain-misordered"]  # complete: the last one's issuer is trusted


@pytest.mark.skipif(postconf_path() is None, reason="postconf is not installed")
def test_real_postconf_reads_the_defaults_and_expands(tmp_path: Path) -> None:
    (tmp_path / "main.cf").write_text(
        "compatibility_level = 3.6\n"
        "certs = /srv/certs\n"
        "smtpd_tls_security_level = may\n"
        "smtpd_tls_cert_file = $certs/cert.pem\n"
    )
    settings = read_settings(tmp_path / "main.cf")
    assert settings.source == "postconf"
    values = dict(settings.values)
    # From postconf, not from this module's table: the key file defaults to the cert file.
    assert values["smtpd_tls_key_file"] == "/srv/certs/cert.pem"
    assert values["smtp_tls_ciphers"] == "medium"
    assert values["smtp_tls_security_level"] == ""
    report = judge_postfix(read_files(settings, TrustStore([])), NOW)
    assert report.verdict is Verdict.FAIL
    assert [f.code for f in report.findings][:1] == ["postfix.smtp-tls-off"]
    assert "postfix.file-unreadable" in [f.code for f in report.findings]


def test_without_postconf_main_cf_is_parsed(tmp_path: Path) -> None:
    (tmp_path / "main.cf").write_text("smtp_tls_security_level = may\n")
    settings = read_settings(tmp_path, postconf=tmp_path / "no-such-postconf")
    assert settings.source == "file"
    assert dict(settings.values)["smtp_tls_security_level"] == "may"


def test_an_unset_level_reads_the_same_in_the_table_and_the_findings(tmp_path: Path) -> None:
    from starttls_check.render.postfix_table import render_postfix

    saved = tmp_path / "postconf-n.txt"
    saved.write_text("compatibility_level = 3.6\n")
    report = judge_postfix(read_files(read_settings(saved), TrustStore([])), NOW)
    messages = {f.code: f.message for f in report.findings}
    assert messages["postfix.smtp-tls-off"] == (
        "smtp_tls_security_level is not set: Postfix's default is none"
    )
    assert messages["postfix.smtpd-tls-off"] == (
        "smtpd_tls_security_level is not set: Postfix's default is none"
    )
    text = render_postfix(report, color=False)
    level_row = next(line for line in text.splitlines() if "smtp_tls_security_level" in line)
    assert level_row.split(maxsplit=1) == ["smtp_tls_security_level", "(not set)"]
    saved.write_text("smtp_use_tls = yes\nsmtp_tls_security_level =\n")
    report = judge_postfix(read_files(read_settings(saved), TrustStore([])), NOW)
    assert report.findings[0].message == (
        "smtp_tls_security_level is not set, and the obsolete smtp_use_tls = yes makes it may"
    )


def test_counts_of_one_are_singular(tmp_path: Path) -> None:
    from starttls_check.render.postfix_table import render_postfix

    paths = {k: str(v) for k, v in _write_pki(tmp_path).items()}
    saved = tmp_path / "postconf-n.txt"
    saved.write_text(GOOD.format(**{**paths, "chain": paths["leaf"]}) + "smtp_tls_loglevel = 0\n")
    from cryptography import x509

    trust = TrustStore([x509.load_pem_x509_certificate(Path(paths["ca"]).read_bytes())])
    report = judge_postfix(read_files(read_settings(saved), trust), NOW)
    assert [f.code for f in report.findings] == ["postfix.loglevel-zero"]
    text = render_postfix(report, color=False, width=200)
    assert "— 1 finding\n" in text
    assert f"{paths['leaf']}: 1 certificate\n" in text
    assert "1 findings" not in text
    assert "1 certificates" not in text


def test_old_protocol_lists_say_what_they_enable(tmp_path: Path) -> None:
    text = (
        "smtp_tls_security_level = encrypt\n"
        "smtp_tls_mandatory_protocols = SSLv3, TLSv1\n"
        "smtpd_tls_security_level = may\n"
        "smtpd_tls_mandatory_protocols = TLSv1\n"  # smtpd is not mandatory: a warning
    )
    saved = tmp_path / "postconf-n.txt"
    saved.write_text(text)
    report = judge_postfix(read_files(read_settings(saved), TrustStore([])), NOW)
    found = [
        (f.code, f.severity.value, f.message) for f in report.findings if "protocols" in f.code
    ]
    enabled = "smtp_tls_mandatory_protocols = SSLv3, TLSv1 enables SSLv3, TLSv1"
    assert found == [
        ("postfix.protocols-old", "warn", f"{enabled}: SSLv3, TLSv1 below TLS 1.2"),
        ("postfix.protocols-no-modern", "fail", f"{enabled}: neither TLS 1.2 nor TLS 1.3"),
        (
            "postfix.protocols-no-modern",
            "warn",
            "smtpd_tls_mandatory_protocols = TLSv1 enables TLSv1: neither TLS 1.2 nor TLS 1.3",
        ),
    ]
