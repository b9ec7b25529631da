"""SPF lookups across includes and DMARC's organisational domain, end to end: records
served by the loopback DNS server, gathered by `check_domain_async`, judged, serialised."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

import starttls_check
from starttls_check.dns import public_suffix
from starttls_check.model.findings import Finding, Severity
from starttls_check.model.report import DomainReport
from starttls_check.model.serialize import to_jsonable
from starttls_check.policy.gather import SPF_MAX_QUERIES

from .harness import mail_world, run

MX = "mx.example.test"
BASE = (
    f"example.test. IN MX 10 {MX}.\n"
    f"sub.example.test. IN MX 10 {MX}.\n"
    f"deep.sub.example.test. IN MX 10 {MX}.\n"
    f"{MX}. IN A 127.0.0.2\n"
)


def check(records: str, domain: str = "example.test") -> DomainReport:
    async def go() -> DomainReport:
        # The policy records are the subject: no SMTP server (the session is refused).
        async with mail_world(BASE + records, {}) as world:
            return await world.check(domain, policy_checks=True, timeout=2.0)

    return run(go())


def txt(name: str, record: str) -> str:
    """A TXT record line, split into character-strings of at most 255 (RFC 7208 §3.3)."""
    strings = " ".join(f'"{record[i : i + 255]}"' for i in range(0, len(record), 255))
    return f"{name}. IN TXT {strings}\n"


def found(report: DomainReport, prefix: str) -> dict[str, Finding]:
    return {f.code: f for f in report.findings if f.code.startswith(prefix)}


def chain(length: int) -> str:
    """example.test includes s1, s1 includes s2, ... s<length-1> includes s<length>: that
    is `length` include lookups, one per record, so no record alone is over the limit."""
    names = ["example.test"] + [f"s{n}.example.test" for n in range(1, length + 1)]
    lines = [f'{a}. IN TXT "v=spf1 include:{b} -all"' for a, b in itertools.pairwise(names)]
    return "\n".join([*lines, f'{names[-1]}. IN TXT "v=spf1 ip4:192.0.2.1 -all"']) + "\n"


# --- SPF --------------------------------------------------------------------------------


def test_an_include_chain_of_eleven_lookups_is_permerror() -> None:
    report = check(chain(11))
    spf = found(report, "spf.")
    assert list(spf) == ["spf.too-many-lookups"]
    too_many = spf["spf.too-many-lookups"]
    assert too_many.severity is Severity.FAIL
    assert "more than 10 DNS lookups" in too_many.message
    assert "the 11th in the record of s10.example.test" in too_many.message
    assert too_many.evidence is not None
    assert "s10.example.test: v=spf1 include:s11" in (too_many.evidence)
    assert report.policies is not None
    assert report.policies.spf_walk is not None
    assert report.policies.spf_walk.lookups == 11
    assert report.policies.spf_walk.stopped == ""
    # The walk stops where receivers do: s11's record is never needed.
    assert "s11.example.test" not in {q.name for q in report.policies.spf_walk.queries}


def test_an_include_chain_of_ten_lookups_is_within_the_limit() -> None:
    report = check(chain(10))
    assert found(report, "spf.") == {}
    assert report.policies is not None
    assert report.policies.spf_walk is not None
    assert report.policies.spf_walk.lookups == 10


@pytest.mark.parametrize(
    ("records", "loop"),
    [
        (
            'example.test. IN TXT "v=spf1 include:a.example.test -all"\n'
            'a.example.test. IN TXT "v=spf1 include:b.example.test -all"\n'
            'b.example.test. IN TXT "v=spf1 mx include:a.example.test -all"\n',
            "example.test → a.example.test → b.example.test → a.example.test",
        ),
        ('example.test. IN TXT "v=spf1 redirect=example.test"\n', "example.test → example.test"),
        (
            'example.test. IN TXT "v=spf1 include:A.Example.Test. -all"\n'
            'a.example.test. IN TXT "v=spf1 redirect=example.test"\n',
            "example.test → a.example.test → example.test",
        ),
    ],
)
def test_an_include_loop_is_caught_without_going_round(records: str, loop: str) -> None:
    report = check(records)
    spf = found(report, "spf.")
    assert list(spf) == ["spf.include-loop"]  # not also "too many lookups": one cause
    assert loop in spf["spf.include-loop"].message
    assert report.policies is not None
    assert report.policies.spf_walk is not None
    queries = report.policies.spf_walk.queries
    assert len(queries) == len({(q.name, q.rdtype) for q in queries}) <= 3  # each name once


def test_a_record_included_twice_is_no_loop_and_counts_twice() -> None:
    records = (
        'example.test. IN TXT "v=spf1 include:a.example.test include:b.example.test -all"\n'
        'a.example.test. IN TXT "v=spf1 include:c.example.test -all"\n'
        'b.example.test. IN TXT "v=spf1 include:c.example.test -all"\n'
        'c.example.test. IN TXT "v=spf1 ip4:192.0.2.0/24 -all"\n'
    )
    report = check(records)
    assert found(report, "spf.") == {}
    assert report.policies is not None
    assert report.policies.spf_walk is not None
    assert report.policies.spf_walk.lookups == 4
    names = [q.name for q in report.policies.spf_walk.queries]
    assert names.count("c.example.test") == 1  # asked once, counted twice


def test_more_than_two_void_lookups() -> None:
    two = 'example.test. IN TXT "v=spf1 a:gone1.example.test mx:gone2.example.test -all"\n'
    assert found(check(two), "spf.") == {}
    three = (
        'example.test. IN TXT "v=spf1 a:gone1.example.test mx:gone2.example.test '
        'include:s.example.test -all"\n'
        's.example.test. IN TXT "v=spf1 exists:gone3.example.test -all"\n'
    )
    spf = found(check(three), "spf.")
    assert list(spf) == ["spf.void-lookups"]
    message = spf["spf.void-lookups"].message
    assert "3 void lookups" in message
    for term in ("a:gone1.example.test", "mx:gone2.example.test", "exists:gone3.example.test"):
        assert term in message
    assert spf["spf.void-lookups"].severity is Severity.WARN


def test_an_address_of_either_family_is_no_void_lookup() -> None:
    records = (
        'example.test. IN TXT "v=spf1 a:v6.example.test a:gone1.example.test '
        'a:gone2.example.test -all"\n'
        "v6.example.test. IN AAAA ::1\n"
    )
    assert found(check(records), "spf.") == {}


def test_an_include_without_an_spf_record_is_permerror() -> None:
    records = (
        'example.test. IN TXT "v=spf1 include:nospf.example.test -all"\n'
        'nospf.example.test. IN TXT "google-site-verification=abc"\n'
    )
    spf = found(check(records), "spf.")
    assert list(spf) == ["spf.include-missing"]
    assert "include:nospf.example.test" in spf["spf.include-missing"].message


def test_the_walk_is_bounded_whatever_the_records() -> None:
    """Ten a: terms, each asked for A and AAAA, is the most a walk asks for one record's
    terms; thirty is over the limit before any of them is asked, as receivers find."""
    ten = " ".join(f"a:h{n}.example.test" for n in range(10))
    report = check(txt("example.test", f"v=spf1 {ten} -all"))
    assert list(found(report, "spf.")) == ["spf.void-lookups"]
    assert report.policies is not None
    assert report.policies.spf_walk is not None
    assert len(report.policies.spf_walk.queries) == 20 <= SPF_MAX_QUERIES
    thirty = " ".join(f"a:h{n}.example.test" for n in range(30))
    report = check(txt("example.test", f"v=spf1 {thirty} -all"))
    assert list(found(report, "spf.")) == ["spf.too-many-lookups"]
    assert report.policies is not None
    assert report.policies.spf_walk is not None
    assert report.policies.spf_walk.queries == ()


def test_the_walk_is_in_the_json() -> None:
    report = check(chain(2))
    assert report.policies is not None
    walked = to_jsonable(report.policies)["spf_walk"]
    assert walked["lookups"] == 2
    assert [(q["name"], q["rdtype"]) for q in walked["queries"]] == [
        ("s1.example.test", "TXT"),
        ("s2.example.test", "TXT"),
    ]


# --- DMARC ------------------------------------------------------------------------------

ORG_DMARC = '_dmarc.example.test. IN TXT "v=DMARC1; p=reject; sp={sp}; rua=mailto:d@example.test"\n'


@pytest.mark.parametrize("domain", ["sub.example.test", "deep.sub.example.test"])
def test_a_subdomain_is_covered_by_its_organisational_domain(domain: str) -> None:
    report = check(ORG_DMARC.format(sp="quarantine"), domain)
    dmarc = found(report, "dmarc.")
    assert list(dmarc) == ["dmarc.inherited"]
    inherited = dmarc["dmarc.inherited"]
    assert inherited.severity is Severity.INFO
    assert f"no DMARC record at _dmarc.{domain}" in inherited.message
    assert "_dmarc.example.test" in inherited.message
    assert "sp=quarantine" in inherited.message
    assert report.policies is not None
    assert report.policies.dmarc_applied == "_dmarc.example.test"
    fallback = report.policies.dmarc_fallback
    assert fallback is not None
    assert fallback.organisational_domain == "example.test"
    assert fallback.lookup is not None
    assert fallback.lookup.name == "_dmarc.example.test"
    facts = json.loads(json.dumps(to_jsonable(report.policies)))
    assert facts["dmarc_applied"] == "_dmarc.example.test"
    assert facts["dmarc_fallback"]["organisational_domain"] == "example.test"


def test_the_sp_tag_is_the_subdomains_policy() -> None:
    lax = found(check(ORG_DMARC.format(sp="none"), "sub.example.test"), "dmarc.")
    assert list(lax) == ["dmarc.inherited", "dmarc.policy-none"]
    assert "applies to sub.example.test with sp=none" in lax["dmarc.policy-none"].message
    # p=none at the organisational domain, sp=reject for its subdomains: no "none" here...
    strict = '_dmarc.example.test. IN TXT "v=DMARC1; p=none; sp=reject"\n'
    assert list(found(check(strict, "sub.example.test"), "dmarc.")) == ["dmarc.inherited"]
    # ...and without sp=, p= applies to subdomains too.
    plain = '_dmarc.example.test. IN TXT "v=DMARC1; p=none"\n'
    none = found(check(plain, "sub.example.test"), "dmarc.")
    assert "with p=none" in none["dmarc.policy-none"].message


def test_the_organisational_domain_itself_uses_p_not_sp() -> None:
    report = check(ORG_DMARC.format(sp="none"))
    assert found(report, "dmarc.") == {}
    assert report.policies is not None
    assert report.policies.dmarc_applied == "_dmarc.example.test"
    assert report.policies.dmarc_fallback is None


def test_a_subdomains_own_record_wins() -> None:
    records = ORG_DMARC.format(sp="reject") + '_dmarc.sub.example.test. IN TXT "v=DMARC1; p=none"\n'
    report = check(records, "sub.example.test")
    assert list(found(report, "dmarc.")) == ["dmarc.policy-none"]
    assert report.policies is not None
    assert report.policies.dmarc_applied == "_dmarc.sub.example.test"


def test_no_record_at_either_name() -> None:
    report = check("", "sub.example.test")
    (missing,) = found(report, "dmarc.").values()
    assert missing.code == "dmarc.missing"
    assert missing.message.endswith(", nor at _dmarc.example.test")
    assert report.policies is not None
    assert report.policies.dmarc_applied is None


def test_without_the_public_suffix_list_the_fallback_is_unknown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The `psl` extra missing: the organisational domain is not guessed."""
    public_suffix._icann_section.cache_clear()
    monkeypatch.setattr(public_suffix, "_PACKAGE", "publicsuffixlist_not_installed")
    try:
        report = check(ORG_DMARC.format(sp="quarantine"), "sub.example.test")
    finally:
        public_suffix._icann_section.cache_clear()
    (missing,) = found(report, "dmarc.").values()
    assert missing.code == "dmarc.missing"
    assert "whether its organisational domain's record applies is unknown" in missing.message
    assert "pip install 'starttls-check[psl]'" in missing.message
    assert report.policies is not None
    assert report.policies.dmarc_applied is None
    fallback = report.policies.dmarc_fallback
    assert fallback is not None
    assert fallback.unknown
    assert fallback.lookup is None


def test_the_new_facts_validate_against_the_shipped_schema() -> None:
    import jsonschema

    from starttls_check.render.json_report import render_json

    schema_path = Path(starttls_check.__file__).parent / "schema" / "report.schema.json"
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    reports = [
        check(chain(3) + ORG_DMARC.format(sp="none"), "sub.example.test"),
        check(chain(11)),
    ]
    document = json.loads(render_json(reports, datetime.now(UTC)))
    jsonschema.validate(document, schema)
    facts = [r["policies"] for r in document["reports"]]
    assert facts[0]["dmarc_fallback"]["lookup"]["name"] == "_dmarc.example.test"
    assert facts[1]["spf_walk"]["lookups"] == 11
    broken = json.loads(json.dumps(document))
    broken["reports"][1]["policies"]["spf_walk"]["lookups"] = "eleven"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)
