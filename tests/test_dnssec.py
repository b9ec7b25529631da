"""Local DNSSEC validation against the loopback DNS server serving freshly signed zones.

The tree (``signed_zones.build_signed_tree``) is signed once per module at a fixed time,
and every validation passes that time as ``now``, so reasons with dates are exact.
"""

from __future__ import annotations

import asyncio
import socket
from datetime import UTC, datetime, timedelta
from typing import Any

import dns.asyncquery
import dns.dnssec
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import pytest

from starttls_check.demo.loopback import signed_zones
from starttls_check.demo.loopback.dns_server import LoopbackDnsServer
from starttls_check.demo.loopback.signed_zones import SignedTree, build_signed_tree
from starttls_check.dns.anchors import ROOT_ANCHORS, TrustAnchors, parse_trust_anchors
from starttls_check.dns.answers import judge_answer
from starttls_check.dns.client import DnsClient
from starttls_check.dns.dnssec import validated_query
from starttls_check.dns.verdict import DnssecStatus, ValidatedAnswer, ValidationEnd
from starttls_check.model.dns import DnsStatus
from starttls_check.model.settings import Nameserver

NOW = datetime(2026, 1, 15, tzinfo=UTC)
SECURE, INSECURE, BOGUS, INDETERMINATE = (
    DnssecStatus.SECURE,
    DnssecStatus.INSECURE,
    DnssecStatus.BOGUS,
    DnssecStatus.INDETERMINATE,
)


@pytest.fixture(scope="module")
def tree() -> SignedTree:
    return build_signed_tree(NOW)


def ask(
    tree: SignedTree,
    name: str,
    rdtype: str,
    *,
    anchors: TrustAnchors | None = None,
    now: datetime = NOW,
    timeout: float = 2.0,
    extra_servers: tuple[Nameserver, ...] = (),
    **knobs: Any,
) -> ValidatedAnswer:
    """Validate one question against a fresh server for ``tree``; surface server errors."""
    server = LoopbackDnsServer(tree.zones, **knobs)
    trust = anchors if anchors is not None else parse_trust_anchors(tree.anchor)

    async def main() -> ValidatedAnswer:
        async with server:
            servers = (*extra_servers, Nameserver(host=server.host, port=server.port))
            client = DnsClient(servers, timeout=timeout)
            return await validated_query(client, name, rdtype, trust, now=now)

    answer = asyncio.run(main())
    server.raise_errors()
    return answer


# --- secure answers -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "rdtype", "records"),
    [
        ("example.test.", "MX", ("10 mx.example.test.",)),
        ("mx.example.test.", "A", ("127.0.0.1",)),
        ("mx.example.test.", "AAAA", ("::1",)),
        ("_25._tcp.mx.example.test.", "TLSA", (f"3 1 1 {'ab' * 32}",)),
        ("mx.tampered.test.", "AAAA", ("::1",)),  # only the A record was tampered with
    ],
)
def test_secure_answers(tree: SignedTree, name: str, rdtype: str, records: tuple[str]) -> None:
    answer = ask(tree, name, rdtype)
    assert answer.status == SECURE, answer.reason
    assert answer.dns_status == DnsStatus.OK
    assert answer.records == records
    zone = ".".join(name.split(".")[-3:])  # every name here is in a child of test.
    assert answer.reason == f"signed by {zone}; chain of trust from test."


def test_secure_alias_follows_the_cname(tree: SignedTree) -> None:
    answer = ask(tree, "alias.example.test.", "A")
    assert (answer.status, answer.records, answer.cname_chain) == (
        SECURE,
        ("127.0.0.1",),
        ("mx.example.test",),
    )


