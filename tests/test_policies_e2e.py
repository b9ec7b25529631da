"""End to end: DANE, MTA-STS, TLS-RPT, SPF and DMARC through `check_domain_async`.

Real servers on loopback only: a DNS server answering from zones signed here (the parent
`test.` is the trust anchor), SMTP servers on 127.0.0.N sharing one port, and an HTTPS
server for `mta-sts.example.test`. The SMTP port is only known once the servers are up,
and the TLSA owner name holds it (`_PORT._tcp.mx...`), so the zones are built after the
SMTP servers start and before the DNS server does.
"""

from __future__ import annotations

import contextlib
import hashlib
import ssl
from collections.abc import AsyncIterator, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import dns.zone
import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from starttls_check.demo.loopback import signed_zones
from starttls_check.demo.loopback.dns_server import LoopbackDnsServer
from starttls_check.demo.loopback.https_server import (
    Handler,
    HttpRequest,
    HttpResponse,
    LoopbackHttpsServer,
)
from starttls_check.demo.loopback.pki import Issued, chain_pem, make_ca, make_leaf
from starttls_check.demo.loopback.shared_port import servers_on_shared_port
from starttls_check.demo.loopback.signed_zones import ZoneKeys
from starttls_check.demo.loopback.smtp_server import Script, server_tls_context, standard_session
from starttls_check.dns.anchors import TrustAnchors, parse_trust_anchors
from starttls_check.dns.names import tlsa_owner
from starttls_check.model.findings import Finding, Policy, Severity, Verdict
from starttls_check.model.report import DomainReport, HostReport
from starttls_check.model.settings import DnssecMode
from starttls_check.policy.dane import spki_sha256
from starttls_check.run.check import check_domain_async

from .harness import World, run

DOMAIN = "example.test"
MX = "mx.example.test"
MX_ADDRESS = "127.0.0.2"
HTTPS_ADDRESS = "127.0.0.10"
STS_HOST = f"mta-sts.{DOMAIN}"
TIMEOUT = 2.0

GOOD_AUTH = (
    '@ TXT "v=spf1 mx -all"',
    '_dmarc TXT "v=DMARC1; p=reject; rua=mailto:dmarc@example.test"',
    '_smtp._tls TXT "v=TLSRPTv1; rua=mailto:tlsrpt@example.test"',
)
STS_RECORDS = ('_mta-sts TXT "v=STSv1; id=1;"', f"mta-sts A {HTTPS_ADDRESS}")

# What each kind of sender does (checks/policies.py), for a TLS 1.3 session on loopback.
OPPORTUNISTIC = "delivers encrypted (TLS 1.3), certificate not checked"
AUTHENTICATED = "delivers encrypted and authenticated"
DANE_MATCHED = "delivers encrypted and authenticated (TLSA matched)"
DANE_IGNORED = "TLSA records are not DNSSEC-secure and are ignored: " + OPPORTUNISTIC
DANE_NONE = "no TLSA records: " + OPPORTUNISTIC
DANE_DEFERS = "defers delivery: DNSSEC validation of the TLSA records fails"
STS_NONE = "no MTA-STS policy applies: " + OPPORTUNISTIC
NO_TLS_REFUSAL = "refuses delivery: TLSA published, but no TLS (it will not send in clear)"


# --- zones ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Tree:
    """Zones for the DNS server, and the anchor (the DS of `test.`'s KSK)."""

    zones: tuple[dns.zone.Zone, ...]
    anchors: TrustAnchors


Tamper = Callable[[Mapping[str, dns.zone.Zone], Mapping[str, ZoneKeys], datetime], None]


def build_tree(
    children: Mapping[str, Sequence[str]],
    *,
    unsigned: Collection[str] = (),
    after_signing: Tamper | None = None,
) -> Tree:
    """`test.` signed, delegating to each child; children signed with their DS in `test.`,
    except those in `unsigned` (a delegation without DS: insecure)."""
    now = datetime.now(UTC)
    parent = signed_zones.make_zone("test.", *(f"{origin} NS ns.test." for origin in children))
    parent_keys = signed_zones.generate_zone_keys()
    zones = {
        origin: signed_zones.make_zone(origin, *records) for origin, records in children.items()
    }
    keys: dict[str, ZoneKeys] = {}
    for origin, zone in zones.items():
        if origin in unsigned:
            continue
        keys[origin] = signed_zones.generate_zone_keys()
        signed_zones.sign(zone, keys[origin], now=now)
        signed_zones.add_rdata(parent, origin, signed_zones.make_ds(origin, keys[origin].ksk))
    if after_signing is not None:
        after_signing(zones, keys, now)
    signed_zones.sign(parent, parent_keys, now=now)
    anchor = signed_zones.anchor_text("test.", parent_keys.ksk)
    return Tree(zones=(parent, *zones.values()), anchors=parse_trust_anchors(anchor))


def tlsa_line(port: int, *rdatas: str, mx: str = "mx") -> list[str]:
    """TLSA lines for `mx` (relative to the zone) at the SMTP test port."""
    return [f"_{port}._tcp.{mx} TLSA {rdata}" for rdata in rdatas]


