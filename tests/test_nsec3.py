"""NSEC3 denial proofs (RFC 5155 §8): the loopback server serving NSEC3-signed zones,
validated for real; responses it served, altered and signed again; and the hashing and
span arithmetic on their own.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import timedelta

import dns.dnssec
import dns.message
import dns.name
import dns.rdata
import dns.rdatatype
import dns.rrset
import dns.zone
import pytest
from dns.rdtypes.ANY.NSEC3 import NSEC3

from starttls_check.demo.loopback import nsec3_chain, signed_zones
from starttls_check.demo.loopback.nsec3_chain import Nsec3Params
from starttls_check.demo.loopback.signed_zones import SignedTree, ZoneKeys, build_signed_tree
from starttls_check.dns import nsec3
from starttls_check.dns.answers import judge_answer
from starttls_check.dns.verdict import DnssecStatus, ValidatedAnswer, ValidationEnd
from starttls_check.model.dns import DnsStatus

from .test_dnssec import NOW, ask, served, wire_trip

SECURE, INSECURE, BOGUS = DnssecStatus.SECURE, DnssecStatus.INSECURE, DnssecStatus.BOGUS
TLSA = f"3 1 1 {'ab' * 32}"
OPT_OUT = "which may be an unsigned delegation (RFC 5155 §6)"
COSTLY = "NSEC3 in costly.test. uses 150 hash iterations, more than 100: treated as insecure"


@pytest.fixture(scope="module")
def tree() -> SignedTree:
    return build_signed_tree(NOW)


def zone_of(tree: SignedTree, origin: str) -> dns.zone.Zone:
    return next(z for z in tree.zones if z.origin == dns.name.from_text(origin))


# --- served by the loopback server, validated from the trust anchor ---------------------


@pytest.mark.parametrize(
    ("name", "rdtype", "dns_status", "reason"),
    [
        ("mx.nsec3.test.", "TLSA", DnsStatus.NO_DATA, "mx.nsec3.test. has no TLSA"),
        # The closest encloser is an empty non-terminal, which has a record of its own.
        ("_465._tcp.mx.nsec3.test.", "TLSA", DnsStatus.NXDOMAIN, "does not exist"),
        ("_tcp.mx.nsec3.test.", "TLSA", DnsStatus.NO_DATA, "_tcp.mx.nsec3.test. has no TLSA"),
        ("nope.nsec3.test.", "A", DnsStatus.NXDOMAIN, "nope.nsec3.test. does not exist"),
        ("mx.optout.test.", "TLSA", DnsStatus.NO_DATA, "mx.optout.test. has no TLSA"),
    ],
)
def test_nsec3_denial_is_secure(
    tree: SignedTree, name: str, rdtype: str, dns_status: DnsStatus, reason: str
) -> None:
    answer = ask(tree, name, rdtype)
    assert (answer.status, answer.dns_status, answer.records) == (SECURE, dns_status, ())
    zone = ".".join(name.split(".")[-3:])
    assert answer.reason.startswith(f"NSEC3 in {zone} proves ")
    assert answer.reason.endswith(f"{reason}; chain of trust from test.")


@pytest.mark.parametrize("zone", ["nsec3.test.", "optout.test.", "costly.test."])
def test_answers_in_nsec3_zones_are_secure(tree: SignedTree, zone: str) -> None:
    # The walk asks for DS at every label down to the TLSA: each absence is an NSEC3 proof
    # (in costly.test. one too dear to check, but the answer is signed by the zone itself).
    answer = ask(tree, f"_25._tcp.mx.{zone}", "TLSA")
    assert (answer.status, answer.records) == (SECURE, (TLSA,))
    assert answer.reason == f"signed by {zone}; chain of trust from test."


def test_alias_in_an_nsec3_zone(tree: SignedTree) -> None:
    answer = ask(tree, "alias.nsec3.test.", "A")
    assert (answer.status, answer.records, answer.cname_chain) == (
        SECURE,
        ("127.0.0.1",),
        ("mx.nsec3.test",),
    )


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        # Listed in the chain, NS without the DS bit.
        ("_25._tcp.mx.insecure.nsec3.test.", "no DS for insecure.nsec3.test.: unsigned delegation"),
        # Not listed at all: an opt-out span covers it.
        (
            "_25._tcp.mx.insecure.optout.test.",
            "no DS for insecure.optout.test.: an opt-out NSEC3 in optout.test. covers "
            f"insecure.optout.test., {OPT_OUT}",
        ),
        # No DS, by a proof too costly to check; the child is unsigned.
        ("_25._tcp.mx.insecure.costly.test.", f"{COSTLY} (RFC 9276 §3.2)"),
    ],
)
def test_unsigned_delegation_from_an_nsec3_zone_is_insecure(
    tree: SignedTree, name: str, reason: str
) -> None:
    answer = ask(tree, name, "TLSA")
    assert (answer.status, answer.reason) == (INSECURE, reason)
    assert (answer.dns_status, answer.records) == (DnsStatus.OK, (TLSA,))


def test_nxdomain_in_an_opt_out_span_is_insecure(tree: SignedTree) -> None:
    # The span may hide an unsigned delegation, so the name may exist after all.
    answer = ask(tree, "nope.optout.test.", "A")
    assert (answer.status, answer.dns_status) == (INSECURE, DnsStatus.NXDOMAIN)
    assert answer.reason == (
        "nope.optout.test. does not exist: an opt-out NSEC3 in optout.test. covers "
        f"nope.optout.test., {OPT_OUT}"
    )


def test_denial_with_too_many_iterations_is_insecure(tree: SignedTree) -> None:
    answer = ask(tree, "mx.costly.test.", "TLSA")
    assert (answer.status, answer.dns_status) == (INSECURE, DnsStatus.NO_DATA)
    assert answer.reason == f"{COSTLY} (RFC 9276 §3.2)"


def test_forged_nsec3_record_is_bogus(tree: SignedTree) -> None:
    owner = nsec3_chain.owner_for(
        zone_of(tree, "forged3.test."), dns.name.from_text("mx.forged3.test.")
    )
    answer = ask(tree, "mx.forged3.test.", "AAAA")
    assert (answer.status, answer.records) == (BOGUS, ())
    assert answer.reason == f"signature for {owner} NSEC3 does not verify"


def test_server_serves_nsec3_proofs(tree: SignedTree) -> None:
    response = served(tree, "gone.nsec3.test.", "A", dnssec_ok=True)
    kinds = [(r.rdtype, r.covers) for r in response.authority]
    nsec3s = [r for r in response.authority if r.rdtype == dns.rdatatype.NSEC3]
    assert len(nsec3s) == 3  # closest encloser, next closer, wildcard
    assert kinds.count((dns.rdatatype.RRSIG, dns.rdatatype.NSEC3)) == 3
    assert all(r.name.parent() == dns.name.from_text("nsec3.test.") for r in nsec3s)
    assert {r[0].salt for r in nsec3s} == {b"\xab\xcd"}


# --- served responses, altered: each part of the proof is needed -------------------------


def judged(
    tree: SignedTree, response: dns.message.Message, name: str, rdtype: str, zone: str
) -> ValidatedAnswer:
    """``judge_answer`` on a response, with the zone's real keys; a verdict is returned."""
    keys = zone_of(tree, zone).find_rrset(dns.name.from_text(zone), dns.rdatatype.DNSKEY)
    qname, qtype = dns.name.from_text(name), dns.rdatatype.from_text(rdtype)
    try:
        result = judge_answer(wire_trip(response), qname, qtype, keys.name, keys, NOW.timestamp())
    except ValidationEnd as verdict:
        return verdict.answer
    assert isinstance(result, ValidatedAnswer)
    return result