@pytest.mark.parametrize(
    ("name", "rdtype", "dns_status", "reason"),
    [
        ("nope.example.test.", "A", DnsStatus.NXDOMAIN, "nope.example.test. does not exist"),
        ("mx.example.test.", "MX", DnsStatus.NO_DATA, "mx.example.test. has no MX"),
        # An empty non-terminal: it exists only as the parent of _25._tcp.mx.
        ("_tcp.mx.example.test.", "TLSA", DnsStatus.NO_DATA, "_tcp.mx.example.test. has no TLSA"),
        ("nothere.test.", "A", DnsStatus.NXDOMAIN, "nothere.test. does not exist"),
    ],
)
def test_proven_absence_is_secure(
    tree: SignedTree, name: str, rdtype: str, dns_status: DnsStatus, reason: str
) -> None:
    answer = ask(tree, name, rdtype)
    assert (answer.status, answer.dns_status, answer.records) == (SECURE, dns_status, ())
    zone = "test." if name == "nothere.test." else "example.test."
    assert answer.reason == f"NSEC in {zone} proves {reason}; chain of trust from test."


def test_ds_is_validated_with_the_parents_keys(tree: SignedTree) -> None:
    answer = ask(tree, "example.test.", "DS")
    assert (answer.status, answer.reason) == (SECURE, "signed by test.; chain of trust from test.")
    expected = signed_zones.make_ds("example.test.", tree.keys["example.test."].ksk)
    assert answer.records == (expected.to_text(),)


def test_dnskey_anchor_works_like_a_ds_anchor(tree: SignedTree) -> None:
    ksk = tree.keys["test."].ksk.dnskey
    anchors = parse_trust_anchors(f"test. IN DNSKEY {ksk.to_text()}")
    assert ask(tree, "mx.example.test.", "A", anchors=anchors).status == SECURE


# --- insecure, bogus, indeterminate ---------------------------------------------------


def test_unsigned_child_is_insecure_and_still_answers(tree: SignedTree) -> None:
    answer = ask(tree, "mx.unsigned.test.", "A")
    assert answer.status == INSECURE
    assert answer.reason == "no DS for unsigned.test.: unsigned delegation"
    assert (answer.dns_status, answer.records) == (DnsStatus.OK, ("127.0.0.1",))


def test_unsupported_ds_algorithm_is_insecure(tree: SignedTree) -> None:
    # RFC 4035 §5.2: a DS set with no algorithm we implement counts as unsigned.
    answer = ask(tree, "mx.oddalg.test.", "A")
    assert (answer.status, answer.reason) == (
        INSECURE,
        "DS for oddalg.test. uses only unsupported algorithms",
    )


def test_tampered_record_is_bogus(tree: SignedTree) -> None:
    answer = ask(tree, "mx.tampered.test.", "A")
    assert (answer.status, answer.reason) == (
        BOGUS,
        "signature for mx.tampered.test. A does not verify",
    )
    assert answer.records == ()  # bogus data is not handed out


def test_expired_signature_is_bogus_with_the_date(tree: SignedTree) -> None:
    answer = ask(tree, "mx.expired.test.", "A")
    assert (answer.status, answer.reason) == (
        BOGUS,
        "RRSIG for mx.expired.test. A expired 2026-01-14 00:00:00 UTC",
    )


def test_signature_not_yet_valid_is_bogus(tree: SignedTree) -> None:
    answer = ask(tree, "mx.example.test.", "A", now=NOW - timedelta(days=2))
    assert (answer.status, answer.reason) == (
        BOGUS,
        "RRSIG for test. DNSKEY not valid before 2026-01-14 23:00:00 UTC",
    )


def test_ds_matching_no_key_is_bogus(tree: SignedTree) -> None:
    answer = ask(tree, "mx.nokey.test.", "A")
    assert (answer.status, answer.reason) == (BOGUS, "no DNSKEY matches the DS for nokey.test.")
    assert answer.dns_status is None  # the walk stopped before asking for the A record


def test_anchor_matching_no_key_is_bogus(tree: SignedTree) -> None:
    stranger = signed_zones.anchor_text("test.", signed_zones.generate_key(ksk=True))
    answer = ask(tree, "mx.example.test.", "A", anchors=parse_trust_anchors(stranger))
    assert (answer.status, answer.reason) == (
        BOGUS,
        "no DNSKEY matches the trust anchor for test.",
    )


