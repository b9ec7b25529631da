"""The certificate factory makes what it claims, and `ssl` accepts (or rejects) it."""

from __future__ import annotations

import socket
import ssl
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID, NameOID

from starttls_check.demo.loopback.pki import Issued, KeySpec, chain_pem, make_ca, make_leaf
from tests.support.pki_openssl import make_sha1_leaf

MX = "mx.example.test"
TIMEOUT = 5.0
_DER = serialization.Encoding.DER


def _ext(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> x509.Extension[x509.ExtensionType]:
    return cert.extensions.get_extension_for_oid(oid)


def _san(cert: x509.Certificate) -> x509.SubjectAlternativeName:
    return cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value


def _verify_signature(cert: x509.Certificate, issuer: x509.Certificate) -> None:
    """Check the signature by hand: `verify_directly_issued_by` refuses SHA-1."""
    public = issuer.public_key()
    digest = cert.signature_hash_algorithm
    assert digest is not None
    if isinstance(public, rsa.RSAPublicKey):
        public.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), digest)
    else:
        assert isinstance(public, ec.EllipticCurvePublicKey)
        public.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(digest))


# --- structure -------------------------------------------------------------------------


def test_root_signs_leaf() -> None:
    root = make_ca("Test Root")
    leaf = make_leaf([MX, "mx2.example.test"], root)
    leaf.cert.verify_directly_issued_by(root.cert)
    assert leaf.cert.issuer == root.cert.subject
    assert _san(leaf.cert).get_values_for_type(x509.DNSName) == [MX, "mx2.example.test"]
    assert leaf.cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == MX
    now = datetime.now(UTC)
    assert leaf.cert.not_valid_before_utc < now < leaf.cert.not_valid_after_utc
    assert leaf.cert.not_valid_after_utc - now > timedelta(days=89)
    eku = leaf.cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    basic = _ext(leaf.cert, ExtensionOID.BASIC_CONSTRAINTS)
    assert basic.critical
    assert basic.value == x509.BasicConstraints(ca=False, path_length=None)


def test_ca_extensions() -> None:
    root = make_ca("Test Root")
    basic = _ext(root.cert, ExtensionOID.BASIC_CONSTRAINTS)
    assert basic.critical
    assert basic.value == x509.BasicConstraints(ca=True, path_length=None)
    usage = _ext(root.cert, ExtensionOID.KEY_USAGE)
    assert usage.critical
    assert isinstance(usage.value, x509.KeyUsage)
    assert usage.value.key_cert_sign
    assert usage.value.crl_sign
    ski = root.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    aki = root.cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == ski.digest  # self-signed: points at itself


def test_intermediate_chain() -> None:
    root = make_ca("Test Root")
    inter = make_ca("Test Intermediate", issuer=root)
    leaf = make_leaf([MX], inter)
    inter.cert.verify_directly_issued_by(root.cert)
    leaf.cert.verify_directly_issued_by(inter.cert)
    # Same name, different key: the signature, not the name, is what ties them.
    impostor = make_ca("Test Intermediate", issuer=root)
    with pytest.raises(InvalidSignature):
        leaf.cert.verify_directly_issued_by(impostor.cert)
    assert inter.cert.issuer == root.cert.subject
    root_ski = root.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    inter_aki = inter.cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
    assert inter_aki.value.key_identifier == root_ski.value.digest
    assert chain_pem(leaf, inter) == leaf.cert_pem + inter.cert_pem


def test_self_signed_leaf() -> None:
    leaf = make_leaf([MX], None)
    assert leaf.cert.subject == leaf.cert.issuer
    leaf.cert.verify_directly_issued_by(leaf.cert)
    basic = leaf.cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert not basic.ca


def test_expired_window() -> None:
    now = datetime.now(UTC)
    leaf = make_leaf([MX], make_ca("Root"), not_after=now - timedelta(days=3))
    assert leaf.cert.not_valid_after_utc < now
    assert leaf.cert.not_valid_before_utc < leaf.cert.not_valid_after_utc


def test_not_yet_valid_window() -> None:
    now = datetime.now(UTC)
    leaf = make_leaf([MX], make_ca("Root"), not_before=now + timedelta(days=3))
    assert leaf.cert.not_valid_before_utc > now
    assert leaf.cert.not_valid_after_utc > leaf.cert.not_valid_before_utc


