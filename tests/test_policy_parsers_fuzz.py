"""DNS TXT and TLSA data and MTA-STS policies are remote input: the parsers never raise."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from starttls_check.checks.mail_auth import evaluate_dmarc, evaluate_spf, evaluate_tls_rpt
from starttls_check.policy.dane import parse_tlsa_text
from starttls_check.policy.mta_sts import parse_policy
from starttls_check.policy.mta_sts_txt import parse_sts_txt
from starttls_check.policy.txt import decode_txt_rdata

# Text shaped like the records, so the fuzzer reaches past the first check.
_PIECES = st.sampled_from(
    [
        "v=spf1",
        "v=DMARC1",
        "v=TLSRPTv1",
        "v=STSv1",
        ";",
        " ",
        "=",
        ":",
        "all",
        "+",
        "-",
        "include:",
        "ip4:",
        "ip6:",
        "/",
        "p=",
        "rua=",
        "mailto:",
        "https://",
        "id=",
        "\\",
        '"',
        "mode",
        "mx",
        "max_age",
        "version",
        "\r\n",
        "\n",
        "*.",
        "%{",
        "}",
        "\x00",
        "é",
    ]
)
RECORD = st.one_of(
    st.text(max_size=200), st.lists(_PIECES | st.text(max_size=8), max_size=30).map("".join)
)
RECORDS = st.lists(RECORD, max_size=4)
LIMITS = settings(max_examples=300, deadline=None, database=None)


@LIMITS
@given(RECORDS, st.booleans())
def test_mail_authentication_linters_never_raise(records: list[str], in_use: bool) -> None:
    evaluate_spf("example.com", records)
    evaluate_dmarc("example.com", records)
    evaluate_tls_rpt("example.com", records, policy_in_use=in_use)


@LIMITS
@given(RECORDS, RECORD)
def test_mta_sts_parsers_never_raise(records: list[str], policy: str) -> None:
    parse_sts_txt([decode_txt_rdata(r) for r in records])
    parse_policy(policy)


@LIMITS
@given(RECORD)
def test_tlsa_text_parser_never_raises(text: str) -> None:
    parse_tlsa_text(text)


def test_non_ascii_digits_are_not_numbers() -> None:
    # str.isdigit() accepts "²"; int() then raises. Found by the fuzzer above.
    assert isinstance(parse_tlsa_text("0 0 ² 00"), str)
    assert decode_txt_rdata('"a\\²²²b"') == "a²²²b"  # a backslash escapes the next char