def without(response: dns.message.Message, owner: dns.name.Name) -> dns.message.Message:
    """The response without the NSEC3 at ``owner`` and its RRSIG."""
    kept = dns.message.from_wire(response.to_wire())
    kept.authority = [r for r in kept.authority if r.name != owner]
    return kept


def resigned(
    response: dns.message.Message,
    keys: ZoneKeys,
    change: Callable[[list[str]], list[str]],
    *,
    first_only: bool = False,
) -> dns.message.Message:
    """The response with its NSEC3 records' fields changed and signed again, validly, by
    the zone's key: what a compromised (or merely odd) signer could publish."""
    altered = dns.message.from_wire(response.to_wire())
    authority: list[dns.rrset.RRset] = []
    done = False
    for rrset in altered.authority:
        if rrset.rdtype == dns.rdatatype.RRSIG and rrset.covers == dns.rdatatype.NSEC3:
            continue
        if rrset.rdtype != dns.rdatatype.NSEC3 or (first_only and done):
            if rrset.rdtype == dns.rdatatype.NSEC3:
                authority.extend([rrset, sign(rrset, keys)])
            else:
                authority.append(rrset)
            continue
        texts = [" ".join(change(r.to_text().split())) for r in rrset]
        new = dns.rrset.from_text_list(rrset.name, rrset.ttl, "IN", "NSEC3", texts)
        authority.extend([new, sign(new, keys)])
        done = True
    altered.authority = authority
    return altered