def test_dropped_queries_are_indeterminate(tree: SignedTree) -> None:
    answer = ask(tree, "mx.example.test.", "A", drop_names=["mx.example.test."], timeout=0.2)
    assert (answer.status, answer.dns_status) == (INDETERMINATE, DnsStatus.TIMEOUT)
    assert answer.reason == "timeout asking for mx.example.test. DS"


def test_server_failure_is_indeterminate(tree: SignedTree) -> None:
    answer = ask(tree, "mx.example.test.", "A", servfail_names=["example.test."])
    assert (answer.status, answer.dns_status) == (INDETERMINATE, DnsStatus.SERVFAIL)
    assert answer.reason == "SERVFAIL asking for example.test. DS"


def test_an_unreachable_server_is_skipped(tree: SignedTree) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    dead = Nameserver(host="127.0.0.1", port=closed_port)
    answer = ask(tree, "mx.example.test.", "A", extra_servers=(dead,), timeout=0.2)
    assert answer.status == SECURE  # one timeout, then the dead server is asked last


def test_root_anchors_ask_for_the_root_and_never_leave_loopback(tree: SignedTree) -> None:
    # The loopback server refuses the root: a clean INDETERMINATE, no other server asked.
    answer = ask(tree, "mx.example.test.", "A", anchors=ROOT_ANCHORS)
    assert (answer.status, answer.dns_status) == (INDETERMINATE, DnsStatus.SERVFAIL)
    assert answer.reason == "REFUSED asking for . DNSKEY"


def test_no_anchor_for_the_name_is_indeterminate(tree: SignedTree) -> None:
    answer = ask(tree, "mx.example.org.", "A")
    assert (answer.status, answer.reason) == (
        INDETERMINATE,
        "no trust anchor covers mx.example.org.",
    )


def wire_trip(message: dns.message.Message) -> dns.message.Message:
    """As a client receives it: sections appended by hand are not in the message's index."""
    return dns.message.from_wire(message.to_wire())


def test_wildcard_answer_needs_proof_that_the_name_does_not_exist() -> None:
    # The loopback server does not synthesise wildcards, so the answer is built here.
    zone = signed_zones.make_zone("wild.test.", "* A 127.0.0.7")
    keys = signed_zones.generate_zone_keys()
    signed_zones.sign(zone, keys, now=NOW)
    origin, qname = dns.name.from_text("wild.test."), dns.name.from_text("host.wild.test.")
    wildcard = dns.name.from_text("*.wild.test.")
    response = dns.message.make_response(dns.message.make_query(qname, "A"))
    for rdtype, covers in ((dns.rdatatype.A, 0), (dns.rdatatype.RRSIG, dns.rdatatype.A)):
        rdataset = zone.find_rdataset(wildcard, rdtype, covers)
        response.answer.append(dns.rrset.from_rdata_list(qname, rdataset.ttl, list(rdataset)))
    dnskeys = zone.find_rrset(origin, dns.rdatatype.DNSKEY)
    now = NOW.timestamp()
    a = dns.rdatatype.A

    with pytest.raises(ValidationEnd) as caught:
        judge_answer(wire_trip(response), qname, a, origin, dnskeys, now)
    assert caught.value.answer.reason == (
        "wildcard answer for host.wild.test. without proof that host.wild.test. does not exist"
    )
    for rdtype, covers in ((dns.rdatatype.NSEC, 0), (dns.rdatatype.RRSIG, dns.rdatatype.NSEC)):
        response.authority.append(zone.find_rrset(wildcard, rdtype, covers))  # covers host
    judged = judge_answer(wire_trip(response), qname, a, origin, dnskeys, now)
    assert isinstance(judged, ValidatedAnswer)
    assert (judged.status, judged.records) == (SECURE, ("127.0.0.7",))