def mail_records(*extra: str, auth: Sequence[str] = GOOD_AUTH, mx: str = "mx") -> list[str]:
    """example.test.: one MX at 127.0.0.2, the mail-authentication records, `extra`."""
    lines = [f"@ MX 10 {mx}", *auth, *extra]
    if mx == "mx":
        lines.append(f"mx A {MX_ADDRESS}")
    return lines


# --- certificates -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Pki:
    """The test CA (the only root the checker trusts) and the MX's leaf."""

    ca: Issued
    leaf: Issued

    def smtp(self, *, leaf: Issued | None = None, offer_starttls: bool = True) -> Script:
        leaf = leaf or self.leaf
        name = leaf.cert.subject.rfc4514_string().removeprefix("CN=")
        context = server_tls_context(chain_pem(leaf, self.ca), leaf.key_pem)
        return partial(
            standard_session, hostname=name, tls_context=context, offer_starttls=offer_starttls
        )

    def https_context(self, issuer: Issued | None = None) -> ssl.SSLContext:
        issuer = issuer or self.ca
        leaf = make_leaf([STS_HOST], issuer)
        return server_tls_context(chain_pem(leaf, issuer), leaf.key_pem)

    @property
    def leaf_311(self) -> str:
        """`3 1 1` for the MX leaf's key."""
        return f"3 1 1 {spki_sha256(self.leaf.cert.public_bytes(Encoding.DER))}"

    @property
    def ca_201(self) -> str:
        """`2 0 1` for the CA certificate (served as the second in the chain)."""
        return f"2 0 1 {hashlib.sha256(self.ca.cert.public_bytes(Encoding.DER)).hexdigest()}"


@pytest.fixture
def pki() -> Pki:
    ca = make_ca("policies test CA")
    return Pki(ca=ca, leaf=make_leaf([MX], ca))


# --- the world --------------------------------------------------------------------------


def policy_body(mode: str = "enforce", *mx: str) -> bytes:
    lines = ["version: STSv1", f"mode: {mode}", *(f"mx: {p}" for p in mx or (MX,))]
    return ("\r\n".join([*lines, "max_age: 604800"]) + "\r\n").encode()


def serve(
    body: bytes, *, status: int = 200, content_type: str = "text/plain", **more: str
) -> Handler:
    headers = (("Content-Type", content_type), *more.items())
    return lambda _request: HttpResponse(status=status, headers=headers, body=body)


@dataclass
class Outcome:
    report: DomainReport
    requests: list[HttpRequest]  # what the HTTPS server was asked

    @property
    def host(self) -> HostReport:
        (host,) = self.report.hosts
        return host

    def codes(self, prefix: str = "") -> list[str]:
        return [f.code for f in self.report.all_findings() if f.code.startswith(prefix)]

    def find(self, code: str) -> Finding:
        (found,) = [f for f in self.report.all_findings() if f.code == code]
        return found


DnsKnobs = Mapping[str, Any] | Callable[[int], Mapping[str, Any]]  # by SMTP port, if callable


@contextlib.asynccontextmanager
async def _https(
    handler: Handler | None, context: ssl.SSLContext | None
) -> AsyncIterator[LoopbackHttpsServer | None]:
    if handler is None:
        yield None
        return
    async with LoopbackHttpsServer(handler, HTTPS_ADDRESS, tls_context=context) as server:
        yield server
    server.raise_errors()


async def _check(
    zones: Callable[[int], Tree],
    servers: Mapping[str, Script],
    pki: Pki,
    https: Handler | None,
    https_context: ssl.SSLContext | None,
    dns_knobs: DnsKnobs,
    settings: Mapping[str, Any],
) -> Outcome:
    async with servers_on_shared_port(servers) as port, _https(https, https_context) as web:
        tree = zones(port)
        knobs = dns_knobs(port) if callable(dns_knobs) else dns_knobs
        async with LoopbackDnsServer(tree.zones, **knobs) as dns_server:
            values: dict[str, Any] = {
                "policy_checks": True,
                "timeout": TIMEOUT,
                "trust_anchors": tree.anchors,
            }
            if web is not None:
                values["mta_sts_port"] = web.port
            values.update(settings)
            world = World(dns=dns_server, port=port, ca=pki.ca)
            report = await check_domain_async(DOMAIN, world.settings(**values))
        dns_server.raise_errors()
        return Outcome(report=report, requests=list(web.requests) if web else [])


def check(
    pki: Pki,
    zones: Callable[[int], Tree],
    *,
    servers: Mapping[str, Script] | None = None,
    https: Handler | None = None,
    https_context: ssl.SSLContext | None = None,
    dns_knobs: DnsKnobs | None = None,
    **settings: Any,
) -> Outcome:
    """Start the world, check example.test once, stop the world. `dns_knobs` go to the
    DNS server; a callable gets the SMTP port first (for knobs naming a TLSA owner)."""
    if https is not None and https_context is None:
        https_context = pki.https_context()
    servers = servers if servers is not None else {MX_ADDRESS: pki.smtp()}
    return run(_check(zones, servers, pki, https, https_context, dns_knobs or {}, settings))