def sign(rrset: dns.rrset.RRset, keys: ZoneKeys) -> dns.rrset.RRset:
    origin = rrset.name.parent()
    rrsig = dns.dnssec.sign(
        rrset,
        keys.zsk.private,
        origin,
        keys.zsk.dnskey,
        inception=NOW - timedelta(hours=1),
        expiration=NOW + timedelta(days=1),
    )
    return dns.rrset.from_rdata(rrset.name, rrset.ttl, rrsig)


def test_served_nxdomain_proof_validates_as_served(tree: SignedTree) -> None:
    response = served(tree, "gone.nsec3.test.", "A", dnssec_ok=True)
    answer = judged(tree, response, "gone.nsec3.test.", "A", "nsec3.test.")
    assert (answer.status, answer.reason) == (
        SECURE,
        "NSEC3 in nsec3.test. proves gone.nsec3.test. does not exist",
    )


def test_nxdomain_proof_missing_any_record_is_bogus(tree: SignedTree) -> None:
    response = served(tree, "gone.nsec3.test.", "A", dnssec_ok=True)
    owners = [r.name for r in response.authority if r.rdtype == dns.rdatatype.NSEC3]
    for owner in owners:  # the closest encloser's, the next closer's, the wildcard's
        answer = judged(tree, without(response, owner), "gone.nsec3.test.", "A", "nsec3.test.")
        assert (answer.status, answer.reason) == (
            BOGUS,
            "no NSEC3 proof that gone.nsec3.test. does not exist",
        ), owner


def test_denial_replayed_for_another_question_is_bogus(tree: SignedTree) -> None:
    # mx.nsec3.test. has no MX; the same signed records must not deny its A or its name.
    response = served(tree, "mx.nsec3.test.", "MX", dnssec_ok=True)
    assert judged(tree, response, "mx.nsec3.test.", "MX", "nsec3.test.").status == SECURE
    answer = judged(tree, response, "mx.nsec3.test.", "A", "nsec3.test.")
    assert (answer.status, answer.reason) == (BOGUS, "no NSEC3 proof that mx.nsec3.test. has no A")
    # No span reaches over a name in the chain, so a denial of gone cannot deny alias.
    nxdomain = served(tree, "gone.nsec3.test.", "A", dnssec_ok=True)
    answer = judged(tree, nxdomain, "alias.nsec3.test.", "A", "nsec3.test.")
    assert (answer.status, answer.reason) == (
        BOGUS,
        "no NSEC3 proof that alias.nsec3.test. does not exist",
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [(0, "2"), (1, "2")],  # hash algorithm 2 (unassigned); flags 2 (unknown)
)
def test_unknown_hash_algorithm_or_flags_are_ignored(
    tree: SignedTree, field: int, value: str
) -> None:
    # RFC 5155 §8.1-§8.2: such records are ignored, leaving no proof.
    response = served(tree, "gone.nsec3.test.", "A", dnssec_ok=True)

    def change(fields: list[str]) -> list[str]:
        fields[field] = value
        return fields

    altered = resigned(response, tree.keys["nsec3.test."], change)
    answer = judged(tree, altered, "gone.nsec3.test.", "A", "nsec3.test.")
    assert answer.status == BOGUS
    assert answer.reason.startswith("NSEC3 in nsec3.test. uses only unknown hash algorithms")


def test_records_with_different_parameters_are_bogus(tree: SignedTree) -> None:
    response = served(tree, "gone.nsec3.test.", "A", dnssec_ok=True)

    def change(fields: list[str]) -> list[str]:
        fields[2] = "6"  # iterations
        return fields

    altered = resigned(response, tree.keys["nsec3.test."], change, first_only=True)
    answer = judged(tree, altered, "gone.nsec3.test.", "A", "nsec3.test.")
    assert (answer.status, answer.reason) == (
        BOGUS,
        "NSEC3 records in nsec3.test. differ in salt or iterations (RFC 5155 §8.2)",
    )


def test_raised_iteration_count_is_insecure_only_if_signed(tree: SignedTree) -> None:
    # RFC 9276 §3.2: the count is judged after the signature, so forging it is bogus.
    response = served(tree, "gone.nsec3.test.", "A", dnssec_ok=True)

    def change(fields: list[str]) -> list[str]:
        fields[2] = "101"
        return fields

    altered = resigned(response, tree.keys["nsec3.test."], change)
    answer = judged(tree, altered, "gone.nsec3.test.", "A", "nsec3.test.")
    assert (answer.status, answer.dns_status) == (INSECURE, DnsStatus.NXDOMAIN)
    assert answer.reason.startswith("NSEC3 in nsec3.test. uses 101 hash iterations, more than 100")
    forged = dns.message.from_wire(response.to_wire())
    for rrset in forged.authority:
        if rrset.rdtype == dns.rdatatype.NSEC3:
            (rdata,) = rrset
            rrset.clear()
            rrset.add(rdata.replace(iterations=101))
    answer = judged(tree, forged, "gone.nsec3.test.", "A", "nsec3.test.")
    assert answer.status == BOGUS
    assert answer.reason.endswith("NSEC3 does not verify")