def test_expired_ca_with_explicit_window() -> None:
    start = datetime(2020, 1, 1, tzinfo=UTC)
    end = datetime(2021, 1, 1, tzinfo=UTC)
    root = make_ca("Old Root", not_before=start, not_after=end)
    assert (root.cert.not_valid_before_utc, root.cert.not_valid_after_utc) == (start, end)


def test_naive_datetime_is_refused() -> None:
    naive = datetime(2030, 1, 1)
    with pytest.raises(ValueError, match="timezone-aware"):
        make_leaf([MX], None, not_after=naive)


def test_inverted_window_is_refused() -> None:
    now = datetime.now(UTC)
    with pytest.raises(ValueError, match="before not_before"):
        make_leaf([MX], None, not_before=now, not_after=now - timedelta(days=1))


def test_rsa_1024_leaf() -> None:
    root = make_ca("Root")
    leaf = make_leaf([MX], root, key="rsa1024")
    public = leaf.cert.public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    assert public.key_size == 1024
    leaf.cert.verify_directly_issued_by(root.cert)
    usage = leaf.cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_encipherment  # RSA key exchange; EC leaves do not set it


def test_rsa_keys_shared_by_leaves_but_not_by_signers() -> None:
    root = make_ca("Root")
    first = make_leaf([MX], root, key="rsa1024")
    second = make_leaf([MX], root, key="rsa1024")
    assert first.cert.public_key() == second.cert.public_key()
    # Keys that sign must differ, or one CA would vouch for another's leaves.
    ca_one, ca_two = (make_ca("R", key="rsa1024").cert.public_key() for _ in range(2))
    self_signed = make_leaf([MX], None, key="rsa1024").cert.public_key()
    assert ca_one != ca_two
    assert self_signed != first.cert.public_key()


def test_ec_is_default_key() -> None:
    leaf = make_leaf([MX], None)
    public = leaf.cert.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    assert public.curve.name == "secp256r1"
    assert isinstance(leaf.cert.signature_hash_algorithm, hashes.SHA256)


def test_critical_san_flag() -> None:
    assert not _ext(make_leaf([MX], None).cert, ExtensionOID.SUBJECT_ALTERNATIVE_NAME).critical
    leaf = make_leaf([MX], None, critical_san=True)
    assert _ext(leaf.cert, ExtensionOID.SUBJECT_ALTERNATIVE_NAME).critical


def test_aia_ca_issuers() -> None:
    url = "http://127.0.0.1:1/intermediate.der"
    leaf = make_leaf([MX], make_ca("Root"), aia_ca_issuers_url=url)
    aia = leaf.cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    assert [(d.access_method, d.access_location.value) for d in aia] == [
        (x509.oid.AuthorityInformationAccessOID.CA_ISSUERS, url)
    ]
    with pytest.raises(x509.ExtensionNotFound):
        make_leaf([MX], None).cert.extensions.get_extension_for_class(
            x509.AuthorityInformationAccess
        )


def test_without_server_auth_eku() -> None:
    leaf = make_leaf([MX], None, include_server_auth_eku=False)
    with pytest.raises(x509.ExtensionNotFound):
        leaf.cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)


def test_ip_names_and_common_name() -> None:
    leaf = make_leaf([MX, "127.0.0.1", "::1"], None, common_name="Other CN")
    san = _san(leaf.cert)
    assert san.get_values_for_type(x509.DNSName) == [MX]
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1", "::1"]
    assert leaf.cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Other CN"


def test_cn_only_leaf() -> None:
    leaf = make_leaf([], None, common_name=MX)
    with pytest.raises(x509.ExtensionNotFound):
        leaf.cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    with pytest.raises(ValueError, match="names or a common_name"):
        make_leaf([], None)


# --- SHA-1, through the openssl CLI ----------------------------------------------------


@pytest.mark.parametrize("issuer_key", ["ec", "rsa2048"])
def test_sha1_leaf(tmp_path: Path, issuer_key: KeySpec) -> None:
    root = make_ca("Root", key=issuer_key)
    leaf = make_sha1_leaf([MX, "127.0.0.1"], root, tmp_path)
    assert isinstance(leaf.cert.signature_hash_algorithm, hashes.SHA1)
    assert leaf.cert.issuer == root.cert.subject
    _verify_signature(leaf.cert, root.cert)
    with pytest.raises(InvalidSignature):
        _verify_signature(leaf.cert, make_ca("Root", key=issuer_key).cert)
    # cryptography 50 will not check SHA-1 at all; the certs layer must do it by hand.
    with pytest.raises(ValueError, match="Unsupported signature algorithm"):
        leaf.cert.verify_directly_issued_by(root.cert)
    assert leaf.key.public_key() == leaf.cert.public_key()
    assert _san(leaf.cert).get_values_for_type(x509.DNSName) == [MX]