def signed(*extra: Callable[[int], Sequence[str]] | str, **tree: Any) -> Callable[[int], Tree]:
    """Zones for example.test. (signed unless `unsigned=`), given the SMTP port."""

    def build(port: int) -> Tree:
        lines = [line for e in extra for line in ([e] if isinstance(e, str) else e(port))]
        return build_tree({f"{DOMAIN}.": mail_records(*lines)}, **tree)

    return build


def tlsa(*rdatas: str) -> Callable[[int], list[str]]:
    return lambda port: tlsa_line(port, *rdatas)


def assert_senders(host: HostReport, *, opportunistic: str, mta_sts: str, dane: str) -> None:
    assert host.senders is not None
    assert host.senders.opportunistic.reason == opportunistic
    assert host.senders.mta_sts.reason == mta_sts
    assert host.senders.dane.reason == dane


# --- DANE -------------------------------------------------------------------------------


def test_dane_ee_matching_the_leaf_key(pki: Pki) -> None:
    out = check(pki, signed(tlsa(pki.leaf_311)))
    host = out.host
    tlsa_lookup = out.report.policies.tlsa[0] if out.report.policies else None
    assert tlsa_lookup is not None
    assert tlsa_lookup.owner == tlsa_owner(MX, host.port)
    assert tlsa_lookup.dnssec == "secure", tlsa_lookup.dnssec_reason
    assert out.codes("dane.") == ["dane.matched"]
    assert host.dane is not None
    assert host.dane.authenticated
    assert host.dane.reason.startswith("the leaf certificate matches DANE-EE record 3 1 1")
    assert host.dane.matches
    assert "matched certificate 0" in host.dane.matches[0]
    # No MTA-STS policy here; a sender doing both still goes by the secure TLSA records.
    assert_senders(host, opportunistic=OPPORTUNISTIC, mta_sts=STS_NONE, dane=DANE_MATCHED)
    assert out.codes("tls-rpt.") == out.codes("spf.") == out.codes("dmarc.") == []
    assert out.report.verdict is Verdict.PASS


@pytest.mark.parametrize("with_mta_sts", [False, True], ids=["dane-only", "with-mta-sts"])
def test_dane_ee_with_an_expired_certificate(pki: Pki, with_mta_sts: bool) -> None:
    """RFC 7671 §5.1: DANE-EE senders ignore the certificate's dates and names. With no
    MTA-STS policy nobody who authenticates checks them, so the domain passes; with one in
    enforce mode, MTA-STS senders refuse the certificate: a warning, and the policy fails."""
    expired = make_leaf(
        [MX],
        pki.ca,
        not_before=datetime.now(UTC) - timedelta(days=100),
        not_after=datetime.now(UTC) - timedelta(days=3),
    )
    record = f"3 1 1 {spki_sha256(expired.cert.public_bytes(Encoding.DER))}"
    extra = (*STS_RECORDS,) if with_mta_sts else ()
    out = check(
        pki,
        signed(tlsa(record), *extra),
        servers={MX_ADDRESS: pki.smtp(leaf=expired)},
        https=serve(policy_body("enforce", MX)) if with_mta_sts else None,
    )
    assert out.codes("dane.") == ["dane.matched"]
    found = out.find("cert.expired")
    if with_mta_sts:
        assert found.severity is Severity.WARN
        assert out.report.verdict is Verdict.FAIL
    else:
        assert found.severity is Severity.INFO
        assert "DANE-EE authenticates this MX" in found.message
        assert out.report.verdict is Verdict.PASS


def test_tlsa_follows_a_secure_cname_to_the_mx_target(pki: Pki) -> None:
    """RFC 7672 §2.2.2: the MX name is a CNAME; after a secure expansion the TLSA records at
    the target apply (posttls-finger: "Matched DANE EE … Verified")."""

    def zones(port: int) -> Tree:
        lines = ["alias CNAME mx", f"mx A {MX_ADDRESS}", *tlsa_line(port, pki.leaf_311)]
        return build_tree({f"{DOMAIN}.": mail_records(*lines, mx="alias")})

    out = check(pki, zones)
    host = out.host
    assert host.mx == f"alias.{DOMAIN}"
    (lookup,) = out.report.policies.tlsa if out.report.policies else ()
    assert lookup.owner == tlsa_owner(MX, host.port)  # the target's, not the alias's
    assert out.codes("dane.") == ["dane.matched"]
    assert host.senders is not None
    assert host.senders.dane.reason == DANE_MATCHED


def test_dane_ta_matching_the_served_ca(pki: Pki) -> None:
    out = check(pki, signed(tlsa(pki.ca_201)))
    host = out.host
    assert out.codes("dane.") == ["dane.matched"]
    assert host.dane is not None
    assert host.dane.authenticated
    assert host.dane.reason.startswith("DANE-TA record 2 0 1")
    assert "the leaf chains to it" in host.dane.reason
    assert "matched certificate 1" in host.dane.matches[0]  # the CA, second in the chain
    assert host.senders is not None
    assert host.senders.dane.reason == DANE_MATCHED
    assert out.report.verdict is Verdict.PASS


