"""SHA-1 signed leaves, made with the `openssl` command line tool.

cryptography (since 48) refuses to sign with SHA-1, yet SHA-1 leaves still turn up on
mail servers and need their own finding, so tests need one. `openssl x509 -req -sha1`
still signs with it under OpenSSL 3.0's default security level: the level limits what
TLS accepts, not what the CLI signs. Kept apart from `pki` because it writes files and
runs a process.

Serving such a leaf needs `@SECLEVEL=0` on the server context: at level 1 OpenSSL 3.0
refuses to load a SHA-1 signed certificate ("ca md too weak").
"""

from __future__ import annotations

import ipaddress
import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from starttls_check.demo.loopback.pki import Issued

__all__ = ["make_sha1_leaf"]

# Names go into an OpenSSL config file; refusing anything else keeps a name from
# adding config lines of its own.
_SAFE_NAME = re.compile(r"[A-Za-z0-9.*:_-]+")
_TIMEOUT_SECONDS = 30


def make_sha1_leaf(
    names: Sequence[str],
    issuer: Issued,
    directory: Path,
    *,
    days: int = 90,
) -> Issued:
    """Make an EC P-256 leaf for `names`, signed by `issuer` with SHA-1.

    The issuer's key and certificate, the request and the result are written to
    `directory` (a test's temporary directory). Valid from now for `days` days:
    OpenSSL 3.0's `x509` cannot set a start date.
    """
    if not names:
        raise ValueError("a SHA-1 leaf needs at least one name")
    for name in names:
        if not _SAFE_NAME.fullmatch(name):
            raise ValueError(f"name not usable in an OpenSSL config: {name!r}")
    key = ec.generate_private_key(ec.SECP256R1())
    # The request's own signature is SHA-256; only the CA's signature matters here.
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .sign(key, hashes.SHA256())
    )
    paths = _write_inputs(directory, issuer, csr, names)
    _run_openssl(
        "x509", "-req", "-sha1", "-days", str(days),
        "-in", str(paths["csr"]),
        "-CA", str(paths["ca_cert"]),
        "-CAkey", str(paths["ca_key"]),
        "-set_serial", hex(x509.random_serial_number()),
        "-extfile", str(paths["ext"]),
        "-extensions", "leaf",
        "-out", str(paths["out"]),
    )  # fmt: skip
    cert = x509.load_pem_x509_certificate(paths["out"].read_bytes())
    return Issued(cert=cert, key=key)


def _write_inputs(
    directory: Path,
    issuer: Issued,
    csr: x509.CertificateSigningRequest,
    names: Sequence[str],
) -> dict[str, Path]:
    paths = {
        "ca_cert": directory / "sha1-issuer.pem",
        "ca_key": directory / "sha1-issuer.key",
        "csr": directory / "sha1-leaf.csr",
        "ext": directory / "sha1-leaf.ext",
        "out": directory / "sha1-leaf.pem",
    }
    paths["ca_cert"].write_bytes(issuer.cert_pem)
    paths["ca_key"].write_bytes(issuer.key_pem)
    paths["ca_key"].chmod(0o600)
    paths["csr"].write_bytes(csr.public_bytes(serialization.Encoding.PEM))
    paths["ext"].write_text(_extensions(names))
    return paths


def _extensions(names: Sequence[str]) -> str:
    """The same leaf profile as `pki.make_leaf`, in OpenSSL's extension-file syntax."""
    san = ",".join(f"IP:{n}" if _is_ip(n) else f"DNS:{n}" for n in names)
    return (
        "[leaf]\n"
        "basicConstraints = critical, CA:FALSE\n"
        "keyUsage = critical, digitalSignature\n"
        "extendedKeyUsage = serverAuth\n"
        f"subjectAltName = {san}\n"
        "subjectKeyIdentifier = hash\n"
        "authorityKeyIdentifier = keyid\n"
    )


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _run_openssl(*args: str) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("the openssl command is needed to make SHA-1 certificates")
    # Fixed argument list, no shell; inputs are our own files and checked names.
    result = subprocess.run(
        [openssl, *args],
        capture_output=True,
        text=True,
        timeout=_TIMEOUT_SECONDS,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"openssl {args[0]} failed ({result.returncode}): {result.stderr}")
