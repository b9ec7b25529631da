"""`judge_chain`: every reason a sender that authenticates would reject a served chain.

Pure: certificates from the loopback factory (and trustme), a fixed `NOW`, no sockets.
Each case asserts the exact `problems` tuple, in the order the judge produces them:
trust first, then validity window, then name, then key, then signature.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import trustme
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from starttls_check.demo.loopback.pki import Issued, KeySpec, make_ca, make_leaf
from starttls_check.model.session import CertProblem, TrustVerdict
from starttls_check.tls.certs import TrustStore, load_pem
from starttls_check.tls.chain_judgement import judge_chain
from tests.support.pki_openssl import make_sha1_leaf

P = CertProblem
MX = "mx.example.test"
NOW = datetime(2031, 3, 15, 12, 0, tzinfo=UTC)
CA_START = datetime(2020, 1, 1, tzinfo=UTC)
CA_END = datetime(2099, 1, 1, tzinfo=UTC)
LEAF_START = NOW - timedelta(days=10)
LEAF_END = NOW + timedelta(days=80)
AIA_URL = "http://ca.example.test/inter.der"
_DER = serialization.Encoding.DER

Cert = Issued | x509.Certificate


# --- helpers ---------------------------------------------------------------------------


def ca(cn: str, issuer: Issued | None = None, *, key: KeySpec = "ec") -> Issued:
    return make_ca(cn, issuer=issuer, not_before=CA_START, not_after=CA_END, key=key)


def leaf(names: Sequence[str], issuer: Issued | None, **kwargs: object) -> Issued:
    """A leaf valid from ten days before `NOW` for ninety days, unless told otherwise."""
    kwargs.setdefault("not_before", LEAF_START)
    kwargs.setdefault("not_after", LEAF_END)
    return make_leaf(names, issuer, **kwargs)  # type: ignore[arg-type]


def _cert(item: Cert) -> x509.Certificate:
    return item.cert if isinstance(item, Issued) else item


def der(*chain: Cert) -> tuple[bytes, ...]:
    return tuple(_cert(c).public_bytes(_DER) for c in chain)


def store(*anchors: Cert) -> TrustStore:
    return TrustStore(_cert(a) for a in anchors)


def judge(
    served: Sequence[Cert], trusted: Sequence[Cert], name: str = MX, now: datetime = NOW
) -> TrustVerdict:
    return judge_chain(der(*served), name, store(*trusted), now)


def subject(item: Cert) -> str:
    return _cert(item).subject.rfc4514_string()


def _leaf_with_key(public_key: ec.EllipticCurvePublicKey, issuer: Issued) -> x509.Certificate:
    """A leaf for `MX` carrying a key the factory does not make (e.g. P-192)."""
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, MX)]))
        .issuer_name(issuer.cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(LEAF_START)
        .not_valid_after(LEAF_END)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(MX)]), critical=False)
        .sign(issuer.key, hashes.SHA256())
    )


@dataclass(frozen=True, slots=True)
class Pki:
    root: Issued  # the trusted root
    inter: Issued  # an intermediate under `root`
    foreign: Issued  # a root nobody trusts
    twin: Issued  # another root with `root`'s name and its own key


@pytest.fixture(scope="module")
def pki() -> Pki:
    root = ca("Test Root")
    return Pki(
        root=root,
        inter=ca("Test Intermediate", root),
        foreign=ca("Foreign Root"),
        twin=ca("Test Root"),
    )


# --- the table -------------------------------------------------------------------------

# Each scenario builds (served chain, trust anchors) from the shared PKI.
Scenario = Callable[[Pki], tuple[list[Cert], list[Cert]]]


def _valid(p: Pki) -> tuple[list[Cert], list[Cert]]:
    return [leaf([MX], p.root)], [p.root]


def _via_inter(p: Pki) -> tuple[list[Cert], list[Cert]]:
    return [leaf([MX], p.inter), p.inter], [p.root]


def _via_inter_root_served(p: Pki) -> tuple[list[Cert], list[Cert]]:
    return [leaf([MX], p.inter), p.inter, p.root], [p.root]


def _inter_missing_with_aia(p: Pki) -> tuple[list[Cert], list[Cert]]:
    return [leaf([MX], p.inter, aia_ca_issuers_url=AIA_URL)], [p.root]


def _inter_missing_without_aia(p: Pki) -> tuple[list[Cert], list[Cert]]:
    return [leaf([MX], p.inter)], [p.root]


def _foreign_leaf_only(p: Pki) -> tuple[list[Cert], list[Cert]]:
    return [leaf([MX], p.foreign)], [p.root]


def _foreign_root_served(p: Pki) -> tuple[list[Cert], list[Cert]]:
    return [leaf([MX], p.foreign), p.foreign], [p.root]


def _self_signed(p: Pki) -> tuple[list[Cert], list[Cert]]:
    return [leaf([MX], None)], [p.root]


def _self_signed_other_name(p: Pki) -> tuple[list[Cert], list[Cert]]:
    return [leaf(["other.example.test"], None)], [p.root]


def _self_signed_pinned(p: Pki) -> tuple[list[Cert], list[Cert]]:
    pinned = leaf([MX], None)
    return [pinned], [p.root, pinned]


def _expired(p: Pki) -> tuple[list[Cert], list[Cert]]:
    end = NOW - timedelta(days=1)
    return [leaf([MX], p.root, not_before=end - timedelta(days=90), not_after=end)], [p.root]


def _expired_by_one_second(p: Pki) -> tuple[list[Cert], list[Cert]]:
    end = NOW - timedelta(seconds=1)
    return [leaf([MX], p.root, not_after=end, not_before=end - timedelta(days=90))], [p.root]


def _expires_exactly_now(p: Pki) -> tuple[list[Cert], list[Cert]]:
    # notAfter is the last valid instant (RFC 5280 §4.1.2.5).
    return [leaf([MX], p.root, not_after=NOW, not_before=NOW - timedelta(days=90))], [p.root]


def _not_yet_valid(p: Pki) -> tuple[list[Cert], list[Cert]]:
    start = NOW + timedelta(days=1)
    return [leaf([MX], p.root, not_before=start, not_after=start + timedelta(days=90))], [p.root]


def _valid_from_exactly_now(p: Pki) -> tuple[list[Cert], list[Cert]]:
    return [leaf([MX], p.root, not_before=NOW)], [p.root]


def _expired_wrong_name(p: Pki) -> tuple[list[Cert], list[Cert]]:
    end = NOW - timedelta(days=1)
    expired = leaf(
        ["other.example.test"], p.root, not_before=end - timedelta(days=9), not_after=end
    )
    return [expired], [p.root]


def _everything_wrong(p: Pki) -> tuple[list[Cert], list[Cert]]:
    end = NOW - timedelta(days=1)
    bad = leaf(
        ["other.example.test"],
        p.foreign,
        key="rsa1024",
        not_before=end - timedelta(days=9),
        not_after=end,
    )
    return [bad, p.foreign], [p.root]


def _self_signed_not_yet_valid_wrong_name(p: Pki) -> tuple[list[Cert], list[Cert]]:
    start = NOW + timedelta(days=3)
    return [leaf(["other.example.test"], None, not_before=start)], [p.root]


def _rsa1024(p: Pki) -> tuple[list[Cert], list[Cert]]:
    return [leaf([MX], p.root, key="rsa1024")], [p.root]


def _rsa2048(p: Pki) -> tuple[list[Cert], list[Cert]]:
    return [leaf([MX], p.root, key="rsa2048")], [p.root]


def _p192(p: Pki) -> tuple[list[Cert], list[Cert]]:
    return [_leaf_with_key(ec.generate_private_key(ec.SECP192R1()).public_key(), p.root)], [p.root]


def _p384(p: Pki) -> tuple[list[Cert], list[Cert]]:
    return [leaf([MX], p.root, key="ec384")], [p.root]


def _weak_intermediate(p: Pki) -> tuple[list[Cert], list[Cert]]:
    weak_inter = ca("Weak Intermediate", p.root, key="rsa1024")
    return [leaf([MX], weak_inter), weak_inter], [p.root]


def _weak_anchor_not_judged(p: Pki) -> tuple[list[Cert], list[Cert]]:
    # The store is the user's choice; only what the server sends is judged for strength.
    weak_root = ca("Weak Root", key="rsa1024")
    return [leaf([MX], weak_root), weak_root], [weak_root]


def _bad_signature(p: Pki) -> tuple[list[Cert], list[Cert]]:
    # Signed by `root`; `twin` carries the same name, is served as the issuer, and trusted.
    return [leaf([MX], p.root), p.twin], [p.twin]


def _twin_trusted_not_served(p: Pki) -> tuple[list[Cert], list[Cert]]:
    return [leaf([MX], p.root)], [p.twin]


def _twin_served_real_trusted(p: Pki) -> tuple[list[Cert], list[Cert]]:
    # A wrong extra certificate does not matter once the real issuer is a trust anchor.
    return [leaf([MX], p.root), p.twin], [p.root]


def _not_a_ca(p: Pki) -> tuple[list[Cert], list[Cert]]:
    middle = leaf(["middle.example.test"], p.root)
    return [leaf([MX], middle), middle], [p.root]


CASES = [
    pytest.param(_valid, MX, (), id="leaf-signed-by-trusted-root"),
    pytest.param(_via_inter, MX, (), id="root-intermediate-leaf"),
    pytest.param(_via_inter_root_served, MX, (), id="root-served-too"),
    pytest.param(_inter_missing_with_aia, MX, (P.INCOMPLETE_CHAIN,), id="missing-inter-aia"),
    pytest.param(_inter_missing_without_aia, MX, (P.UNTRUSTED,), id="missing-inter-no-aia"),
    pytest.param(_foreign_leaf_only, MX, (P.UNTRUSTED,), id="foreign-ca-leaf-only"),
    pytest.param(_foreign_root_served, MX, (P.UNTRUSTED,), id="foreign-root-served"),
    pytest.param(_self_signed, MX, (P.SELF_SIGNED,), id="self-signed"),
    pytest.param(
        _self_signed_other_name,
        MX,
        (P.SELF_SIGNED, P.NAME_MISMATCH),
        id="self-signed-wrong-name",
    ),
    pytest.param(_self_signed_pinned, MX, (), id="self-signed-pinned"),
    pytest.param(_expired, MX, (P.EXPIRED,), id="expired"),
    pytest.param(_expired_by_one_second, MX, (P.EXPIRED,), id="expired-one-second-ago"),
    pytest.param(_expires_exactly_now, MX, (), id="not-after-is-inclusive"),
    pytest.param(_not_yet_valid, MX, (P.NOT_YET_VALID,), id="not-yet-valid"),
    pytest.param(_valid_from_exactly_now, MX, (), id="not-before-is-inclusive"),
    pytest.param(_expired_wrong_name, MX, (P.EXPIRED, P.NAME_MISMATCH), id="expired-wrong-name"),
    pytest.param(
        _everything_wrong,
        MX,
        (P.UNTRUSTED, P.EXPIRED, P.NAME_MISMATCH, P.WEAK_KEY),
        id="untrusted-expired-wrong-name-weak-key",
    ),
    pytest.param(
        _self_signed_not_yet_valid_wrong_name,
        MX,
        (P.SELF_SIGNED, P.NOT_YET_VALID, P.NAME_MISMATCH),
        id="self-signed-not-yet-valid-wrong-name",
    ),
    pytest.param(_rsa1024, MX, (P.WEAK_KEY,), id="rsa-1024"),
    pytest.param(_rsa2048, MX, (), id="rsa-2048"),
    pytest.param(_p192, MX, (P.WEAK_KEY,), id="ec-p192"),
    pytest.param(_p384, MX, (), id="ec-p384"),
    pytest.param(_weak_intermediate, MX, (P.WEAK_KEY,), id="rsa-1024-intermediate"),
    pytest.param(_weak_anchor_not_judged, MX, (), id="rsa-1024-anchor-not-judged"),
    pytest.param(_bad_signature, MX, (P.BAD_SIGNATURE,), id="same-name-other-key-served"),
    pytest.param(
        _twin_trusted_not_served, MX, (P.BAD_SIGNATURE,), id="same-name-other-key-trusted"
    ),
    pytest.param(_twin_served_real_trusted, MX, (), id="wrong-extra-cert-real-anchor"),
    pytest.param(_not_a_ca, MX, (P.UNTRUSTED,), id="leaf-as-intermediate"),
]


@pytest.mark.parametrize(("scenario", "name", "expected"), CASES)
def test_judge_chain(
    pki: Pki, scenario: Scenario, name: str, expected: tuple[CertProblem, ...]
) -> None:
    served, trusted = scenario(pki)
    verdict = judge(served, trusted, name)
    assert verdict.problems == expected
    assert verdict.checked_name == name
    assert verdict.valid is (expected == ())


# --- trusted path and detail -----------------------------------------------------------


def test_valid_leaf_path_ends_at_root(pki: Pki) -> None:
    mx = leaf([MX], pki.root)
    verdict = judge([mx], [pki.root])
    assert verdict.problems == ()
    assert verdict.trusted_path == (subject(mx), subject(pki.root))
    assert verdict.trusted_path[-1] == "CN=Test Root"
    assert verdict.detail == "chains to a trusted root"


def test_intermediate_path(pki: Pki) -> None:
    mx = leaf([MX], pki.inter)
    verdict = judge([mx, pki.inter], [pki.root])
    assert verdict.trusted_path == (subject(mx), "CN=Test Intermediate", "CN=Test Root")


def test_pinned_self_signed_path_is_the_leaf(pki: Pki) -> None:
    pinned = leaf([MX], None)
    verdict = judge([pinned], [pinned])
    assert verdict.problems == ()
    assert verdict.trusted_path == (f"CN={MX}",)
    assert verdict.detail == "ends at a trusted certificate"


def test_incomplete_chain_names_the_missing_issuer(pki: Pki) -> None:
    verdict = judge([leaf([MX], pki.inter, aia_ca_issuers_url=AIA_URL)], [pki.root])
    assert verdict.problems == (P.INCOMPLETE_CHAIN,)
    assert verdict.trusted_path == ()
    assert "CN=Test Intermediate" in verdict.detail
    assert "does not send the intermediate certificate" in verdict.detail
    # OpenSSL's wording, which admins search for
    assert '"unable to verify the first certificate" (verify error 21)' in verdict.detail


def test_foreign_root_served_detail_names_the_root(pki: Pki) -> None:
    verdict = judge([leaf([MX], pki.foreign), pki.foreign], [pki.root])
    assert verdict.problems == (P.UNTRUSTED,)
    assert verdict.trusted_path == ()
    assert "CN=Foreign Root" in verdict.detail
    assert "not trusted" in verdict.detail


def test_foreign_leaf_only_detail(pki: Pki) -> None:
    verdict = judge([leaf([MX], pki.foreign)], [pki.root])
    assert verdict.detail == (
        "issued by CN=Foreign Root, which is not a trusted CA (and was not sent); "
        'OpenSSL: "unable to verify the first certificate" (verify error 21)'
    )


def test_self_signed_detail(pki: Pki) -> None:
    verdict = judge([leaf([MX], None)], [pki.root])
    assert verdict.trusted_path == ()
    assert verdict.detail == "the certificate is self-signed and not in the trust store"


def test_bad_signature_detail(pki: Pki) -> None:
    """`_dead_end`: an issuer by name was served, yet its key did not sign -> BAD_SIGNATURE."""
    mx = leaf([MX], pki.root)
    verdict = judge([mx, pki.twin], [pki.twin])
    assert verdict.problems == (P.BAD_SIGNATURE,)
    assert verdict.trusted_path == ()
    assert verdict.detail == f"the signature on CN={MX} does not verify"


def test_not_a_ca_detail(pki: Pki) -> None:
    middle = leaf(["middle.example.test"], pki.root)
    verdict = judge([leaf([MX], middle), middle], [pki.root])
    assert verdict.problems == (P.UNTRUSTED,)
    assert verdict.trusted_path == ()
    assert verdict.detail == "CN=middle.example.test is not a CA certificate"


def test_problems_are_independent_of_trust(pki: Pki) -> None:
    """Validity and name are judged even when no trust anchor is reached."""
    end = NOW - timedelta(days=1)
    expired = leaf(["other.example.test"], None, not_before=end - timedelta(days=9), not_after=end)
    verdict = judge([expired], [pki.root])
    assert verdict.problems == (P.SELF_SIGNED, P.EXPIRED, P.NAME_MISMATCH)


# --- no certificate --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("chain", "problem"),
    [
        pytest.param((), P.NO_CERTIFICATE, id="empty"),
        pytest.param((b"garbage",), P.UNPARSEABLE, id="garbage"),
        pytest.param((b"",), P.UNPARSEABLE, id="empty-bytes"),
        pytest.param((b"\x30\x03\x02\x01\x00",), P.UNPARSEABLE, id="der-but-not-a-certificate"),
    ],
)
def test_no_certificate(pki: Pki, chain: tuple[bytes, ...], problem: P) -> None:
    verdict = judge_chain(chain, MX, store(pki.root), NOW)
    assert verdict.problems == (problem,)
    assert verdict.trusted_path == ()
    assert verdict.checked_name == MX


def test_garbage_after_the_leaf_is_ignored(pki: Pki) -> None:
    mx = leaf([MX], pki.root)
    verdict = judge_chain((*der(mx), b"garbage"), MX, store(pki.root), NOW)
    assert verdict.problems == ()


def test_garbage_in_place_of_the_intermediate(pki: Pki) -> None:
    mx = leaf([MX], pki.inter)
    verdict = judge_chain((*der(mx), b"garbage", *der(pki.inter)), MX, store(pki.root), NOW)
    assert verdict.problems == (P.UNTRUSTED,)


# --- name matching through the judge ---------------------------------------------------


@pytest.mark.parametrize(
    ("names", "common_name", "checked", "expected"),
    [
        pytest.param([MX], None, MX, (), id="exact"),
        pytest.param([MX], None, "MX.Example.TEST", (), id="case-insensitive-name"),
        pytest.param(["MX.EXAMPLE.TEST"], None, MX, (), id="case-insensitive-san"),
        pytest.param([MX], None, MX + ".", (), id="trailing-dot-name"),
        pytest.param([MX + "."], None, MX, (), id="trailing-dot-san"),
        pytest.param(["*.example.test"], None, MX, (), id="wildcard-one-label"),
        pytest.param(["*.example.test"], None, "a.b.example.test", (P.NAME_MISMATCH,), id="wc-2"),
        pytest.param(["*.example.test"], None, "example.test", (P.NAME_MISMATCH,), id="wc-bare"),
        pytest.param(["other.example.test"], None, MX, (P.NAME_MISMATCH,), id="other-name"),
        pytest.param(["other.example.test", MX], None, MX, (), id="second-san"),
        pytest.param([], MX, MX, (), id="cn-fallback-without-san"),
        pytest.param([], "*.example.test", MX, (), id="cn-fallback-wildcard"),
        pytest.param(["other.example.test"], MX, MX, (P.NAME_MISMATCH,), id="cn-ignored-with-san"),
        pytest.param(["192.0.2.25"], "ip.example.test", MX, (P.NAME_MISMATCH,), id="ip-san-only"),
        # A host named by address ([192.0.2.25]:25) is matched against IP SANs only.
        pytest.param(["192.0.2.25"], "ip.example.test", "192.0.2.25", (), id="address-ip-san"),
        pytest.param(
            ["192.0.2.26"], "192.0.2.25", "192.0.2.25", (P.NAME_MISMATCH,), id="address-not-cn"
        ),
        # As OpenSSL's X509_check_host: only dNSName entries suppress the CN fallback.
        pytest.param(["192.0.2.25"], MX, MX, (), id="cn-fallback-when-san-has-only-ips"),
    ],
)
def test_name_matching(
    pki: Pki,
    names: list[str],
    common_name: str | None,
    checked: str,
    expected: tuple[CertProblem, ...],
) -> None:
    mx = leaf(names, pki.root, common_name=common_name)
    assert judge([mx], [pki.root], checked).problems == expected


# --- SHA-1 ---------------------------------------------------------------------------


def _sha1_now(cert: x509.Certificate) -> datetime:
    # OpenSSL's x509 cannot set a start date: judge one day into the leaf's own window.
    return cert.not_valid_before_utc + timedelta(days=1)


@pytest.mark.parametrize("ca_key", ["ec", "rsa2048"])
def test_sha1_leaf_is_trusted_but_flagged(tmp_path: Path, ca_key: KeySpec) -> None:
    root = ca("SHA-1 Root", key=ca_key)
    mx = make_sha1_leaf([MX], root, tmp_path)
    assert mx.cert.signature_hash_algorithm is not None
    assert mx.cert.signature_hash_algorithm.name == "sha1"
    verdict = judge([mx], [root], now=_sha1_now(mx.cert))
    assert verdict.problems == (P.SHA1_SIGNATURE,)
    assert verdict.trusted_path == (f"CN={MX}", "CN=SHA-1 Root")


def test_sha1_leaf_under_served_untrusted_root(tmp_path: Path, pki: Pki) -> None:
    mx = make_sha1_leaf([MX], pki.foreign, tmp_path)
    verdict = judge([mx, pki.foreign], [pki.root], now=_sha1_now(mx.cert))
    assert verdict.problems == (P.UNTRUSTED, P.SHA1_SIGNATURE)


def test_sha1_fallback_still_checks_the_signature(tmp_path: Path, pki: Pki) -> None:
    """The legacy path verifies too: a same-named impostor issuer does not sign SHA-1 leaves."""
    mx = make_sha1_leaf([MX], pki.root, tmp_path)
    verdict = judge([mx, pki.twin], [pki.twin], now=_sha1_now(mx.cert))
    assert verdict.problems == (P.BAD_SIGNATURE, P.SHA1_SIGNATURE)
    assert verdict.trusted_path == ()


# --- trustme (critical SAN and EKU) ----------------------------------------------------


def _trustme_chain(leaf_cert: trustme.LeafCert) -> list[x509.Certificate]:
    return [x509.load_pem_x509_certificate(b.bytes()) for b in leaf_cert.cert_chain_pems]


def _trustme_root(authority: trustme.CA) -> x509.Certificate:
    [root], _ = load_pem(authority.cert_pem.bytes())
    return root


def test_trustme_leaf_with_critical_extensions(pki: Pki) -> None:
    authority = trustme.CA()
    chain = _trustme_chain(authority.issue_cert(MX, not_before=LEAF_START, not_after=LEAF_END))
    exts = chain[0].extensions
    assert exts.get_extension_for_class(x509.SubjectAlternativeName).critical
    assert exts.get_extension_for_class(x509.ExtendedKeyUsage).critical
    root = _trustme_root(authority)
    assert judge(chain, [root]).problems == ()
    assert judge(chain, [root]).trusted_path[-1] == root.subject.rfc4514_string()
    assert judge(chain, [pki.root]).problems == (P.UNTRUSTED,)


def test_trustme_child_ca_chain(pki: Pki) -> None:
    authority = trustme.CA()
    child = authority.create_child_ca()
    chain = _trustme_chain(child.issue_cert(MX, not_before=LEAF_START, not_after=LEAF_END))
    assert len(chain) == 2
    assert judge(chain, [_trustme_root(authority)]).problems == ()
    assert judge(chain[:1], [_trustme_root(authority)]).problems == (P.UNTRUSTED,)
    assert judge(chain, [pki.root]).problems == (P.UNTRUSTED,)


# --- once wrong, now guarded -------------------------------------------------------


def test_expired_intermediate(pki: Pki) -> None:
    end = NOW - timedelta(days=1)
    old_inter = make_ca("Old Intermediate", issuer=pki.root, not_before=CA_START, not_after=end)
    verdict = judge([leaf([MX], old_inter), old_inter], [pki.root])
    assert verdict.problems == (P.EXPIRED,)


def _der_len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _der_tlv(tag: int, body: bytes) -> bytes:
    return bytes([tag]) + _der_len(len(body)) + body


def _unsupported_curve_leaf(issuer: Issued) -> bytes:
    """A leaf, properly signed by `issuer`, whose key is on a curve cryptography lacks."""
    cert = leaf([MX], issuer).cert
    p256 = bytes.fromhex("06082a8648ce3d030107")  # OID prime256v1
    prime192v2 = bytes.fromhex("06082a8648ce3d030102")
    tbs = cert.tbs_certificate_bytes
    assert tbs.count(p256) == 1
    tbs = tbs.replace(p256, prime192v2)
    assert isinstance(issuer.key, ec.EllipticCurvePrivateKey)
    signature = issuer.key.sign(tbs, ec.ECDSA(hashes.SHA256()))
    ecdsa_with_sha256 = _der_tlv(0x30, bytes.fromhex("06082a8648ce3d040302"))
    return _der_tlv(0x30, tbs + ecdsa_with_sha256 + _der_tlv(0x03, b"\x00" + signature))


def test_unsupported_curve_leaf_is_well_formed(pki: Pki) -> None:
    """Precondition for the next test: the certificate parses and its signature verifies."""
    cert = x509.load_der_x509_certificate(_unsupported_curve_leaf(pki.root))
    cert.verify_directly_issued_by(pki.root.cert)
    with pytest.raises(UnsupportedAlgorithm):
        cert.public_key()


def test_unsupported_key_type_does_not_crash(pki: Pki) -> None:
    verdict = judge_chain((_unsupported_curve_leaf(pki.root),), MX, store(pki.root), NOW)
    assert P.UNTRUSTED not in verdict.problems
    assert P.BAD_SIGNATURE not in verdict.problems
    assert verdict.trusted_path == (f"CN={MX}", "CN=Test Root")


def _leaf_naming_issuer_as_printable_string(issuer: Issued) -> x509.Certificate:
    """A leaf whose issuer DN equals `issuer`'s subject but encodes the CN as a
    PrintableString where the CA used a UTF8String: the same name under RFC 5280 §7.1
    (and to OpenSSL's canonical comparison), different DER bytes."""
    [cn] = issuer.cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    printable = x509.name._ASN1Type.PrintableString  # no public spelling for the string type
    issuer_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, str(cn.value), printable)])
    assert issuer_name == issuer.cert.subject
    assert issuer_name.public_bytes() != issuer.cert.subject.public_bytes()
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, MX)]))
        .issuer_name(issuer_name)
        .public_key(ec.generate_private_key(ec.SECP256R1()).public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(LEAF_START)
        .not_valid_after(LEAF_END)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(MX)]), critical=False)
        .sign(issuer.key, hashes.SHA256())
    )


def test_issuer_name_encoding_with_root_served(pki: Pki) -> None:
    """Served with its root, the path is found through `issued_by`'s `Name` equality."""
    mx = _leaf_naming_issuer_as_printable_string(pki.root)
    assert judge([mx, pki.root], [pki.root]).problems == ()


def test_issuer_name_encoding_leaf_only(pki: Pki) -> None:
    mx = _leaf_naming_issuer_as_printable_string(pki.root)
    assert judge([mx], [pki.root]).problems == ()
