"""DANE matching (RFC 6698, 7671, 7672): served chains from the loopback factory, fixed `NOW`.

Expected association data is computed here with cryptography and hashlib, independently
of `dane.py`'s own DER reader, so a wrong SPKI cut would show as a failed match.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import dns.rdata
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from starttls_check.checks.dane import findings
from starttls_check.demo.loopback.pki import Issued, KeySpec, make_ca, make_leaf
from starttls_check.dns.names import tlsa_owner
from starttls_check.model.findings import Severity
from starttls_check.policy.dane import (
    DaneResult,
    TlsaMatch,
    TlsaRecord,
    match_chain,
    parse_tlsa_text,
    spki_der,
    spki_sha256,
    why_unusable,
)

from .samples import CATALOGUE
from .samples import EXPLANATIONS as EXPLANATIONS_ALL

# The codes the matcher's findings use, as in the catalogue.
_OWN = ("dane.matched", "dane.no-match", "dane.unusable-record", "dane.usage-ignored")
CODES = {code: CATALOGUE[code] for code in _OWN}
EXPLANATIONS = {code: EXPLANATIONS_ALL[code] for code in _OWN}


MX = "mx.example.test"
NOW = datetime(2031, 3, 15, 12, 0, tzinfo=UTC)
_DER = serialization.Encoding.DER
_SPKI = serialization.PublicFormat.SubjectPublicKeyInfo
_HASHES: dict[int, Callable[[bytes], bytes]] = {
    0: lambda b: b,
    1: lambda b: hashlib.sha256(b).digest(),
    2: lambda b: hashlib.sha512(b).digest(),
}


# --- helpers ---------------------------------------------------------------------------


def ca(cn: str, issuer: Issued | None = None) -> Issued:
    start, end = datetime(2020, 1, 1, tzinfo=UTC), datetime(2099, 1, 1, tzinfo=UTC)
    return make_ca(cn, issuer=issuer, not_before=start, not_after=end)


def leaf(
    issuer: Issued | None,
    names: tuple[str, ...] = (MX,),
    *,
    expired: bool = False,
    key: KeySpec = "ec",
) -> Issued:

    end = NOW - timedelta(days=1) if expired else NOW + timedelta(days=80)
    return make_leaf(
        list(names), issuer, not_before=end - timedelta(days=90), not_after=end, key=key
    )


def der(*certs: Issued) -> tuple[bytes, ...]:
    return tuple(c.cert.public_bytes(_DER) for c in certs)


def record(usage: int, selector: int, mtype: int, cert: x509.Certificate) -> str:
    """The presentation text a zone would hold for `cert`, computed without dane.py."""
    selected = (
        cert.public_bytes(_DER) if selector == 0 else cert.public_key().public_bytes(_DER, _SPKI)
    )
    return f"{usage} {selector} {mtype} {_HASHES[mtype](selected).hex()}"


@pytest.fixture(scope="module")
def pki() -> dict[str, Issued]:
    root = ca("Test Root")
    inter = ca("Test Intermediate", root)
    return {
        "root": root,
        "inter": inter,
        "leaf": leaf(inter),
        "other_leaf": leaf(inter),
        "misnamed": leaf(inter, ("other.example.test",)),
        "expired": leaf(inter, expired=True),
        "foreign": ca("Foreign Root"),
    }


def judge(
    records: Sequence[TlsaRecord | str], chain: tuple[bytes, ...], name: str = MX
) -> DaneResult:
    return match_chain(records, chain, name, now=NOW)


# --- DANE-EE (3): the leaf alone, no names, no dates ------------------------------------


@pytest.mark.parametrize(("selector", "mtype"), [(1, 1), (0, 1), (1, 2), (0, 0), (1, 0), (0, 2)])
def test_dane_ee_matches_the_leaf(pki: dict[str, Issued], selector: int, mtype: int) -> None:
    rec = record(3, selector, mtype, pki["leaf"].cert)
    result = judge([rec], der(pki["leaf"], pki["inter"]))
    assert result.authenticated, result.reason
    assert result.usable == (rec,)
    assert result.unusable == ()
    subject = f"CN={MX}"
    assert result.matches == (
        TlsaMatch(record=rec, certificate_index=0, certificate_subject=subject),
    )
    assert result.reason.startswith(
        f"the leaf certificate matches DANE-EE record 3 {selector} {mtype} "
    )


def test_dane_ee_for_another_key_does_not_match(pki: dict[str, Issued]) -> None:
    rec = record(3, 1, 1, pki["other_leaf"].cert)
    result = judge([rec], der(pki["leaf"], pki["inter"]))
    assert not result.authenticated
    assert result.matches == ()
    assert result.reason == "none of the 1 usable TLSA records matches the served chain"


def test_dane_ee_does_not_match_a_ca_in_the_chain(pki: dict[str, Issued]) -> None:
    """Usage 3 pins the end entity (RFC 7672 §3.1.1): a record for the CA counts for nothing."""
    result = judge([record(3, 1, 1, pki["inter"].cert)], der(pki["leaf"], pki["inter"]))
    assert not result.authenticated
    assert result.matches == ()


@pytest.mark.parametrize("case", ["expired", "misnamed"])
def test_dane_ee_ignores_expiry_and_names(pki: dict[str, Issued], case: str) -> None:
    result = judge([record(3, 1, 1, pki[case].cert)], der(pki[case], pki["inter"]))
    assert result.authenticated, result.reason


def test_dane_ee_one_matching_record_is_enough(pki: dict[str, Issued]) -> None:
    stale, current = record(3, 1, 1, pki["other_leaf"].cert), record(3, 1, 1, pki["leaf"].cert)
    result = judge([stale, current], der(pki["leaf"], pki["inter"]))
    assert result.authenticated
    assert [m.record for m in result.matches] == [current]


def test_dane_ee_matches_an_rsa_leaf(pki: dict[str, Issued]) -> None:
    rsa_leaf = leaf(pki["inter"], key="rsa2048")
    assert judge([record(3, 1, 1, rsa_leaf.cert)], der(rsa_leaf)).authenticated


# --- DANE-TA (2): a served CA, then signatures, names and dates ---------------------------


@pytest.mark.parametrize(("ta", "index"), [("inter", 1), ("root", 2)])
def test_dane_ta_matches_a_served_ca(pki: dict[str, Issued], ta: str, index: int) -> None:
    rec = record(2, 0, 1, pki[ta].cert)
    result = judge([rec], der(pki["leaf"], pki["inter"], pki["root"]))
    assert result.authenticated, result.reason
    subject = pki[ta].cert.subject.rfc4514_string()
    assert result.matches == (
        TlsaMatch(record=rec, certificate_index=index, certificate_subject=subject),
    )
    assert "and the leaf chains to it" in result.reason


def test_dane_ta_spki_record_and_chain_served_out_of_order(pki: dict[str, Issued]) -> None:
    result = judge([record(2, 1, 1, pki["root"].cert)], der(pki["leaf"], pki["root"], pki["inter"]))
    assert result.authenticated, result.reason


def test_dane_ta_wrong_mx_name_is_not_authenticated(pki: dict[str, Issued]) -> None:
    rec = record(2, 0, 1, pki["root"].cert)
    result = judge([rec], der(pki["misnamed"], pki["inter"], pki["root"]))
    assert not result.authenticated
    assert len(result.matches) == 1  # it matched; the leaf then failed the name check
    assert f"the leaf certificate does not name {MX}" in result.reason


def test_dane_ta_accepts_a_further_reference_name(pki: dict[str, Issued]) -> None:
    """RFC 7672 §3.2.2: the CNAME-expanded TLSA base domain is a reference identifier too."""
    chain = der(pki["misnamed"], pki["inter"], pki["root"])
    result = match_chain(
        [record(2, 0, 1, pki["root"].cert)], chain, MX, now=NOW, also_names=["other.example.test"]
    )
    assert result.authenticated, result.reason


def test_dane_ta_wildcard_leaf_matches(pki: dict[str, Issued]) -> None:
    wildcard = leaf(pki["inter"], ("*.example.test",))
    result = judge([record(2, 1, 1, pki["inter"].cert)], der(wildcard, pki["inter"]))
    assert result.authenticated, result.reason


def test_dane_ta_checks_the_leaf_expiry(pki: dict[str, Issued]) -> None:
    result = judge(
        [record(2, 0, 1, pki["root"].cert)], der(pki["expired"], pki["inter"], pki["root"])
    )
    assert not result.authenticated
    assert "a certificate below the trust anchor has expired" in result.reason


def test_dane_ta_for_a_ca_not_served_does_not_match(pki: dict[str, Issued]) -> None:
    """The server must send the trust anchor (RFC 7672 §3.1.2): the root left out, or a
    foreign CA, gives no match at all."""
    records = [record(2, 0, 1, pki["root"].cert), record(2, 0, 1, pki["foreign"].cert)]
    result = judge(records, der(pki["leaf"], pki["inter"]))
    assert not result.authenticated
    assert result.matches == ()
    assert result.reason == "none of the 2 usable TLSA records matches the served chain"


def test_dane_ta_served_ca_that_did_not_sign_the_leaf(pki: dict[str, Issued]) -> None:
    chain = der(pki["leaf"], pki["inter"], pki["foreign"])
    result = judge([record(2, 0, 1, pki["foreign"].cert)], chain)
    assert not result.authenticated
    assert result.matches[0].certificate_index == 2
    assert "the leaf does not chain to it by signature" in result.reason


def test_no_certificate_served(pki: dict[str, Issued]) -> None:
    result = judge([record(3, 1, 1, pki["leaf"].cert)], ())
    assert (result.authenticated, result.reason) == (False, "the server presented no certificate")


# --- unusable records ----------------------------------------------------------------------


@pytest.mark.parametrize(("usage", "name"), [(0, "PKIX-TA"), (1, "PKIX-EE")])
def test_pkix_usages_are_ignored_for_smtp(pki: dict[str, Issued], usage: int, name: str) -> None:
    rec = record(usage, 0, 1, pki["root"].cert if usage == 0 else pki["leaf"].cert)
    result = judge([rec], der(pki["leaf"], pki["inter"], pki["root"]))
    assert not result.authenticated
    assert result.usable == ()
    assert result.matches == ()
    assert result.unusable == (
        (rec, f"usage {name}({usage}) is ignored for SMTP (RFC 7672 §3.1.3)"),
    )
    assert "none of the 1 TLSA records is usable for SMTP" in result.reason


SHA256_ZERO = "00" * 32
UNUSABLE = [
    ("3 1 1 abcd", "a SHA2-256 digest is 32 bytes, this one is 2"),
    (f"3 1 2 {SHA256_ZERO}", "a SHA2-512 digest is 64 bytes, this one is 32"),
    (f"3 1 3 {SHA256_ZERO}", "unknown matching type 3"),
    (f"3 2 1 {SHA256_ZERO}", "unknown selector 2"),
    (f"4 1 1 {SHA256_ZERO}", "unknown certificate usage 4"),
    ("3 1 0 3000", "full data (matching type 0) with selector 1 must be a SubjectPublicKeyInfo"),
    ("3 0 0 300130", "full data (matching type 0) with selector 0 must be a DER certificate"),
]


@pytest.mark.parametrize(("text", "reason"), UNUSABLE)
def test_unusable_record_reasons(pki: dict[str, Issued], text: str, reason: str) -> None:
    result = judge([text], der(pki["leaf"]))
    assert result.unusable == ((text, reason),)
    assert (result.usable, result.matches, result.authenticated) == ((), (), False)


GARBAGE = [
    ("", "expected four fields: usage, selector, matching type, hex data"),
    ("hello world", "expected four fields: usage, selector, matching type, hex data"),
    ("3 1 x abcd", "usage, selector and matching type must be numbers from 0 to 255"),
    ("256 1 1 abcd", "usage, selector and matching type must be numbers from 0 to 255"),
    ("3 1 1 zz", "the association data is not hexadecimal (or has an odd number of digits)"),
    ("3 1 1 abc", "the association data is not hexadecimal (or has an odd number of digits)"),
]


@pytest.mark.parametrize(("text", "reason"), GARBAGE)
def test_garbage_text_is_reported_with_its_text(
    pki: dict[str, Issued], text: str, reason: str
) -> None:
    assert parse_tlsa_text(text) == reason
    result = judge([text, record(3, 1, 1, pki["leaf"].cert)], der(pki["leaf"]))
    assert result.unusable == ((text, reason),)
    assert result.authenticated  # one bad record does not spoil a good one


def test_unreadable_text_is_clipped_in_the_report() -> None:
    result = judge(["x" * 5000], ())
    assert result.unusable[0][0] == "x" * 200 + "..."


def test_parse_accepts_spaces_in_hex_and_keeps_pkix_usages() -> None:
    parsed = parse_tlsa_text(f"3 1 1 {SHA256_ZERO[:20]} {SHA256_ZERO[20:]}")
    assert parsed == TlsaRecord(usage=3, selector=1, mtype=1, data=bytes(32))
    pkix = parse_tlsa_text(f"1 1 1 {SHA256_ZERO}")
    assert isinstance(pkix, TlsaRecord)
    assert why_unusable(pkix) == "usage PKIX-EE(1) is ignored for SMTP (RFC 7672 §3.1.3)"


def test_records_from_dnspython_rdata(pki: dict[str, Issued]) -> None:
    text = record(3, 1, 1, pki["leaf"].cert)
    rdata = dns.rdata.from_text("IN", "TLSA", text)
    parsed = TlsaRecord.from_rdata(rdata)  # type: ignore[arg-type]
    assert parsed.text == text
    assert judge([parsed], der(pki["leaf"])).authenticated


# --- helpers -------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["ec", "ec384", "rsa2048"])
def test_spki_is_cut_exactly_from_the_certificate(key: KeySpec) -> None:
    cert = make_leaf([MX], None, key=key).cert
    expected = cert.public_key().public_bytes(_DER, _SPKI)
    assert spki_der(cert.public_bytes(_DER)) == expected
    assert spki_sha256(cert.public_bytes(_DER)) == hashlib.sha256(expected).hexdigest()


@pytest.mark.parametrize(
    "junk", [b"", b"\x30", b"\x30\x80\x00\x00", b"not a certificate", b"\x30\x03\x02\x01\x01"]
)
def test_spki_of_junk_is_none(junk: bytes) -> None:
    assert spki_der(junk) is None
    assert spki_sha256(junk) is None


def test_tlsa_owner() -> None:
    assert tlsa_owner("MX.Example.com.", 25) == "_25._tcp.mx.example.com."
    assert tlsa_owner("mx.example.com", 587) == "_587._tcp.mx.example.com."
    with pytest.raises(ValueError, match="not a TCP port"):
        tlsa_owner("mx.example.com", 0)


# --- findings, hints, explanations ---------------------------------------------------------


def codes(result: DaneResult) -> list[tuple[str, Severity]]:
    return [(f.code, f.severity) for f in findings(result, f"{MX} 192.0.2.1:25")]


def test_findings_for_each_outcome(pki: dict[str, Issued]) -> None:
    chain = der(pki["leaf"], pki["inter"], pki["root"])
    good, stale = record(3, 1, 1, pki["leaf"].cert), record(3, 1, 1, pki["other_leaf"].cert)
    pkix = record(1, 1, 1, pki["leaf"].cert)
    assert codes(judge([good], chain)) == [("dane.matched", Severity.INFO)]
    assert codes(judge([stale], chain)) == [("dane.no-match", Severity.FAIL)]
    assert codes(judge([pkix, "3 1 1 ab", good], chain)) == [
        ("dane.usage-ignored", Severity.INFO),
        ("dane.unusable-record", Severity.WARN),
        ("dane.matched", Severity.INFO),
    ]
    assert codes(judge([], chain)) == []


def test_no_match_finding_carries_records_and_reason(pki: dict[str, Issued]) -> None:
    stale = record(3, 1, 1, pki["other_leaf"].cert)
    (finding,) = findings(judge([stale], der(pki["leaf"])), f"{MX} 192.0.2.1:25")
    assert finding.evidence == stale
    assert finding.message == "none of the 1 usable TLSA records matches the served chain"
    assert "_25._tcp.mx.example.com. IN TLSA 3 1 1" in finding.hint
    assert "TLSA record first" in finding.hint  # rollover: publish the new key's record first


def test_every_code_is_explained() -> None:
    assert (
        set(CODES)
        == set(EXPLANATIONS)
        == {"dane.no-match", "dane.unusable-record", "dane.usage-ignored", "dane.matched"}
    )
    for code, explanation in EXPLANATIONS.items():
        for field in dataclasses.fields(explanation):
            assert len(getattr(explanation, field.name).strip()) >= 20, (code, field.name)
        assert "$ " in explanation.verify, code
