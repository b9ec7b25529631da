"""The codes checks/policies.py adds around DANE and MTA-STS, with hints and long forms."""

from __future__ import annotations

from ..model.findings import Severity
from .rules import Explanation, Rule

_DIG_TLSA = "$ dig +dnssec +multi TLSA _25._tcp.mx.example.com"
_CHECK = "$ starttls-check example.com"

CODES: dict[str, Rule] = {
    "dane.lookup-failed": Rule(
        Severity.WARN,
        "The TLSA lookup failed: check the zone serves TLSA records at _25._tcp.<mx> (and that any published record is well-formed).",
    ),
    "dane.tlsa-insecure": Rule(
        Severity.INFO,
        "TLSA records exist but the zone is not DNSSEC-signed (or its delegation has no DS), so DANE senders ignore them: sign the zone and publish its DS at the parent.",
    ),
    "dane.tlsa-bogus": Rule(
        Severity.FAIL,
        "The TLSA records fail DNSSEC validation, so DANE senders defer mail to this MX: fix the zone's signatures (re-sign, check expiry and the DS at the parent).",
    ),
    "dane.tlsa-indeterminate": Rule(
        Severity.WARN,
        "The DNSSEC status of the TLSA records could not be determined from here (no answer, or a proof this tool does not check): retry, or check with `delv`.",
    ),
    "dane.no-starttls": Rule(
        Severity.FAIL,
        "TLSA records are published but TLS could not be established: DANE senders will not deliver in clear text. Fix STARTTLS on the MX, or withdraw the TLSA records first.",
    ),
    "dane.required": Rule(
        Severity.FAIL,
        "The policy requires DANE: sign the zone with DNSSEC and publish TLSA records for every MX, e.g. `_25._tcp.mx.example.com. IN TLSA 3 1 1 <sha256 of the SPKI>`.",
    ),
    "mta-sts.required": Rule(
        Severity.FAIL,
        'The policy requires MTA-STS in enforce mode: publish `_mta-sts.example.com. IN TXT "v=STSv1; id=..."` and a policy with `mode: enforce` at https://mta-sts.example.com/.well-known/mta-sts.txt.',
    ),
}

_OPPORTUNISTIC = "Opportunistic senders are unaffected."
EXPLANATIONS: dict[str, Explanation] = {
    "dane.lookup-failed": Explanation(
        what="The TLSA question for the MX (at _25._tcp.<mx>) got no usable answer: a "
        "server failure, a timeout, or a record the resolver could not parse.",
        why="DANE senders treat a failed TLSA lookup as a reason to defer mail. " + _OPPORTUNISTIC,
        fix="Check the zone serves the TLSA owner name and that each record has the right "
        "digest length (32 bytes for SHA-256, 64 for SHA-512).",
        verify=_DIG_TLSA,
    ),
    "dane.tlsa-insecure": Explanation(
        what="TLSA records exist for the MX, but DNSSEC validation found the zone unsigned "
        "(no DS at the parent, or no signatures).",
        why="RFC 7672 §2.2: without DNSSEC, DANE senders ignore TLSA records and fall back "
        "to opportunistic TLS, so the records protect nothing.",
        fix="Sign the zone (e.g. BIND `dnssec-policy default;`, Knot `dnssec-signing: on`) "
        "and publish its DS record at the registrar.",
        verify=_DIG_TLSA + "\n$ delv TLSA _25._tcp.mx.example.com",
    ),
    "dane.tlsa-bogus": Explanation(
        what="The TLSA records should be signed but validation fails: an expired or bad "
        "signature, or no key matching the parent's DS. The message says which.",
        why="RFC 7672 §2.2: DANE senders defer mail when the TLSA answer is bogus; mail "
        "queues until it is fixed or expires.",
        fix="Re-sign the zone, check the signer's clock and key rollover, and make sure the "
        "DS at the parent matches a current key.",
        verify=_DIG_TLSA + "\n$ delv TLSA _25._tcp.mx.example.com",
    ),
    "dane.tlsa-indeterminate": Explanation(
        what="Validation could not reach a conclusion: a name server did not answer, or the "
        "zone uses a proof this tool does not check (NSEC3).",
        why="The answer a DANE sender gets may differ; nothing is known either way.",
        fix="Retry; check the zone with a validating resolver.",
        verify="$ delv TLSA _25._tcp.mx.example.com",
    ),
    "dane.no-starttls": Explanation(
        what="Secure TLSA records are published for the MX, but no TLS session could be "
        "established with this address.",
        why="RFC 7672 §2.2: a DANE sender never falls back to clear text when TLSA records "
        "exist, so it cannot deliver to this MX at all.",
        fix="Restore STARTTLS on the server (see `starttls-check --explain "
        "starttls.not-offered`), or withdraw the TLSA records before disabling TLS.",
        verify=_CHECK,
    ),
    "dane.required": Explanation(
        what="The policy (--require-dane) asks for DANE, and no MX has DNSSEC-secure TLSA records.",
        why="Without DANE (or MTA-STS), an attacker on the path can strip STARTTLS and "
        "senders deliver in clear text.",
        fix="Sign the zone with DNSSEC, publish the DS, then a TLSA record per MX:\n"
        "  _25._tcp.mx.example.com. IN TLSA 3 1 1 <sha256 of the SPKI>",
        verify=_DIG_TLSA,
    ),
    "mta-sts.required": Explanation(
        what="The policy (--require-mta-sts) asks for MTA-STS in enforce mode, and the "
        "domain has none, or one in testing or none mode.",
        why="Without MTA-STS (or DANE), an attacker on the path can strip STARTTLS.",
        fix="Publish the TXT record and the policy file, then switch mode to enforce:\n"
        '  _mta-sts.example.com. IN TXT "v=STSv1; id=20261128"\n'
        "  https://mta-sts.example.com/.well-known/mta-sts.txt:\n"
        "  version: STSv1\n  mode: enforce\n  mx: mx.example.com\n  max_age: 604800",
        verify="$ curl -s https://mta-sts.example.com/.well-known/mta-sts.txt\n" + _CHECK,
    ),
}
