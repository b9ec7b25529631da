"""Every run setting and policy key, named once.

A setting has one name wherever it is written: the command line's parameter (`--dnssec` is
`dnssec`, `--no-policy-checks` is `policy_checks`), the config file's key, and the overrides
an `Invocation` carries. `SETTING_FIELDS` maps that name to the `CheckSettings` field it
sets; policy keys are `Policy`'s own field names. tests/test_config.py checks that the
command line, the config file and these tables agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

SETTING_FIELDS: Mapping[str, str] = MappingProxyType(
    {
        "nameservers": "nameservers",
        "port": "port",
        "timeout": "timeouts",  # one number for every phase: Timeouts.per_phase
        "ehlo": "ehlo_name",
        "ca_files": "ca_files",
        "retries": "retries",
        "protocol": "protocol",
        "deep": "deep",
        "injection_probe": "injection_probe",
        "policy_checks": "policy_checks",
        "dnssec": "dnssec_mode",
        "trust_anchor": "trust_anchors",  # a file name in, its parsed anchors out
    }
)
SETTING_KEYS = frozenset(SETTING_FIELDS)  #: config file: top level only
INVOCATION_KEYS = frozenset({"advisories", "input"})  #: config, top level: what runs, how shown
POLICY_KEYS = frozenset(  #: config file: top level and each [domains."x"] table
    {
        "fail_on",
        "min_tls",
        "require_valid_cert",
        "cert_expiry_days",
        "allow",
        "require_dane",
        "require_mta_sts",
    }
)