def test_dane_record_that_matches_nothing(pki: Pki) -> None:
    stale = "3 1 1 " + "ab" * 32  # a key no longer served
    out = check(pki, signed(tlsa(stale)))
    host = out.host
    assert out.codes("dane.") == ["dane.no-match"]
    assert out.find("dane.no-match").severity is Severity.FAIL
    assert host.dane is not None
    assert not host.dane.authenticated
    reason = "none of the 1 usable TLSA records matches the served chain"
    assert host.dane.reason == reason
    refusal = f"refuses delivery: {reason}"
    assert_senders(host, opportunistic=OPPORTUNISTIC, mta_sts=STS_NONE, dane=refusal)
    assert host.verdict is Verdict.FAIL
    assert out.report.verdict is Verdict.FAIL


def test_tlsa_in_an_unsigned_child_zone_is_ignored(pki: Pki) -> None:
    """example.test. is signed, but its MX lives in hosting.test., delegated without DS:
    even a TLSA record that matches protects nothing."""
    mx = "mx.hosting.test"
    leaf = make_leaf([mx], pki.ca)
    spki = spki_sha256(leaf.cert.public_bytes(Encoding.DER))

    def zones(port: int) -> Tree:
        children = {
            f"{DOMAIN}.": mail_records(mx=f"{mx}."),
            "hosting.test.": [f"mx A {MX_ADDRESS}", *tlsa_line(port, f"3 1 1 {spki}")],
        }
        return build_tree(children, unsigned={"hosting.test."})

    out = check(pki, zones, servers={MX_ADDRESS: pki.smtp(leaf=leaf)})
    host = out.host
    assert host.mx == mx
    assert out.codes("dane.") == ["dane.tlsa-insecure"]
    finding = out.find("dane.tlsa-insecure")
    assert finding.severity is Severity.INFO
    assert "no DS for hosting.test.: unsigned delegation" in finding.message
    assert host.dane is None
    assert_senders(host, opportunistic=OPPORTUNISTIC, mta_sts=STS_NONE, dane=DANE_IGNORED)
    assert out.report.verdict is Verdict.PASS


def _tamper_tlsa(port: int, forged: str) -> Tamper:
    def tamper(zones: Mapping[str, dns.zone.Zone], keys: object, now: datetime) -> None:
        signed_zones.tamper(zones[f"{DOMAIN}."], tlsa_owner(MX, port), "TLSA", forged)

    return tamper


def test_tampered_tlsa_is_bogus_even_when_the_forgery_matches(pki: Pki) -> None:
    """Signed with a stale record, then replaced in transit by one matching the served key:
    the signature no longer verifies, so DANE senders defer rather than trust it."""

    def zones(port: int) -> Tree:
        lines = mail_records(*tlsa_line(port, "3 1 1 " + "ab" * 32))
        return build_tree({f"{DOMAIN}.": lines}, after_signing=_tamper_tlsa(port, pki.leaf_311))

    out = check(pki, zones)
    host = out.host
    assert out.codes("dane.") == ["dane.tlsa-bogus"]
    finding = out.find("dane.tlsa-bogus")
    assert finding.severity is Severity.FAIL
    owner = tlsa_owner(MX, host.port)
    assert f"signature for {owner} TLSA does not verify" in finding.message
    assert host.dane is None
    assert_senders(host, opportunistic=OPPORTUNISTIC, mta_sts=STS_NONE, dane=DANE_DEFERS)
    assert host.verdict is Verdict.FAIL
    assert out.report.verdict is Verdict.FAIL


def test_expired_tlsa_signature_is_bogus_and_says_expired(pki: Pki) -> None:
    def zones(port: int) -> Tree:
        def expire(
            zones: Mapping[str, dns.zone.Zone], keys: Mapping[str, ZoneKeys], now: datetime
        ) -> None:
            past = now - timedelta(days=1)
            signed_zones.resign(
                zones[f"{DOMAIN}."],
                tlsa_owner(MX, port),
                "TLSA",
                keys[f"{DOMAIN}."].zsk,
                inception=past - timedelta(days=30),
                expiration=past,
            )

        lines = mail_records(*tlsa_line(port, pki.leaf_311))
        return build_tree({f"{DOMAIN}.": lines}, after_signing=expire)

    out = check(pki, zones)
    host = out.host
    assert out.codes("dane.") == ["dane.tlsa-bogus"]
    message = out.find("dane.tlsa-bogus").message
    assert f"RRSIG for {tlsa_owner(MX, host.port)} TLSA expired " in message
    assert host.senders is not None
    assert host.senders.dane.reason == DANE_DEFERS
    assert out.report.verdict is Verdict.FAIL