def test_sha1_leaf_refuses_config_injection(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not usable"):
        make_sha1_leaf(["mx.example.test\n[leaf]"], make_ca("Root"), tmp_path)


def test_sha1_leaf_is_served_only_at_seclevel_0(tmp_path: Path) -> None:
    root = make_ca("Root")
    leaf = make_sha1_leaf([MX], root, tmp_path)
    pem = _write(tmp_path, chain_pem(leaf) + leaf.key_pem)
    strict = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with pytest.raises(ssl.SSLError, match="CA_MD_TOO_WEAK"):
        strict.load_cert_chain(pem)
    server = _server_context(pem, seclevel_0=True)
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.check_hostname = False
    client.verify_mode = ssl.CERT_NONE
    der = _handshake(server, client, MX)
    assert der == leaf.cert.public_bytes(_DER)


# --- real handshakes on loopback -------------------------------------------------------


def _write(directory: Path, data: bytes) -> Path:
    path = directory / "server.pem"
    path.write_bytes(data)
    return path


def _server_context(pem: Path, *, seclevel_0: bool = False) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    if seclevel_0:  # must precede loading: the level is checked when the chain loads
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
    context.load_cert_chain(pem)
    return context


def _client_trusting(root: Issued) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cadata=root.cert_pem.decode())
    return context


def _handshake(server: ssl.SSLContext, client: ssl.SSLContext, name: str) -> bytes:
    """Handshake once on 127.0.0.1; return the leaf the client saw (DER).

    A server-side failure is re-raised when the client succeeded, so a broken server
    cannot hide behind a client that happens to pass.
    """
    errors: list[BaseException] = []
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(TIMEOUT)
        port = listener.getsockname()[1]
        thread = threading.Thread(target=_serve_once, args=(listener, server, errors))
        thread.start()
        try:
            with (
                socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw,
                client.wrap_socket(raw, server_hostname=name) as tls,
            ):
                assert tls.recv(2) == b"ok"
                der = tls.getpeercert(binary_form=True)
        finally:
            thread.join(TIMEOUT)
    assert not thread.is_alive()
    if errors:
        raise errors[0]
    assert der is not None
    return der


def _serve_once(
    listener: socket.socket, context: ssl.SSLContext, errors: list[BaseException]
) -> None:
    try:
        conn, _ = listener.accept()
        with conn:
            conn.settimeout(TIMEOUT)
            with context.wrap_socket(conn, server_side=True) as tls:
                tls.sendall(b"ok")
    except (OSError, ssl.SSLError) as error:  # a client that rejects us aborts the handshake
        errors.append(error)


@pytest.fixture
def three_level() -> tuple[Issued, Issued, Issued]:
    root = make_ca("Loopback Root")
    inter = make_ca("Loopback Intermediate", issuer=root)
    return root, inter, make_leaf([MX, "127.0.0.1"], inter)


def test_handshake_root_intermediate_leaf(
    tmp_path: Path, three_level: tuple[Issued, Issued, Issued]
) -> None:
    root, inter, leaf = three_level
    pem = _write(tmp_path, chain_pem(leaf, inter) + leaf.key_pem)
    der = _handshake(_server_context(pem), _client_trusting(root), MX)
    assert der == leaf.cert.public_bytes(_DER)


@pytest.mark.parametrize(
    ("case", "verify_code"),
    [
        ("foreign root", 20),  # X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY
        ("intermediate not served", 20),
        ("wrong name", 62),  # X509_V_ERR_HOSTNAME_MISMATCH
    ],
)
def test_handshake_fails_for_the_stated_reason(
    tmp_path: Path, three_level: tuple[Issued, Issued, Issued], case: str, verify_code: int
) -> None:
    # The same harness must fail when the chain is wrong, or the success above proves nothing.
    root, inter, leaf = three_level
    served = chain_pem(leaf) if case == "intermediate not served" else chain_pem(leaf, inter)
    trusted = make_ca("Loopback Root") if case == "foreign root" else root
    name = "other.example.test" if case == "wrong name" else MX
    pem = _write(tmp_path, served + leaf.key_pem)
    with pytest.raises(ssl.SSLCertVerificationError) as caught:
        _handshake(_server_context(pem), _client_trusting(trusted), name)
    assert caught.value.verify_code == verify_code
