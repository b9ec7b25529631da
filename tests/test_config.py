"""Policy as code: the TOML config file, its errors (file and line, one line), and layering."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from starttls_check.cli.config import (
    ConfigError,
    _locate,
    apply_policy,
    load_config,
)
from starttls_check.cli.names import INVOCATION_KEYS, POLICY_KEYS, SETTING_FIELDS, SETTING_KEYS
from starttls_check.model.findings import Policy, Severity, Waiver

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "starttls-check.toml"


def write(tmp_path: Path, text: str, name: str = "starttls-check.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load_error(path: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert "\n" not in message
    assert "\r" not in message
    return message


# --- the example file ------------------------------------------------------------------------


def test_example_loads_domains_settings_and_policies() -> None:
    config = load_config(EXAMPLE)

    assert config.domains == ("example.com", "example.org", "example.net")
    assert dict(config.settings) == {
        "nameservers": (("192.0.2.53", 53), ("2001:db8::53", 53)),
        "port": 25,
        "timeout": 15.0,
        "ehlo": "monitor.example.com",
        "retries": 1,
    }
    assert dict(config.policy) == {
        "fail_on": Severity.WARN,
        "min_tls": "1.2",
        "require_valid_cert": True,
        "cert_expiry_days": 21,
        "allow": (Waiver(code="cert.self-signed", host="backup.example.com"),),
        "require_dane": False,
        "require_mta_sts": False,
    }
    assert dict(config.domain_policy["example.com"]) == {}
    assert dict(config.domain_policy["example.org"]) == {
        "require_valid_cert": False,
        "allow": (Waiver(code="mx.implicit"),),
    }
    assert config.domain_policy["example.net"]["min_tls"] == "1.3"
    assert config.domain_policy["example.net"]["fail_on"] is Severity.FAIL


def test_example_layers_file_default_then_domain_override() -> None:
    config = load_config(EXAMPLE)
    defaults = apply_policy(Policy(), config.policy)

    org = apply_policy(defaults, config.domain_policy["example.org"])
    com = apply_policy(defaults, config.domain_policy["example.com"])

    assert org == Policy(
        fail_on=Severity.WARN,  # from the top level
        min_tls="1.2",
        require_valid_cert=False,  # the domain's override
        cert_expiry_days=21,
        allow=(Waiver(code="mx.implicit"),),  # replaced, not merged
    )
    assert com == defaults


def test_explicit_default_value_still_overrides(tmp_path: Path) -> None:
    # require_valid_cert = false and cert_expiry_days = 14 are Policy()'s defaults: a domain
    # that writes them must still win over the stricter top level.
    path = write(
        tmp_path,
        "require_valid_cert = true\ncert_expiry_days = 30\nfail_on = 'warn'\n"
        '[domains."example.com"]\nrequire_valid_cert = false\ncert_expiry_days = 14\n',
    )
    config = load_config(path)
    domain = apply_policy(
        apply_policy(Policy(), config.policy), config.domain_policy["example.com"]
    )
    assert (domain.require_valid_cert, domain.cert_expiry_days) == (False, 14)
    assert domain.fail_on is Severity.WARN

    command_line = apply_policy(domain, {"fail_on": Severity.FAIL})  # last layer wins
    assert command_line.fail_on is Severity.FAIL


def test_apply_policy_refuses_settings() -> None:
    with pytest.raises(TypeError, match="not policy keys: port"):
        apply_policy(Policy(), {"port": 25})


def test_every_policy_field_is_configurable() -> None:
    # a field added to Policy without a config key (and converter) fails here
    assert {f.name for f in dataclasses.fields(Policy)} == POLICY_KEYS
    assert not POLICY_KEYS & SETTING_KEYS


# --- what loads ------------------------------------------------------------------------------


def test_no_domains_table_means_no_domains(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "port = 2525\n"))
    assert config.domains == ()
    assert dict(config.domain_policy) == {}
    assert dict(config.settings) == {"port": 2525}
    assert load_config(write(tmp_path, "[domains]\n")).domains == ()


def test_domains_in_file_order_as_a_labels(tmp_path: Path) -> None:
    text = "[domains.'Zeta.Example.']\n[domains.\"bücher.example\"]\n[domains]\n'a.example' = {}\n"
    config = load_config(write(tmp_path, text))
    assert config.domains == ("zeta.example", "xn--bcher-kva.example", "a.example")


def test_ca_files_resolve_relative_to_the_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "etc"
    (folder / "ca").mkdir(parents=True)
    (folder / "ca" / "private-ca.pem").write_text("not parsed here\n")
    path = write(folder, 'ca_files = ["ca/private-ca.pem"]\n')
    monkeypatch.chdir(tmp_path)  # the working directory is not the file's folder

    config = load_config(Path("etc/starttls-check.toml"))

    assert config.settings["ca_files"] == ((folder / "ca" / "private-ca.pem").resolve(),)
    assert config.path == Path("etc/starttls-check.toml")
    assert path.exists()


def test_timeout_accepts_an_integer_and_min_tls_its_spellings(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "timeout = 7\nmin_tls = 'TLSv1.3'\n"))
    assert config.settings["timeout"] == 7.0
    assert config.policy["min_tls"] == "1.3"


# --- errors: file and line, one line ---------------------------------------------------------

TOP = 'port = 25\nfail_on = "warn"\n'  # two harmless lines so the error is not on line 1

ERRORS = [
    # unknown keys, with the table they were in and a suggestion
    pytest.param(
        "# comment\nport = 25\ntimeout = 15\nehlo = 'a.example'\n\nretries = 1\n"
        "fail_onn = 'warn'\n",
        7,
        "unknown key 'fail_onn' (did you mean 'fail_on'?)",
        id="top-level-typo",
    ),
    pytest.param(TOP + 'colour = "red"\n', 3, "unknown key 'colour'", id="top-level-no-suggestion"),
    pytest.param(
        TOP + '[domain."example.com"]\n',
        3,
        "unknown key 'domain' (did you mean 'domains'?)",
        id="domains-typo",
    ),
    pytest.param(
        TOP + '[domains."example.com"]\n[domains."example.org"]\nrequire_valid_crt = false\n',
        5,
        "unknown key 'require_valid_crt' in [domains.\"example.org\"] "
        "(did you mean 'require_valid_cert'?)",
        id="domain-table",
    ),
    pytest.param(
        TOP + "[domains.'example.org']\n\n  Allow = []\n",
        5,
        "unknown key 'Allow' in [domains.\"example.org\"] (did you mean 'allow'?)",
        id="literal-quoted-domain",
    ),
    pytest.param(
        TOP + 'domains."example.org".alow = []\n',
        3,
        "unknown key 'alow' in [domains.\"example.org\"] (did you mean 'allow'?)",
        id="dotted-key",
    ),
    pytest.param(
        TOP
        + "[domains]\n'example.com' = {}\n\"example.org\" = { fail_on = 'fail', dane = true }\n",
        5,
        "unknown key 'dane' in [domains.\"example.org\"]",
        id="inline-table",
    ),
    pytest.param(
        # the earlier inline table mentions the same key: the line is the domain's own
        TOP + "[domains]\n'example.com' = { fail_on = 'fail' }\n'example.org' = { fail_on = 2 }\n",
        5,
        "fail_on must be a string, not an integer",
        id="inline-table-same-key",
    ),
    pytest.param(
        TOP + 'domains = { "example.org" = { min_tsl = "1.3" } }\n',
        3,
        "unknown key 'min_tsl' in [domains.\"example.org\"] (did you mean 'min_tls'?)",
        id="inline-table-top-level",
    ),
    pytest.param(
        # the same key is fine at the top level (line 2): the error is the domain's line
        TOP + '[domains."example.org"]\nport = 2525\n',
        4,
        "'port' in [domains.\"example.org\"] is a run setting: it is allowed at the top level only",
        id="setting-in-domain",
    ),
    # wrong types
    pytest.param(TOP + 'retries = "1"\n', 3, "retries must be an integer, not a string", id="str"),
    pytest.param('\n\nport = "25"\n', 3, "port must be an integer, not a string", id="port-str"),
    pytest.param(
        TOP + "retries = true\n", 3, "retries must be an integer, not a boolean", id="bool"
    ),
    pytest.param(TOP + "timeout = false\n", 3, "timeout must be a number, not a boolean", id="t-b"),
    pytest.param(
        TOP + "cert_expiry_days = 1.5\n", 3, "cert_expiry_days must be an integer, not a float"
    ),
    pytest.param(
        TOP + 'require_valid_cert = "true"\n',
        3,
        "require_valid_cert must be a boolean, not a string",
        id="bool-as-string",
    ),
    pytest.param(TOP + 'allow = "x.y"\n', 3, "allow must be an array of strings, not a string"),
    pytest.param(
        TOP + 'allow = [\n  "cert.expired",\n  5,\n]\n',
        3,
        "each item of allow must be a string, not an integer",
        id="multi-line-array",
    ),
    pytest.param(TOP + "ehlo = 1979-05-27\n", 3, "ehlo must be a string, not a date/time"),
    pytest.param(TOP + "[retries]\nx = 1\n", 3, "retries must be an integer, not a table"),
    # values the command line's parsers refuse
    pytest.param(TOP + "\nretries = 9\n", 4, "bad number of retries 9: expected 0 to 5"),
    pytest.param(
        "fail_on = 'warn'\nport = 0\n", 2, "bad port '0': expected a number from 1 to 65535"
    ),
    pytest.param(
        TOP + "timeout = 0\n",
        3,
        "bad timeout 0: expected seconds, more than 0 and at most 300",
        id="timeout-0",
    ),
    pytest.param(
        TOP + 'ehlo = "mail server"\n',
        3,
        "bad host name 'mail server': expected a name such as mail.example.com",
    ),
    pytest.param(TOP + 'min_tls = "1.1"\n', 3, "bad TLS version '1.1': expected 1.2 or 1.3"),
    pytest.param(
        TOP + '[domains."example.com"]\nfail_on = "info"\n',
        4,
        'bad fail_on \'info\': expected "warn" or "fail"',
        id="fail-on-info-in-domain",
    ),
    pytest.param(
        TOP + 'allow = ["nope"]\n',
        3,
        "bad waiver 'nope': expected CODE or CODE@HOST, e.g. cert.self-signed@mx2.example.com",
    ),
    pytest.param(
        TOP + 'nameservers = ["ns1.example.net"]\n',
        3,
        "bad name server 'ns1.example.net': give an IP address, e.g. 127.0.0.1:5353",
    ),
    pytest.param(TOP + "cert_expiry_days = -1\n", 3, "bad number of days -1: expected 0 to 3650"),
    # the domains table
    pytest.param(
        TOP + '[domains."Example.COM"]\n\n[domains."example.com."]\n',
        5,
        "domain 'example.com.' is listed twice (also as 'Example.COM' on line 3)",
        id="duplicate-domain",
    ),
    pytest.param(
        TOP + '[domains."not a domain"]\n',
        3,
        "bad domain 'not a domain': expected a domain name such as example.com",
        id="bad-domain",
    ),
    pytest.param(
        TOP + 'domains = ["example.com"]\n',
        3,
        'domains must be a table of [domains."NAME"] tables, not an array',
        id="domains-array",
    ),
    pytest.param(
        TOP + "[[domains]]\nname = 'example.com'\n",
        3,
        'domains must be a table of [domains."NAME"] tables, not an array',
        id="domains-array-of-tables",
    ),
    pytest.param(
        TOP + '[domains]\n"example.com" = true\n',
        4,
        'domains."example.com" must be a table of policy keys',
        id="domain-not-a-table",
    ),
    # quoted keys are decoded by tomllib itself, escapes included; the message stays one line
    pytest.param(TOP + '"a\\nb" = 1\n', 3, "unknown key 'a\\nb'", id="newline-in-key"),
]


@pytest.mark.parametrize(("text", "line", "problem"), ERRORS)
def test_error_names_file_and_line(tmp_path: Path, text: str, line: int, problem: str) -> None:
    path = write(tmp_path, text)
    assert load_error(path) == f"{path}:{line}: {problem}"


def test_missing_ca_file_names_the_line_and_where_it_looked(tmp_path: Path) -> None:
    path = write(tmp_path, TOP + 'ca_files = ["missing.pem"]\n')
    expected = tmp_path.resolve() / "missing.pem"
    assert load_error(path) == (
        f"{path}:3: CA file 'missing.pem' not found (looked for {str(expected)!r})"
    )


def test_syntax_error_keeps_tomllib_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, TOP + "[domains.'example.com']\nmin_tls = 1.2.3\n")
    assert load_error(path) == (
        f"{path}:4:14: Expected newline or end of document after a statement"
    )


def test_syntax_error_at_end_of_document_points_at_the_last_line(tmp_path: Path) -> None:
    path = write(tmp_path, TOP + "allow = [\n  'cert.expired',\n\n")
    assert load_error(path).startswith(f"{path}:4: ")


def test_syntax_error_column_is_carried(tmp_path: Path) -> None:
    path = write(tmp_path, "port = 25\nfail_on = warn\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert (caught.value.line, caught.value.column) == (2, 11)
    assert str(caught.value) == f"{path}:2:11: Invalid value"


def test_unreadable_files(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    assert (
        load_error(missing) == f"{missing}: cannot read the config file: No such file or directory"
    )
    assert load_error(tmp_path).endswith(": cannot read the config file: Is a directory")
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes(b"ehlo = 'm\xe4il.example'\n")
    assert load_error(latin1) == f"{latin1}: not UTF-8 text: invalid continuation byte"


def test_message_stays_one_line_even_with_a_newline_in_the_file_name(tmp_path: Path) -> None:
    path = write(tmp_path, "port = 'x'\n", name="odd\nna\rme.toml")
    assert load_error(path).endswith(":1: port must be an integer, not a string")


# --- the line locator on its own -------------------------------------------------------------


def test_locate_prefers_the_right_table_over_an_earlier_mention() -> None:
    lines = [
        "allow = ['x.y']",  # the same key at the top level
        "[domains.'example.org']  # comment",
        "  allow = []",
    ]
    assert _locate(lines, ("domains", "example.org"), "allow") == 3
    assert _locate(lines, (), "allow") == 1
    assert _locate(lines, ("domains",), "example.org") == 2


@settings(max_examples=300, deadline=None, database=None)
@example(lines=['"\\q" = 1', "[a.'b'.\"\\q\"]", "x = 1"], table=["a"], key="x")  # bad escapes
@given(
    lines=st.lists(st.text(alphabet="[]{}.=\"'\\ #\nab-_", max_size=30), max_size=8),
    table=st.lists(st.text(max_size=5), max_size=3),
    key=st.text(max_size=8),
)
def test_locate_never_crashes(lines: list[str], table: list[str], key: str) -> None:
    assert 1 <= _locate(lines, tuple(table), key) <= max(1, len(lines))


def test_run_settings_of_the_newer_options(tmp_path: Path) -> None:
    anchors = tmp_path / "anchors.txt"
    anchors.write_text(
        ". IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D\n"
    )
    path = tmp_path / "policy.toml"
    path.write_text(
        'protocol = "submission"\ndeep = true\npolicy_checks = false\n'
        'dnssec = "resolver"\ntrust_anchor = "anchors.txt"\n'
    )
    settings = dict(load_config(path).settings)
    assert settings == {
        "protocol": "submission",
        "deep": True,
        "policy_checks": False,
        "dnssec": "resolver",
        "trust_anchor": anchors.resolve(),
    }
    path.write_text('dnssec = "trust-me"\n')
    with pytest.raises(ConfigError, match=r":1: .*bad dnssec 'trust-me'"):
        load_config(path)


def test_every_setting_has_one_name_on_the_command_line_in_the_file_and_in_the_settings() -> None:
    """names.py is the one table: the config file's keys, the command's parameters and the
    CheckSettings fields all follow it, so a new option cannot be wired in two of three."""
    from starttls_check.cli import config
    from starttls_check.cli.command import command
    from starttls_check.run.check import CheckSettings

    assert config._SETTINGS.keys() == SETTING_KEYS | INVOCATION_KEYS
    assert config._POLICY.keys() == POLICY_KEYS
    parameters = {p.name for p in command.params}
    assert (SETTING_KEYS | POLICY_KEYS) - parameters == set()
    fields = {f.name for f in dataclasses.fields(CheckSettings)}
    assert set(SETTING_FIELDS.values()) - fields == set()