def test_mx_records_that_fail_dnssec_are_reported_as_bogus_not_servfail(pki: Pki) -> None:
    """A validating resolver answers SERVFAIL for the MX; asked again with CD and validated
    here, the answer says why: the MX records' signature expired."""

    def expire(
        zones: Mapping[str, dns.zone.Zone], keys: Mapping[str, ZoneKeys], now: datetime
    ) -> None:
        past = now - timedelta(days=1)
        signed_zones.resign(
            zones[f"{DOMAIN}."],
            f"{DOMAIN}.",
            "MX",
            keys[f"{DOMAIN}."].zsk,
            inception=past - timedelta(days=30),
            expiration=past,
        )

    def zones(_port: int) -> Tree:
        return build_tree({f"{DOMAIN}.": mail_records()}, after_signing=expire)

    out = check(pki, zones, dns_knobs={"bogus_names": [f"{DOMAIN}."]})
    assert out.codes("dns.") == ["dns.dnssec-bogus"]
    message = out.find("dns.dnssec-bogus").message
    assert "DNSSEC validation fails: RRSIG for example.test. MX expired" in message
    assert out.report.verdict is Verdict.FAIL


def test_tlsa_published_but_no_starttls(pki: Pki) -> None:
    out = check(
        pki, signed(tlsa(pki.leaf_311)), servers={MX_ADDRESS: pki.smtp(offer_starttls=False)}
    )
    host = out.host
    assert "starttls.not-offered" in out.codes()
    assert out.codes("dane.") == ["dane.no-starttls"]
    assert out.find("dane.no-starttls").severity is Severity.FAIL
    assert host.dane is not None
    assert not host.dane.authenticated
    assert host.dane.reason == "no TLS session"
    assert_senders(
        host,
        opportunistic="delivers in clear text",
        # No MTA-STS here: that sender is opportunistic, and so delivers in clear text.
        mta_sts="no MTA-STS policy applies: delivers in clear text",
        dane=NO_TLS_REFUSAL,
    )
    assert out.report.verdict is Verdict.FAIL


@pytest.mark.parametrize(
    ("published", "unsigned", "expected_dane_sender"),
    [(False, (), DANE_NONE), (True, ("example.test.",), DANE_IGNORED), (True, (), DANE_MATCHED)],
    ids=["no-tlsa", "insecure-tlsa", "secure-tlsa"],
)
def test_require_dane(
    pki: Pki, published: bool, unsigned: tuple[str, ...], expected_dane_sender: str
) -> None:
    records = (tlsa(pki.leaf_311),) if published else ()
    out = check(pki, signed(*records, unsigned=unsigned), policy=Policy(require_dane=True))
    domain_codes = [f.code for f in out.report.findings]
    if expected_dane_sender == DANE_MATCHED:
        assert "dane.required" not in domain_codes
        assert out.report.verdict is Verdict.PASS
    else:  # no TLSA, or TLSA that DANE senders ignore: the requirement is not met
        assert "dane.required" in domain_codes
        required = out.find("dane.required")
        assert required.severity is Severity.FAIL
        assert str(required.subject) == DOMAIN
        assert out.report.verdict is Verdict.FAIL
    assert out.host.senders is not None
    assert out.host.senders.dane.reason == expected_dane_sender


@pytest.mark.parametrize("authenticated_data", [True, False], ids=["ad", "no-ad"])
def test_resolver_mode_trusts_the_ad_flag(pki: Pki, authenticated_data: bool) -> None:
    """`dnssec_mode="resolver"` takes the name server's AD flag for the DNSSEC status.

    The risk, shown here: the zone is not signed at all, yet with AD set the TLSA record
    counts as DNSSEC-secure and DANE "authenticates". The AD bit travels unauthenticated
    (plain UDP, no TSIG), so anyone on the path to the resolver, or a resolver that does not
    validate, can set it; resolver mode is only as safe as a validating resolver on a path
    nobody else can write to (RFC 6698 §A.3, RFC 4035 §4.9.3): localhost, typically.
    """
    out = check(
        pki,
        signed(tlsa(pki.leaf_311), unsigned={f"{DOMAIN}."}),
        dns_knobs={"authenticated_data": authenticated_data},
        dnssec_mode=DnssecMode.RESOLVER,
    )
    host = out.host
    assert out.report.policies is not None
    (lookup,) = out.report.policies.tlsa
    if authenticated_data:
        assert (lookup.dnssec, lookup.dnssec_reason) == (
            "secure",
            "the name server set the AD flag",
        )
        assert out.codes("dane.") == ["dane.matched"]
        assert host.dane is not None
        assert host.dane.authenticated
        assert host.senders is not None
        assert host.senders.dane.reason == DANE_MATCHED
    else:
        assert (lookup.dnssec, lookup.dnssec_reason) == ("insecure", "no AD flag")
        assert out.codes("dane.") == ["dane.tlsa-insecure"]
        assert host.dane is None
        assert host.senders is not None
        assert host.senders.dane.reason == DANE_IGNORED
    assert out.report.verdict is Verdict.PASS


def test_validate_mode_ignores_the_ad_flag(pki: Pki) -> None:
    """The same unsigned zone and AD flag, validated locally: insecure, as it is."""
    out = check(
        pki,
        signed(tlsa(pki.leaf_311), unsigned={f"{DOMAIN}."}),
        dns_knobs={"authenticated_data": True},
    )
    assert out.codes("dane.") == ["dane.tlsa-insecure"]
    assert "no DS for example.test.: unsigned delegation" in out.find("dane.tlsa-insecure").message
    assert out.host.senders is not None
    assert out.host.senders.dane.reason == DANE_IGNORED


# --- MTA-STS ----------------------------------------------------------------------------