# --- wildcard answers (RFC 5155 §8.8); the loopback server does not synthesise them -------


def wildcard_response(*, opt_out: bool) -> tuple[dns.message.Message, dns.zone.Zone]:
    zone = signed_zones.make_zone("wild3.test.", "* A 127.0.0.7", "other A 127.0.0.8")
    signed_zones.sign(
        zone, signed_zones.generate_zone_keys(), now=NOW, nsec3=Nsec3Params(opt_out=opt_out)
    )
    qname, wildcard = dns.name.from_text("host.wild3.test."), dns.name.from_text("*.wild3.test.")
    response = dns.message.make_response(dns.message.make_query(qname, "A"))
    for rdtype, covers in ((dns.rdatatype.A, 0), (dns.rdatatype.RRSIG, dns.rdatatype.A)):
        rdataset = zone.find_rdataset(wildcard, rdtype, covers)
        response.answer.append(dns.rrset.from_rdata_list(qname, rdataset.ttl, list(rdataset)))
    return response, zone


def add_covering(
    response: dns.message.Message, zone: dns.zone.Zone, name: str, *, other: bool = False
) -> None:
    """Add the NSEC3 record covering ``name`` (or, with ``other``, one that does not)."""
    owner = nsec3_chain.covering_owner(zone, dns.name.from_text(name))
    if other:
        names = ("wild3.test.", "*.wild3.test.", "other.wild3.test.")
        owners = [nsec3_chain.owner_for(zone, dns.name.from_text(n)) for n in names]
        owner = next(o for o in owners if o != owner)
    for rdtype, covers in ((dns.rdatatype.NSEC3, 0), (dns.rdatatype.RRSIG, dns.rdatatype.NSEC3)):
        response.authority.append(zone.find_rrset(owner, rdtype, covers))


def judge_wildcard(response: dns.message.Message, zone: dns.zone.Zone) -> ValidatedAnswer:
    assert zone.origin is not None
    keys = zone.find_rrset(zone.origin, dns.rdatatype.DNSKEY)
    qname = dns.name.from_text("host.wild3.test.")
    try:
        result = judge_answer(
            wire_trip(response), qname, dns.rdatatype.A, zone.origin, keys, NOW.timestamp()
        )
    except ValidationEnd as verdict:
        return verdict.answer
    assert isinstance(result, ValidatedAnswer)
    return result


def test_wildcard_answer_needs_the_next_closer_name_covered() -> None:
    response, zone = wildcard_response(opt_out=False)
    answer = judge_wildcard(response, zone)
    assert (answer.status, answer.reason) == (
        BOGUS,
        "wildcard answer for host.wild3.test. without proof that host.wild3.test. does not exist",
    )
    add_covering(response, zone, "host.wild3.test.", other=True)
    assert judge_wildcard(response, zone).status == BOGUS  # a record, but not the one
    add_covering(response, zone, "host.wild3.test.")
    answer = judge_wildcard(response, zone)
    assert (answer.status, answer.records) == (SECURE, ("127.0.0.7",))


def test_wildcard_answer_in_an_opt_out_span_is_insecure() -> None:
    response, zone = wildcard_response(opt_out=True)
    add_covering(response, zone, "host.wild3.test.")
    answer = judge_wildcard(response, zone)
    assert (answer.status, answer.records) == (INSECURE, ("127.0.0.7",))
    assert answer.reason.endswith(OPT_OUT)


# --- hashing and spans -------------------------------------------------------------------


def digest(text: str) -> bytes:
    return base64.b32hexdecode(text.upper())


def record(following: bytes, *, salt: str = "-", iterations: int = 0) -> NSEC3:
    label = base64.b32hexencode(following).decode()
    rdata = dns.rdata.from_text("IN", "NSEC3", f"1 0 {iterations} {salt} {label} A")
    assert isinstance(rdata, NSEC3)
    return rdata


LOW, MID, HIGH = b"\x10" * 20, b"\x80" * 20, b"\xf0" * 20


