"""Issuers' constraints along a path that reaches a trusted root: key usage, path length,
name constraints, and the leaf's purpose. Each case is a chain OpenSSL rejects."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from starttls_check.model.session import CertProblem
from starttls_check.tls.certs import TrustStore
from starttls_check.tls.chain_judgement import judge_chain

NOW = datetime(2030, 6, 1, tzinfo=UTC)
MX = "mx.example.test"
Issued = tuple[x509.Certificate, ec.EllipticCurvePrivateKey]


def _builder(
    subject: str, issuer: Issued | None, key: ec.EllipticCurvePrivateKey
) -> x509.CertificateBuilder:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer[0].subject if issuer else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=10))
        .not_valid_after(NOW + timedelta(days=100))
    )


def ca(
    subject: str,
    issuer: Issued | None = None,
    *,
    path_length: int | None = None,
    permitted: list[str] | None = None,
    cert_sign: bool = True,
) -> Issued:
    key = ec.generate_private_key(ec.SECP256R1())
    builder = _builder(subject, issuer, key).add_extension(
        x509.BasicConstraints(ca=True, path_length=path_length), critical=True
    )
    builder = builder.add_extension(
        x509.KeyUsage(
            digital_signature=True,
            content_commitment=False,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=cert_sign,
            crl_sign=True,
            encipher_only=False,
            decipher_only=False,
        ),
        critical=True,
    )
    if permitted is not None:
        subtrees = [x509.DNSName(n) for n in permitted]
        builder = builder.add_extension(x509.NameConstraints(subtrees, None), critical=True)
    signer = issuer[1] if issuer else key
    return builder.sign(signer, hashes.SHA256()), key


def leaf(issuer: Issued, *, usages: list[x509.ObjectIdentifier] | None = None) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    builder = _builder(MX, issuer, key).add_extension(
        x509.SubjectAlternativeName([x509.DNSName(MX)]), critical=False
    )
    if usages is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
    return builder.sign(issuer[1], hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def der(issued: Issued) -> bytes:
    return issued[0].public_bytes(serialization.Encoding.DER)


def judge(chain: tuple[bytes, ...], root: Issued) -> tuple[CertProblem, ...]:
    return judge_chain(chain, MX, TrustStore([root[0]]), NOW).problems


def test_a_clean_two_level_chain_passes() -> None:
    root = ca("Root")
    inter = ca("Intermediate", root, path_length=0, permitted=["example.test"])
    assert judge((leaf(inter, usages=[ExtendedKeyUsageOID.SERVER_AUTH]), der(inter)), root) == ()


def test_path_length_zero_intermediate_issuing_another_ca() -> None:
    root = ca("Root")
    inter = ca("Intermediate", root, path_length=0)
    sub = ca("Sub-CA", inter)
    assert judge((leaf(sub), der(sub), der(inter)), root) == (CertProblem.CONSTRAINT_VIOLATION,)
    verdict = judge_chain((leaf(sub), der(sub), der(inter)), MX, TrustStore([root[0]]), NOW)
    assert "allows 0 CA(s) below it" in verdict.detail


@pytest.mark.parametrize(
    ("permitted", "problems"),
    [
        (["example.test"], ()),
        ([".example.test"], ()),  # a leading dot: names below only, and mx.example.test is
        (["example.org"], (CertProblem.CONSTRAINT_VIOLATION,)),
        (["mx.example.test.other"], (CertProblem.CONSTRAINT_VIOLATION,)),
    ],
)
def test_name_constraints(permitted: list[str], problems: tuple[CertProblem, ...]) -> None:
    root = ca("Root")
    inter = ca("Intermediate", root, permitted=permitted)
    assert judge((leaf(inter), der(inter)), root) == problems


def test_issuer_without_key_cert_sign() -> None:
    root = ca("Root")
    inter = ca("Intermediate", root, cert_sign=False)
    assert judge((leaf(inter), der(inter)), root) == (CertProblem.CONSTRAINT_VIOLATION,)


@pytest.mark.parametrize(
    ("usages", "problems"),
    [
        (None, ()),
        ([ExtendedKeyUsageOID.SERVER_AUTH], ()),
        ([ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.SERVER_AUTH], ()),
        ([ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE], ()),
        ([ExtendedKeyUsageOID.CLIENT_AUTH], (CertProblem.WRONG_PURPOSE,)),
        ([ExtendedKeyUsageOID.EMAIL_PROTECTION], (CertProblem.WRONG_PURPOSE,)),
    ],
)
def test_leaf_purpose(
    usages: list[x509.ObjectIdentifier] | None, problems: tuple[CertProblem, ...]
) -> None:
    root = ca("Root")
    assert judge((leaf(root, usages=usages),), root) == problems