def test_mta_sts_enforce_with_a_matching_mx(pki: Pki) -> None:
    out = check(pki, signed(*STS_RECORDS), https=serve(policy_body("enforce")))
    (request,) = out.requests
    assert (request.method, request.path) == ("GET", "/.well-known/mta-sts.txt")
    assert request.server_name == STS_HOST
    assert request.header("host") == STS_HOST
    assert out.codes("mta-sts.") == []
    assert out.report.policies is not None
    sts = out.report.policies.mta_sts
    assert (sts.mode, sts.mx_patterns) == ("enforce", (MX,))
    assert sts.fetch is not None
    assert (sts.fetch.failure, sts.fetch.address, sts.fetch.status) == (None, HTTPS_ADDRESS, 200)
    assert sts.fetch.certificate is not None
    assert sts.fetch.certificate.valid
    assert_senders(out.host, opportunistic=OPPORTUNISTIC, mta_sts=AUTHENTICATED, dane=DANE_NONE)
    assert out.report.verdict is Verdict.PASS


def test_mta_sts_enforce_with_the_mx_not_listed(pki: Pki) -> None:
    out = check(pki, signed(*STS_RECORDS), https=serve(policy_body("enforce", "mail.other.test")))
    assert out.codes("mta-sts.") == ["mta-sts.mx-not-covered"]
    finding = out.find("mta-sts.mx-not-covered")
    assert finding.severity is Severity.FAIL
    assert str(finding.subject) == MX
    assert "mail.other.test" in finding.message
    assert out.host.senders is not None
    assert (
        out.host.senders.mta_sts.reason == f"refuses delivery: {MX} is not in the policy's mx list"
    )
    assert out.report.verdict is Verdict.FAIL


def test_mta_sts_testing_mode_warns_and_delivers(pki: Pki) -> None:
    out = check(pki, signed(*STS_RECORDS), https=serve(policy_body("testing", "mail.other.test")))
    assert out.codes("mta-sts.") == ["mta-sts.mode-testing", "mta-sts.mx-not-covered"]
    assert out.find("mta-sts.mode-testing").severity is Severity.INFO
    assert out.find("mta-sts.mx-not-covered").severity is Severity.WARN
    assert out.host.senders is not None
    assert out.host.senders.mta_sts.reason == (
        f"delivers as without a policy, and reports: {MX} is not in the policy's mx list "
        "(testing mode)"
    )
    assert out.report.verdict is Verdict.WARN


def _too_big() -> Handler:
    return serve(policy_body() + b"#" * 70_000)


@pytest.mark.parametrize(
    ("handler", "issuer", "kind", "detail"),
    [
        (lambda: serve(b"not here", status=404), None, "http-status", "HTTP 404 Not Found"),
        (
            lambda: serve(policy_body(), content_type="text/html"),
            None,
            "content-type",
            "'text/html'",
        ),
        (
            lambda: serve(b"", status=301, Location="https://elsewhere.test/p.txt"),
            None,
            "redirect",
            "HTTP 301 redirect to 'https://elsewhere.test/p.txt'",
        ),
        (_too_big, None, "too-large", "> 65536 bytes"),
        (lambda: serve(policy_body()), "foreign", "certificate", "untrusted"),
    ],
    ids=["404", "content-type", "redirect", "oversize", "untrusted-certificate"],
)
def test_mta_sts_policy_unavailable(
    pki: Pki, handler: Callable[[], Handler], issuer: str | None, kind: str, detail: str
) -> None:
    context = pki.https_context(make_ca("foreign CA") if issuer else None)
    out = check(pki, signed(*STS_RECORDS), https=handler(), https_context=context)
    assert len(out.requests) == 1  # a certificate failure still reads the answer
    assert out.codes("mta-sts.") == ["mta-sts.policy-unavailable"]
    finding = out.find("mta-sts.policy-unavailable")
    assert finding.severity is Severity.WARN
    assert f"(from {HTTPS_ADDRESS}): {kind}: " in finding.message
    assert detail in finding.message
    assert out.report.policies is not None
    fetch = out.report.policies.mta_sts.fetch
    assert fetch is not None
    assert fetch.failure == kind
    assert out.report.policies.mta_sts.mode is None
    assert_senders(out.host, opportunistic=OPPORTUNISTIC, mta_sts=STS_NONE, dane=DANE_NONE)
    assert out.report.verdict is Verdict.WARN


def test_mta_sts_enforce_with_an_mx_certificate_for_another_name(pki: Pki) -> None:
    wrong = make_leaf(["mail.other.test"], pki.ca)
    script = partial(
        standard_session,
        hostname=MX,
        tls_context=server_tls_context(chain_pem(wrong, pki.ca), wrong.key_pem),
    )
    out = check(pki, signed(*STS_RECORDS), servers={MX_ADDRESS: script}, https=serve(policy_body()))
    assert out.codes("mta-sts.") == ["mta-sts.mx-invalid-cert"]
    assert out.find("mta-sts.mx-invalid-cert").severity is Severity.FAIL
    assert "cert.name-mismatch" in out.codes()
    assert_senders(
        out.host,
        opportunistic=OPPORTUNISTIC,
        mta_sts=f"refuses delivery: certificate not valid for {MX} (name-mismatch)",
        dane=DANE_NONE,
    )
    assert out.report.verdict is Verdict.FAIL


