"""Ready-to-paste hints: placeholders in the catalogue's hints filled from the finding's
context (model/catalogue.py), end to end against loopback DNS and SMTP servers, and the
`3 1 1` record for the served key computed here, independently, from the certificate."""

from __future__ import annotations

import hashlib
import ssl
from functools import partial
from io import StringIO

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from rich.console import Console

from starttls_check.demo.loopback.pki import make_ca, make_leaf
from starttls_check.demo.loopback.smtp_server import ServerConnection, standard_session
from starttls_check.model import catalogue
from starttls_check.model.catalogue import EXAMPLES, CatalogueError, fill, load, subject_values
from starttls_check.model.findings import Finding, Policy, Subject
from starttls_check.model.report import DomainReport
from starttls_check.render.explanation import render_explanation
from starttls_check.render.findings import findings_lines

from . import test_policies_e2e as policies
from .harness import mail_world, run

MX = "mx.example.test"
ZONE = f"example.test. IN MX 10 {MX}.\n{MX}. IN A 127.0.0.2\n"


# --- the mechanism ----------------------------------------------------------------------


def test_placeholders_are_filled_with_valid_values_only() -> None:
    template = "`_{port}._tcp.{mx}. IN TLSA 3 1 1 {spki}` for {domain}"
    spki = "ab" * 32
    values = {"mx": "mx.example.test", "port": "2525", "spki": spki, "domain": "example.test"}
    assert fill(template, values) == (
        f"`_2525._tcp.mx.example.test. IN TLSA 3 1 1 {spki}` for example.test"
    )
    assert fill(template, {}) == (
        "`_25._tcp.mx.example.com. IN TLSA 3 1 1 <SHA-256 of the SPKI>` for example.com"
    )


@pytest.mark.parametrize(
    "hostile",
    [
        "evil.example\x1b[31m",
        "a b.example",
        "[bold]x[/].example",
        "192.0.2.1",  # an address is no host name
        "-bad-.example",
        "x" * 64 + ".example",
        "{domain}",
        "",
    ],
)
def test_a_value_that_is_no_host_name_gives_the_example(hostile: str) -> None:
    assert fill("{domain} {mx}", {"domain": hostile, "mx": hostile}) == "example.com mx.example.com"


def test_other_braces_and_unknown_words_are_left_as_written() -> None:
    exim = "`auth_advertise_hosts = ${if eq{$tls_in_cipher}{}{}{*}}` {domain} {nope}"
    assert fill(exim, {"domain": "example.test"}) == exim.replace("{domain}", "example.test")
    # No str.format: a value holding a placeholder is checked, never expanded again.
    assert fill("{domain}", {"domain": "{mx}"}) == "example.com"


def test_a_data_file_with_an_unknown_placeholder_is_refused() -> None:
    table = {
        "severity": "warn",
        "hint": "publish `_dmarc.{domian}. IN TXT ...`",
        "what": "w",
        "why": "w",
        "fix": "f",
        "verify": "v",
    }
    with pytest.raises(CatalogueError, match="unknown placeholder"):
        load("mail-auth", {"dmarc.missing": table})


def test_subjects_say_what_they_name() -> None:
    address = Subject(host="mx.example.test", address="127.0.0.2", port=25)
    assert subject_values(address) == {"mx": "mx.example.test", "port": "25"}
    assert subject_values(Subject(host="example.test")) == {"domain": "example.test"}


def test_every_code_explains_with_the_examples_and_no_placeholder_left() -> None:
    for code in catalogue.codes():
        text = render_explanation(code)
        for name in EXAMPLES:
            assert f"{{{name}}}" not in text, code
        assert catalogue.rule(code).hint == fill(catalogue.rule(code).template, {})


def test_the_examples_are_what_explain_shows() -> None:
    text = render_explanation("dmarc.missing")
    assert f"_dmarc.{EXAMPLES['domain']}. IN TXT" in text


# --- end to end -------------------------------------------------------------------------


def table_text(findings: tuple[Finding, ...]) -> str:
    console = Console(file=StringIO(), width=200, color_system=None)
    for line in findings_lines(findings, domain="example.test", verbose=True):  # -v: all hints
        console.print(line)
    out = console.file.getvalue()
    assert isinstance(out, str)
    return " ".join(out.split())


def check_loopback(**settings: object) -> DomainReport:
    async def go() -> DomainReport:
        async with mail_world(ZONE, {}) as world:  # the records are the subject: no server
            return await world.check("example.test", policy_checks=True, **settings)

    return run(go())