def test_unsigned_nsec3_denial_is_bogus(tree: SignedTree) -> None:
    origin, qname = dns.name.from_text("example.test."), dns.name.from_text("nope.example.test.")
    response = dns.message.make_response(dns.message.make_query(qname, "A"))
    response.set_rcode(dns.rcode.NXDOMAIN)
    nsec3 = "1 0 0 - 0P9MHAVEQVM6T7VBL5LOP2U3T2RP3TOM A RRSIG"
    response.authority.append(dns.rrset.from_text("x.example.test.", 300, "IN", "NSEC3", nsec3))
    dnskeys = dns.rrset.from_rdata("example.test.", 3600, tree.keys["example.test."].zsk.dnskey)
    with pytest.raises(ValidationEnd) as caught:
        judge_answer(wire_trip(response), qname, dns.rdatatype.A, origin, dnskeys, NOW.timestamp())
    assert (caught.value.answer.status, caught.value.answer.reason) == (
        BOGUS,
        "no RRSIG for x.example.test. NSEC3",
    )


# --- trust anchors --------------------------------------------------------------------


def test_root_anchors_are_the_iana_ksks() -> None:
    # The DS digests are copied from root-anchors.xml; these DNSKEYs come from the root
    # zone. Each checks the other, so a typo in either fails here.
    ksk_2017 = (
        "AwEAAaz/tAm8yTn4Mfeh5eyI96WSVexTBAvkMgJzkKTOiW1vkIbzxeF3+/4RgWOq7HrxRixHlFlExOLAJr5emLvN7SWX"
        "gnLh4+B5xQlNVz8Og8kvArMtNROxVQuCaSnIDdD5LKyWbRd2n9WGe2R8PzgCmr3EgVLrjyBxWezF0jLHwVN8efS3"
        "rCj/EWgvIWgb9tarpVUDK/b58Da+sqqls3eNbuv7pr+eoZG+SrDK6nWeL3c6H5Apxz7LjVc1uTIdsIXxuOLYA4/i"
        "lBmSVIzuDWfdRUfhHdY6+cn8HFRm+2hM8AnXGXws9555KrUB5qihylGa8subX2Nn6UwNR1AkUTV74bU="
    )
    ksk_2024 = (
        "AwEAAa96jeuknZlaeSrvyAJj6ZHv28hhOKkx3rLGXVaC6rXTsDc449/cidltpkyGwCJNnOAlFNKF2jBosZBU5eeH"
        "spaQWOmOElZsjICMQMC3aeHbGiShvZsx4wMYSjH8e7Vrhbu6irwCzVBApESjbUdpWWmEnhathWu1jo+siFUiRAAx"
        "m9qyJNg/wOZqqzL/dL/q8PkcRU5oUKEpUge71M3ej2/7CPqpdVwuMoTvoB+ZOT4YeGyxMvHmbrxlFzGOHOijtzN+"
        "u1TQNatX2XBuzZNQ1K+s2CXkPIZo7s6JgZyvaBevYtxPvYLw4z9mR7K2vaF18UYH9Z9GNUUeayffKC73PYc="
    )
    (root,) = ROOT_ANCHORS.anchors
    assert root.zone == dns.name.root
    keys = parse_trust_anchors(f". IN DNSKEY 257 3 8 {ksk_2017}\n. IN DNSKEY 257 3 8 {ksk_2024}")
    derived = [dns.dnssec.make_ds(".", k, "SHA256") for k in keys.anchors[0].dnskeys]
    assert sorted(d.key_tag for d in derived) == [20326, 38696]
    assert set(derived) == set(root.ds)