def test_require_mta_sts_with_a_testing_policy(pki: Pki) -> None:
    out = check(
        pki,
        signed(*STS_RECORDS),
        https=serve(policy_body("testing")),
        policy=Policy(require_mta_sts=True),
    )
    assert out.codes("mta-sts.") == ["mta-sts.mode-testing", "mta-sts.required"]
    finding = out.find("mta-sts.required")
    assert finding.severity is Severity.FAIL
    assert finding.message.endswith("mode testing")
    assert out.host.senders is not None
    assert out.host.senders.mta_sts.reason == AUTHENTICATED  # testing, and nothing to report
    assert out.report.verdict is Verdict.FAIL


@pytest.mark.parametrize("listed", [MX, "mail.other.test"], ids=["listed", "not-listed"])
def test_mta_sts_and_dane_are_judged_each_on_its_own(pki: Pki, listed: str) -> None:
    """Both published: the MTA-STS column says what a sender applying only MTA-STS does
    (most large providers), the DANE column what a DANE sender does; a sender doing both
    uses DANE here (RFC 8461 §2)."""
    out = check(
        pki, signed(tlsa(pki.leaf_311), *STS_RECORDS), https=serve(policy_body("enforce", listed))
    )
    assert out.codes("dane.") == ["dane.matched"]
    assert out.report.policies is not None
    assert out.report.policies.mta_sts.mode == "enforce"
    sts = (
        AUTHENTICATED if listed == MX else f"refuses delivery: {MX} is not in the policy's mx list"
    )
    assert_senders(out.host, opportunistic=OPPORTUNISTIC, mta_sts=sts, dane=DANE_MATCHED)
    # Senders doing MTA-STS without DANE still apply the policy, so it is still judged.
    expected = [] if listed == MX else ["mta-sts.mx-not-covered"]
    assert out.codes("mta-sts.") == expected
    assert out.report.verdict is (Verdict.PASS if listed == MX else Verdict.FAIL)


# --- TLS-RPT, SPF, DMARC: advisory ------------------------------------------------------

GOOD_SPF, GOOD_DMARC, GOOD_TLSRPT = GOOD_AUTH


@pytest.mark.parametrize(
    ("auth", "expected"),
    [
        (GOOD_AUTH, []),
        (('@ TXT "v=spf1 +all"', GOOD_DMARC, GOOD_TLSRPT), [("spf.pass-all", Severity.FAIL)]),
        (
            (GOOD_SPF, '@ TXT "v=spf1 a -all"', GOOD_DMARC, GOOD_TLSRPT),
            [("spf.multiple", Severity.FAIL)],
        ),
        (
            (GOOD_SPF, '_dmarc TXT "v=DMARC1; p=none"', GOOD_TLSRPT),
            [("dmarc.policy-none", Severity.INFO)],
        ),
        ((GOOD_SPF, GOOD_TLSRPT), [("dmarc.missing", Severity.WARN)]),
        ((GOOD_SPF, GOOD_DMARC), [("tls-rpt.missing", Severity.INFO)]),
        (
            ('@ TXT "v=spf1 +all"', '@ TXT "v=spf1 -all"', '_dmarc TXT "v=DMARC1; p=none"'),
            [
                ("tls-rpt.missing", Severity.INFO),
                ("spf.multiple", Severity.FAIL),
                ("dmarc.policy-none", Severity.INFO),
            ],
        ),
    ],
    ids=[
        "good",
        "spf-pass-all",
        "spf-twice",
        "dmarc-p-none",
        "dmarc-missing",
        "tls-rpt-missing",
        "all-broken",
    ],
)
def test_mail_authentication_records_are_advisory(
    pki: Pki, auth: tuple[str, ...], expected: list[tuple[str, Severity]]
) -> None:
    def zones(port: int) -> Tree:
        return build_tree({f"{DOMAIN}.": mail_records(auth=auth)})

    out = check(pki, zones)
    found = [
        (f.code, f.severity)
        for f in out.report.findings
        if f.code.startswith(("spf.", "dmarc.", "tls-rpt."))
    ]
    assert found == expected
    # Only informational findings otherwise (no MTA-STS record): the transport is fine,
    # and the verdict stays PASS whatever the anti-spoofing records say.
    assert [f.code for f in out.report.all_findings() if f.code.startswith("mta-sts.")] == [
        "mta-sts.txt-missing"
    ]
    assert out.report.verdict is Verdict.PASS
    assert out.host.verdict is Verdict.PASS


@pytest.mark.parametrize("defence", ["mta-sts", "dane"])
def test_tls_rpt_missing_warns_when_a_defence_is_in_use(pki: Pki, defence: str) -> None:
    auth = (GOOD_SPF, GOOD_DMARC)

    def zones(port: int) -> Tree:
        extra = STS_RECORDS if defence == "mta-sts" else tlsa_line(port, pki.leaf_311)
        return build_tree({f"{DOMAIN}.": mail_records(*extra, auth=auth)})

    https = serve(policy_body()) if defence == "mta-sts" else None
    out = check(pki, zones, https=https)
    finding = out.find("tls-rpt.missing")
    assert finding.severity is Severity.WARN
    assert finding.message.endswith(
        "; MTA-STS or DANE is in use, and its failures would go unreported"
    )
    assert out.codes("spf.") == out.codes("dmarc.") == []
    assert out.report.verdict is Verdict.PASS  # a warning, but advisory


