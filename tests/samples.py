"""A realistic report built by hand, shared by the renderer tests.

Three MX hosts: one good, one with an expired and misnamed certificate, and one whose
421 greeting carries a hostile banner (ANSI escapes, an OSC title, BEL, rich markup, a
bidi override and a C1 CSI), so every format is tested against server text that tries
to act on whatever displays it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from starttls_check.model import catalogue
from starttls_check.model.catalogue import finding
from starttls_check.model.dns import DnsFacts, DnsStatus, MxHost
from starttls_check.model.findings import Subject, Verdict
from starttls_check.model.report import DomainReport, HostReport
from starttls_check.model.session import (
    CertificateInfo,
    CertProblem,
    Reply,
    SessionFacts,
    TlsResult,
    TrustVerdict,
)

# The catalogue as plain dicts, for tests that look codes up or iterate them.
CATALOGUE = {code: catalogue.rule(code) for code in catalogue.codes()}
EXPLANATIONS = {code: catalogue.explanation(code) for code in catalogue.codes()}
NOW = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)
HOSTILE = "\x1b[2J\x1b]0;owned\x07 [bold red]x[/] \u202egnp.exe \x9b31m"


def cert_info(name: str, days_left: int) -> CertificateInfo:
    """A plausible leaf for `name`, `days_left` days from expiry."""
    return CertificateInfo(
        subject=f"CN={name}",
        issuer="CN=Example CA",
        san_dns=(name,),
        san_ip=(),
        not_before=datetime(2026, 9, 1, tzinfo=UTC),
        not_after=datetime(2027, 2, 25, tzinfo=UTC),
        days_left=days_left,
        key_type="EC secp256r1",
        key_bits=256,
        signature_algorithm="ecdsa-with-SHA256",
        signature_hash="sha256",
        sha256_fingerprint="ab" * 32,
        spki_sha256="cd" * 32,
        is_ca=False,
        self_issued=False,
    )


def host_report(mx: str, address: str, **kw: object) -> HostReport:
    """A passing address on port 25 unless `kw` says otherwise."""
    values: dict[str, object] = {
        "mx": mx,
        "preference": 10,
        "address": address,
        "port": 25,
        "trust": None,
        "findings": (),
        "verdict": Verdict.PASS,
    }
    values.update(kw)
    return HostReport(**values)  # type: ignore[arg-type]


def sample_report() -> DomainReport:
    """example.test: mx1 passes, mx2 warns (certificate), mx3 fails (hostile 421 greeting)."""
    good_tls = TlsResult(
        version="TLSv1.3",
        cipher="TLS_AES_256_GCM_SHA384",
        cipher_bits=256,
        chain=(cert_info("mx1.example.test", 89),),
        handshake_ms=3.2,
    )
    bad_tls = TlsResult(
        version="TLSv1.2",
        cipher="ECDHE-RSA-AES128-GCM-SHA256",
        cipher_bits=128,
        chain=(cert_info("mail.other.test", -3),),
        handshake_ms=4.1,
    )
    subject2 = Subject(host="mx2.example.test", address="127.0.0.3", port=25)
    subject3 = Subject(host="mx3.example.test", address="127.0.0.4", port=25)
    hosts = (
        host_report(
            "mx1.example.test",
            "127.0.0.2",
            facts=SessionFacts(greeting=Reply(code=220, lines=("mx1 ESMTP",)), tls=good_tls),
            trust=TrustVerdict(
                problems=(),
                trusted_path=("CN=mx1", "CN=Example CA"),
                checked_name="mx1.example.test",
                detail="chains to a trusted root",
            ),
        ),
        host_report(
            "mx2.example.test",
            "127.0.0.3",
            preference=20,
            facts=SessionFacts(tls=bad_tls),
            trust=TrustVerdict(
                problems=(CertProblem.EXPIRED, CertProblem.NAME_MISMATCH),
                trusted_path=(),
                checked_name="mx2.example.test",
                detail="",
            ),
            findings=(
                finding("cert.expired", subject2, "certificate expired on 2026-11-25 (3 days ago)"),
                finding("cert.name-mismatch", subject2, "certificate is for mail.other.test"),
            ),
            verdict=Verdict.WARN,
        ),
        host_report(
            "mx3.example.test",
            "127.0.0.4",
            preference=30,
            facts=SessionFacts(greeting=Reply(code=421, lines=(HOSTILE,))),
            findings=(
                finding(
                    "smtp.greeting-rejected",
                    subject3,
                    f"greeting refused the session: 421 {HOSTILE}",
                ),
            ),
            verdict=Verdict.FAIL,
        ),
    )
    mx_hosts = tuple(
        MxHost(
            name=h.mx,
            preference=h.preference,
            implicit=False,
            cname_chain=(),
            addresses=(h.address,),
            ipv4_status=DnsStatus.OK,
            ipv6_status=DnsStatus.NO_DATA,
        )
        for h in hosts
    )
    dns = DnsFacts(
        domain="example.test", mx_status=DnsStatus.OK, mx_detail="", null_mx=False, hosts=mx_hosts
    )
    return DomainReport(
        domain="example.test",
        ascii_domain="example.test",
        checked_at=NOW,
        elapsed_ms=12.5,
        dns=dns,
        hosts=hosts,
        findings=(),
        verdict=Verdict.FAIL,
    )