def test_hints_for_a_loopback_domain_name_it_and_its_mx() -> None:
    report = check_loopback()
    hints = {f.code: f.hint for f in report.all_findings()}
    expected = {
        "spf.missing": '`example.test. IN TXT "v=spf1 mx -all"`',
        "dmarc.missing": (
            '`_dmarc.example.test. IN TXT "v=DMARC1; p=quarantine; rua=mailto:dmarc@example.test"`'
        ),
        "tls-rpt.missing": (
            '`_smtp._tls.example.test. IN TXT "v=TLSRPTv1; rua=mailto:tlsrpt@example.test"`'
        ),
        "mta-sts.txt-missing": "`_mta-sts.example.test. IN TXT",
    }
    for code, text in expected.items():
        assert text in hints[code], code
        assert "example.com" not in hints[code], code
    assert f"`mx: {MX}`" in hints["mta-sts.txt-missing"]
    assert "https://mta-sts.example.test/.well-known/mta-sts.txt" in hints["mta-sts.txt-missing"]
    rendered = table_text(report.findings)
    assert 'rua=mailto:dmarc@example.test"`' in rendered


def test_a_454_to_starttls_names_the_tls_setup_not_connection_limits() -> None:
    connections = 0

    async def broken_tls_once(conn: ServerConnection, *, ca: trustme.CA) -> None:
        nonlocal connections
        connections += 1
        if connections == 1:  # STARTTLS offered, no certificate loaded: 454
            await standard_session(conn, hostname=MX, tls_context=None)
        else:
            leaf = ca.issue_cert(MX)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            leaf.configure_cert(context)
            await standard_session(conn, hostname=MX, tls_context=context)

    ca = trustme.CA()

    async def go() -> DomainReport:
        script = partial(broken_tls_once, ca=ca)
        async with mail_world(ZONE, {"127.0.0.2": script}) as world:
            return await world.check("example.test", retries=1)

    report = run(go())
    (transient,) = [f for f in report.all_findings() if f.code == "smtp.transient"]
    assert transient.message.startswith("first attempt: 454")
    assert "smtpd_tls_chain_files" in transient.hint
    assert "connection_count_limit" not in transient.hint
    # A 421 greeting keeps the wording about limits.
    assert "connection_count_limit" in catalogue.hint("smtp.transient")


# --- DANE: the record that would match the served key -----------------------------------


def spki_sha256_of(pem: bytes) -> str:
    """Computed here from the certificate, not by the package's DER reader."""
    cert = x509.load_pem_x509_certificate(pem)
    spki = cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(spki).hexdigest()


def test_a_dane_mismatch_shows_the_published_records_and_the_one_that_would_match(
    pki: policies.Pki,
) -> None:
    ca = trustme.CA()
    leaf = ca.issue_cert(policies.MX)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    leaf.configure_cert(context)
    script = partial(standard_session, hostname=policies.MX, tls_context=context)
    stale = "3 1 1 " + "ab" * 32
    out = policies.check(
        pki, policies.signed(policies.tlsa(stale)), servers={policies.MX_ADDRESS: script}
    )
    mismatch = out.find("dane.no-match")
    served = spki_sha256_of(leaf.cert_chain_pems[0].bytes())
    port = out.host.port
    assert mismatch.evidence == stale  # the published records
    assert f"(published: {stale}); the served key would match 3 1 1 {served}" in mismatch.message
    assert f"`_{port}._tcp.{policies.MX}. IN TLSA 3 1 1 {served}`" in mismatch.hint


def test_require_dane_names_the_mx_and_its_key(pki: policies.Pki) -> None:
    out = policies.check(pki, policies.signed(), policy=Policy(require_dane=True))
    required = out.find("dane.required")
    served = spki_sha256_of(pki.leaf.cert.public_bytes(Encoding.PEM))
    assert f"`_{out.host.port}._tcp.{policies.MX}. IN TLSA 3 1 1 {served}`" in required.hint


@pytest.fixture
def pki() -> policies.Pki:
    ca = make_ca("hints test CA")
    return policies.Pki(ca=ca, leaf=make_leaf([policies.MX], ca))


def test_the_mismatch_message_names_a_few_published_records_clipped() -> None:
    from starttls_check.checks.dane import findings
    from starttls_check.policy.dane import DaneResult

    whole_cert = "3 0 0 " + "30" * 600
    usable = (whole_cert, *(f"3 1 1 {n:02x}" * 1 + "cd" * 31 for n in range(5)))
    result = DaneResult(
        usable=usable, unusable=(), matches=(), authenticated=False, reason="no match"
    )
    (mismatch,) = findings(result, f"{MX} [127.0.0.2]:25", served_spki="ef" * 32)
    assert mismatch.evidence == "\n".join(usable)  # every record, whole
    assert f"{whole_cert[:79]}…," in mismatch.message
    assert mismatch.message.endswith(f" and 2 more); the served key would match 3 1 1 {'ef' * 32}")
    assert len(mismatch.message) < 500  # bounded, however many and however long
    (plain,) = findings(result, f"{MX} [127.0.0.2]:25")  # no certificate known: as before
    assert plain.message == "no match"
    assert "<SHA-256 of the SPKI>" in plain.hint