def test_parse_trust_anchors_groups_by_zone() -> None:
    text = """\
; comments and directives are zone-file syntax
test. IN DS 15831 13 2 9A28ECAB5D2876BA363B39BCB57E34B5DF0C2F637335E26B69D7EC088703CB61
example.test. 3600 DS 1 13 2 9A28ECAB5D2876BA363B39BCB57E34B5DF0C2F637335E26B69D7EC088703CB61
"""
    anchors = parse_trust_anchors(text)
    assert [str(a.zone) for a in anchors.anchors] == ["test.", "example.test."]
    closest = anchors.closest(dns.name.from_text("mx.example.test."))
    assert closest is not None
    assert str(closest.zone) == "example.test."


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no DS or DNSKEY records found"),
        ("; only a comment\n", "no DS or DNSKEY records found"),
        ("test. IN A 127.0.0.1", "test. A: only DS or DNSKEY"),
        ("test. IN DS 1 13 2 XYZ", "<input>:1:"),
        ("test. IN DS 1 13", "<input>:1:"),
        ("test IN FOO 1", "<input>:1:"),
        (f"test. IN DS 1 253 2 {'AB' * 32}", "algorithm 253 or digest type 2 is not supported"),
        (f"test. IN DS 1 13 9 {'AB' * 32}", "digest type 9 is not supported"),
        ("test. IN DNSKEY 0 3 13 AAAA", "is not a usable zone key"),
    ],
)
def test_parse_trust_anchors_rejects_bad_text(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=r"^trust anchors: ") as caught:
        parse_trust_anchors(text)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


# --- the loopback server's DNSSEC side ------------------------------------------------


def served(tree: SignedTree, name: str, rdtype: str, *, dnssec_ok: bool) -> dns.message.Message:
    server = LoopbackDnsServer(tree.zones)

    async def main() -> dns.message.Message:
        async with server:
            query = dns.message.make_query(name, rdtype, want_dnssec=dnssec_ok, use_edns=0)
            return await dns.asyncquery.udp(query, server.host, timeout=2, port=server.port)

    response = asyncio.run(main())
    server.raise_errors()
    return response


def sections(response: dns.message.Message) -> tuple[list[str], list[str]]:
    def names(section: list[dns.rrset.RRset]) -> list[str]:
        return [
            f"{r.name} {dns.rdatatype.to_text(r.rdtype)}"
            + (f" {dns.rdatatype.to_text(r.covers)}" if r.covers else "")
            for r in section
        ]

    return names(response.answer), names(response.authority)


def test_server_adds_signatures_only_with_do(tree: SignedTree) -> None:
    plain = served(tree, "mx.example.test.", "A", dnssec_ok=False)
    assert sections(plain) == (["mx.example.test. A"], [])
    assert not plain.ednsflags & dns.flags.DO
    signed = served(tree, "mx.example.test.", "A", dnssec_ok=True)
    assert sections(signed) == (["mx.example.test. A", "mx.example.test. RRSIG A"], [])
    assert signed.ednsflags & dns.flags.DO  # RFC 3225 §3


def test_server_nxdomain_carries_nsec_proofs(tree: SignedTree) -> None:
    response = served(tree, "nope.example.test.", "A", dnssec_ok=True)
    assert response.rcode() == dns.rcode.NXDOMAIN
    assert sections(response)[1] == [
        "example.test. SOA",
        "example.test. RRSIG SOA",
        "_25._tcp.mx.example.test. NSEC",  # the last name: its NSEC wraps, covering nope
        "_25._tcp.mx.example.test. RRSIG NSEC",
        "example.test. NSEC",  # covers *.example.test.
        "example.test. RRSIG NSEC",
    ]


def test_server_answers_ds_from_the_parent_zone(tree: SignedTree) -> None:
    # RFC 4035 §3.1.4.1: at a zone cut the DS lives in, and is signed by, the parent.
    response = served(tree, "example.test.", "DS", dnssec_ok=True)
    assert sections(response) == (["example.test. DS", "example.test. RRSIG DS"], [])
    rrsig = response.answer[1][0]
    assert str(rrsig.signer) == "test."
    no_ds = served(tree, "unsigned.test.", "DS", dnssec_ok=True)
    nsec = no_ds.get_rrset(
        no_ds.authority, dns.name.from_text("unsigned.test."), dns.rdataclass.IN, dns.rdatatype.NSEC
    )
    assert nsec is not None
    assert nsec[0].to_text().split()[1:] == ["NS", "RRSIG", "NSEC"]