# --- edges ------------------------------------------------------------------------------


def test_tlsa_without_a_covering_anchor_is_indeterminate(pki: Pki) -> None:
    """The default anchors are the IANA root's; the loopback server refuses `.` DNSKEY."""
    out = check(pki, signed(tlsa(pki.leaf_311)), trust_anchors=None)
    assert out.codes("dane.") == ["dane.tlsa-indeterminate"]
    finding = out.find("dane.tlsa-indeterminate")
    assert finding.severity is Severity.WARN
    assert "asking for . DNSKEY" in finding.message
    assert out.host.dane is None
    assert out.report.verdict is Verdict.WARN


def _tlsa_servfail(pki: Pki) -> Outcome:
    def knobs(port: int) -> dict[str, Any]:
        return {"servfail_names": [tlsa_owner(MX, port)]}

    return check(pki, signed(tlsa(pki.leaf_311)), dns_knobs=knobs)


def test_tlsa_lookup_failure_is_reported(pki: Pki) -> None:
    out = _tlsa_servfail(pki)
    assert out.codes("dane.") == ["dane.lookup-failed"]
    finding = out.find("dane.lookup-failed")
    assert finding.severity is Severity.WARN
    assert "failed (servfail)" in finding.message


def test_tlsa_lookup_failure_dane_sender_defers(pki: Pki) -> None:
    out = _tlsa_servfail(pki)
    assert out.host.senders is not None
    assert out.host.senders.dane.reason.startswith("defers delivery")


def test_mta_sts_enforce_with_an_mx_without_starttls(pki: Pki) -> None:
    out = check(
        pki,
        signed(*STS_RECORDS),
        servers={MX_ADDRESS: pki.smtp(offer_starttls=False)},
        https=serve(policy_body()),
    )
    assert out.codes("mta-sts.") == ["mta-sts.mx-no-starttls"]
    assert out.find("mta-sts.mx-no-starttls").severity is Severity.FAIL
    assert_senders(
        out.host,
        opportunistic="delivers in clear text",
        mta_sts="refuses delivery: no STARTTLS",
        dane="no TLSA records: delivers in clear text",
    )
    assert out.report.verdict is Verdict.FAIL


def test_mta_sts_policy_host_without_an_address(pki: Pki) -> None:
    out = check(pki, signed('_mta-sts TXT "v=STSv1; id=1;"'))
    assert out.report.policies is not None
    fetch = out.report.policies.mta_sts.fetch
    assert fetch is not None
    assert fetch.failure == "connect"
    assert out.codes("mta-sts.") == ["mta-sts.policy-unavailable"]
    assert f"{STS_HOST} has no address" in out.find("mta-sts.policy-unavailable").message
    assert out.report.verdict is Verdict.WARN


def test_secure_tlsa_behind_insecure_mx_records_does_not_count(pki: Pki) -> None:
    """The MX host's zone is signed and its TLSA matches, but example.test.'s own MX records
    are unsigned: an attacker could have named that host, so DANE does not apply
    (RFC 7672 §2.2.1)."""
    mx = "mx.hosting.test"
    leaf = make_leaf([mx], pki.ca)
    spki = spki_sha256(leaf.cert.public_bytes(Encoding.DER))

    def zones(port: int) -> Tree:
        children = {
            f"{DOMAIN}.": mail_records(mx=f"{mx}."),
            "hosting.test.": [f"mx A {MX_ADDRESS}", *tlsa_line(port, f"3 1 1 {spki}")],
        }
        return build_tree(children, unsigned={f"{DOMAIN}."})

    out = check(pki, zones, servers={MX_ADDRESS: pki.smtp(leaf=leaf)})
    assert out.codes("dane.") == ["dane.tlsa-insecure"]
    assert f"the MX records of {DOMAIN} are not secure" in out.find("dane.tlsa-insecure").message
    assert out.host.dane is None
    assert_senders(out.host, opportunistic=OPPORTUNISTIC, mta_sts=STS_NONE, dane=DANE_IGNORED)


def test_an_unreachable_mx_is_unknown_to_the_policies_not_a_failure(pki: Pki) -> None:
    """Nothing listens on the MX: its TLS is unknown, so MTA-STS and DANE judge nothing
    about it (the connection failure is its own finding)."""
    out = check(
        pki,
        signed(tlsa(pki.leaf_311), *STS_RECORDS),
        https=serve(policy_body("enforce", MX)),
        servers={},
    )
    assert out.codes("mta-sts.") == []
    assert out.codes("dane.") == []
    assert "connect.refused" in out.codes()
    untested = "untested: this address could not be reached from here"
    assert_senders(out.host, opportunistic=untested, mta_sts=untested, dane=untested)