@pytest.mark.parametrize(
    ("owner", "following", "digest_", "covered"),
    [
        (LOW, HIGH, MID, True),
        (LOW, HIGH, LOW, False),  # the owner itself matches; it is not covered
        (LOW, HIGH, HIGH, False),  # nor is the next owner
        (LOW, MID, HIGH, False),
        # The last record of the chain: its span wraps past the largest hash to the first.
        (HIGH, LOW, b"\xff" * 20, True),
        (HIGH, LOW, b"\x00" * 20, True),
        (HIGH, LOW, MID, False),
        (HIGH, LOW, HIGH, False),
        (HIGH, LOW, LOW, False),
        # A chain of one record covers every hash but its own.
        (MID, MID, LOW, True),
        (MID, MID, HIGH, True),
        (MID, MID, MID, False),
    ],
)
def test_covers(owner: bytes, following: bytes, digest_: bytes, covered: bool) -> None:
    assert nsec3.covers(owner, following, digest_) is covered


def test_hash_uses_the_records_salt_and_iterations() -> None:
    # RFC 5155 Appendix A: salt aabbccdd, 12 iterations.
    chain = nsec3.Nsec3Chain(
        dns.name.from_text("example."),
        [(LOW, record(HIGH, salt="aabbccdd", iterations=12))],
    )
    expected = {
        "example.": "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom",
        "a.example.": "35mthgpgcu1qg68fab165klnsnk3dpvl",
        "*.w.example.": "r53bq7cc2uvmubfu5ocmm6pers9tk9en",
    }
    for name, hashed in expected.items():
        assert chain.digest(dns.name.from_text(name)) == digest(hashed)


def built_chain(params: Nsec3Params) -> tuple[dns.zone.Zone, nsec3.Nsec3Chain]:
    """A zone's NSEC3 chain as the builder makes it, read back into the validator's type."""
    zone = signed_zones.make_zone("chain.test.", "a A 127.0.0.1", "b.c A 127.0.0.2")
    nsec3_chain.add_nsec3_chain(zone, params, ttl=300)
    records = [
        (base64.b32hexdecode(name.labels[0], casefold=True), rdata)
        for name, rdataset in zone.iterate_rdatasets(dns.rdatatype.NSEC3)
        for rdata in rdataset
        if isinstance(rdata, NSEC3)
    ]
    return zone, nsec3.Nsec3Chain(dns.name.from_text("chain.test."), records)


def test_every_name_outside_the_chain_is_covered_once_wrap_around_included() -> None:
    _, chain = built_chain(Nsec3Params(salt=b"\x01", iterations=2))
    hashes = sorted(h for h, _ in chain._records)
    assert len(hashes) == 4  # apex, a, b.c and the empty non-terminal c
    wrapped = 0
    for index in range(200):
        name = dns.name.from_text(f"n{index}.chain.test.")
        hashed = chain.digest(name)
        covering = [r for h, r in chain._records if nsec3.covers(h, r.next, hashed)]
        assert len(covering) == 1, name
        if hashed > hashes[-1] or hashed < hashes[0]:
            wrapped += 1
            assert covering[0].next == hashes[0]  # the last record's span
    assert wrapped > 0  # 200 names are enough to land beyond both ends
    assert chain.matching(dns.name.from_text("c.chain.test.")) is not None


def test_closest_encloser() -> None:
    _, chain = built_chain(Nsec3Params())
    encloser = chain.closest_encloser(dns.name.from_text("x.y.c.chain.test."))
    assert encloser is not None
    assert (encloser.name, encloser.next_closer) == (
        dns.name.from_text("c.chain.test."),
        dns.name.from_text("y.c.chain.test."),
    )
    assert chain.closest_encloser(dns.name.from_text("a.chain.test.")) is None  # it exists
    assert chain.closest_encloser(dns.name.from_text("a.other.test.")) is None  # not in zone
    assert nsec3.proves_nxdomain(chain, dns.name.from_text("x.y.c.chain.test."))
    assert not nsec3.proves_nxdomain(chain, dns.name.from_text("b.c.chain.test."))
    assert nsec3.proves_nodata(chain, dns.name.from_text("a.chain.test."), dns.rdatatype.TLSA)
    assert not nsec3.proves_nodata(chain, dns.name.from_text("a.chain.test."), dns.rdatatype.A)


def test_answer_at_a_cut_behind_an_unchecked_proof_is_insecure(tree: SignedTree) -> None:
    # The DS denial for insecure.costly.test. is not checked, and its MX is unsigned.
    answer = ask(tree, "insecure.costly.test.", "MX")
    assert (answer.status, answer.reason) == (INSECURE, f"{COSTLY} (RFC 9276 §3.2)")
    assert answer.records == ("10 mx.insecure.costly.test.",)
