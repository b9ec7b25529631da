"""Postfix's TLS settings judged: what they do to mail sent (the `smtp_` client) and mail
received (the `smtpd_` server). Pure: settings and file facts in, findings out.

Only main.cf's global values are judged; `smtp_tls_policy_maps` and master.cf `-o`
overrides can change a destination or a port, which the messages say where it matters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from ..model.catalogue import finding
from ..model.findings import Finding, Severity
from ..model.sending import PemFileFacts, PostfixReport, PostfixSettings
from .outcome import verdict_of
from .postfix_certificates import certificate_findings, same_slot_findings, unreadable

PROTOCOLS = ("SSLv2", "SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
CLIENT_LEVELS = ("none", "may", "encrypt", "dane", "dane-only", "fingerprint", "verify", "secure")
MANDATORY = frozenset({"encrypt", "dane-only", "fingerprint", "verify", "secure"})
WEAK_GRADES = frozenset({"export", "low", "null"})
CERT_SETTINGS = ("smtpd_tls_chain_files", "smtpd_tls_cert_file", "smtpd_tls_eccert_file")
# The settings `smtpd_tls_chain_files` overrides, each certificate with its key.
LEGACY_PAIRS = (
    ("smtpd_tls_cert_file", "smtpd_tls_key_file"),
    ("smtpd_tls_eccert_file", "smtpd_tls_eckey_file"),
    ("smtpd_tls_dcert_file", "smtpd_tls_dkey_file"),
)


def allowed_protocols(expression: str) -> tuple[str, ...]:
    """The protocols a Postfix protocol setting enables, as Postfix reads it (tls_misc.c,
    `tls_protocol_mask`): words separated by commas, colons or white space, names in any
    case; `>=TLSv1.2` and `<=TLSv1.3` bound the range (Postfix 3.6 and later); `!SSLv3`
    excludes; plain names are an inclusion list (the older syntax), so `SSLv3, TLSv1`
    enables those two and nothing newer; without plain names, all but the excluded."""
    by_name = {p.lower(): p for p in PROTOCOLS}
    words = expression.replace(",", " ").replace(":", " ").lower().split()
    named = {by_name[w] for w in words if w in by_name}
    allowed = named or set(PROTOCOLS)
    for word in words:
        bound = by_name.get(word.lstrip("!<>="))
        if bound is None:
            continue
        if word.startswith("!"):
            allowed.discard(bound)
        elif word.startswith(">="):
            allowed -= set(PROTOCOLS[: PROTOCOLS.index(bound)])
        elif word.startswith("<="):
            allowed -= set(PROTOCOLS[PROTOCOLS.index(bound) + 1 :])
    return tuple(p for p in PROTOCOLS if p in allowed)


def client_level(values: Mapping[str, str]) -> str:
    """`smtp_tls_security_level`, or what the obsolete `smtp_enforce_tls`/`smtp_use_tls`
    imply when it is empty."""
    level = values["smtp_tls_security_level"].strip().lower()
    if level:
        return level
    if values["smtp_enforce_tls"].lower() == "yes":
        return "encrypt"
    return "may" if values["smtp_use_tls"].lower() == "yes" else "none"


def server_level(values: Mapping[str, str]) -> str:
    level = values["smtpd_tls_security_level"].strip().lower()
    if level:
        return level
    if values["smtpd_enforce_tls"].lower() == "yes":
        return "encrypt"
    return "may" if values["smtpd_use_tls"].lower() == "yes" else "none"


def describe_level(values: Mapping[str, str], side: str, level: str) -> str:
    """How a message names the effective level: the setting's value, or that it is not set
    and what Postfix makes of that (the table shows the empty value as not set too)."""
    setting = f"{side}_tls_security_level"
    if values[setting].strip():
        return f"{setting} = {level}"
    for obsolete in (f"{side}_enforce_tls", f"{side}_use_tls"):
        if values[obsolete].lower() == "yes":
            return f"{setting} is not set, and the obsolete {obsolete} = yes makes it {level}"
    return f"{setting} is not set: Postfix's default is {level}"


def sending_findings(values: Mapping[str, str], files: Mapping[str, PemFileFacts]) -> list[Finding]:
    level = client_level(values)
    maps = values["smtp_tls_policy_maps"]
    where = " (smtp_tls_policy_maps may set other levels per destination)" if maps else ""
    level_text = f"{describe_level(values, 'smtp', level)}{where}"
    found: list[Finding] = []
    if level == "none":
        found.append(finding("postfix.smtp-tls-off", "smtp_tls_security_level", level_text))
    elif level in ("may", "encrypt"):
        found.append(finding("postfix.smtp-unauthenticated", "smtp_tls_security_level", level_text))
    if level == "encrypt" or level in ("verify", "secure", "fingerprint", "dane-only"):
        found.append(
            finding("postfix.smtp-mandatory-everywhere", "smtp_tls_security_level", level_text)
        )
    if level.startswith("dane") and values["smtp_dns_support_level"].lower() != "dnssec":
        dns = values["smtp_dns_support_level"]
        dns_text = f"smtp_dns_support_level = {dns}" if dns else "smtp_dns_support_level is not set"
        found.append(
            finding(
                "postfix.dane-without-dnssec", "smtp_dns_support_level", f"{level_text}, {dns_text}"
            )
        )
    if level in ("verify", "secure"):
        found += _ca_findings(values, files)
    elif "smtp_tls_CAfile" in files and not _ca_usable(files["smtp_tls_CAfile"]):
        found.append(unreadable("smtp_tls_CAfile", files["smtp_tls_CAfile"]))
    if values["smtp_tls_loglevel"].strip() in ("", "0"):
        found.append(finding("postfix.loglevel-zero", "smtp_tls_loglevel", "smtp_tls_loglevel = 0"))
    found += _protocol_findings(values, "smtp", mandatory=level in MANDATORY)
    return found


def _ca_usable(facts: PemFileFacts) -> bool:
    return facts.readable and bool(facts.certificates or facts.setting.endswith("CApath"))


def _ca_findings(values: Mapping[str, str], files: Mapping[str, PemFileFacts]) -> list[Finding]:
    named = [files[s] for s in ("smtp_tls_CAfile", "smtp_tls_CApath") if s in files]
    bad = [f for f in named if not _ca_usable(f)]
    found = [unreadable(f.setting, f) for f in bad]
    if len(bad) == len(named) and values["tls_append_default_CA"].lower() != "yes":
        found.append(
            finding(
                "postfix.smtp-no-ca",
                "smtp_tls_CAfile",
                "verification needs trust anchors, and none are usable",
            )
        )
    return found


def _protocol_findings(values: Mapping[str, str], side: str, *, mandatory: bool) -> list[Finding]:
    found: list[Finding] = []
    for setting in (f"{side}_tls_protocols", f"{side}_tls_mandatory_protocols"):
        enabled = allowed_protocols(values[setting])
        in_effect = mandatory or not setting.endswith("mandatory_protocols")
        text = f"{setting} = {values[setting]} enables {', '.join(enabled) or 'no protocol'}"
        below = [p for p in enabled if PROTOCOLS.index(p) < PROTOCOLS.index("TLSv1.2")]
        # Opportunistic TLS 1.0 still beats the clear text a failed handshake falls back
        # to: only SSL is flagged there; in effect for mandatory TLS, anything below 1.2.
        flagged = below if mandatory and setting.endswith("mandatory_protocols") else []
        if flagged or any(p.startswith("SSL") for p in enabled):
            found.append(
                finding(
                    "postfix.protocols-old", setting, f"{text}: {', '.join(below)} below TLS 1.2"
                )
            )
        if not {"TLSv1.2", "TLSv1.3"} & set(enabled):
            # A setting that no session uses (mandatory TLS is not in effect) is a warning:
            # smtp_tls_policy_maps or a master.cf override may still select it.
            found.append(
                finding(
                    "postfix.protocols-no-modern",
                    setting,
                    f"{text}: neither TLS 1.2 nor TLS 1.3",
                    severity=None if in_effect else Severity.WARN,
                )
            )
    found.extend(
        finding("postfix.ciphers-weak", setting, f"{setting} = {values[setting]}")
        for setting in (f"{side}_tls_ciphers", f"{side}_tls_mandatory_ciphers")
        if values[setting].strip().lower() in WEAK_GRADES
    )
    return found


def receiving_findings(
    values: Mapping[str, str], certs: Sequence[PemFileFacts], now: datetime
) -> list[Finding]:
    level = server_level(values)
    text = describe_level(values, "smtpd", level)
    found: list[Finding] = []
    if level == "none":
        return [finding("postfix.smtpd-tls-off", "smtpd_tls_security_level", text)]
    if level == "encrypt":
        found.append(finding("postfix.smtpd-encrypt", "smtpd_tls_security_level", text))
    if not certs:
        found.append(
            finding(
                "postfix.smtpd-no-certificate",
                "smtpd_tls_chain_files",
                f"{text}, but no certificate is configured",
            )
        )
    found += _legacy_ignored(values)
    for facts in certs:
        found += certificate_findings(facts, now)
    found += same_slot_findings(certs)
    if values["smtpd_tls_received_header"].lower() != "yes":
        found.append(
            finding(
                "postfix.no-received-header",
                "smtpd_tls_received_header",
                "smtpd_tls_received_header = no",
            )
        )
    found += _protocol_findings(values, "smtpd", mandatory=level == "encrypt")
    return found


def _legacy_ignored(values: Mapping[str, str]) -> list[Finding]:
    """With `smtpd_tls_chain_files` set, Postfix loads no legacy certificate or key
    ("The chain_files parameter overrides all the legacy parameters", tls_certkey.c): the
    ones still set are named so they can go. A key that only repeats its certificate's
    value is Postfix's default (`smtpd_tls_key_file = $smtpd_tls_cert_file`)."""
    if not values["smtpd_tls_chain_files"].strip():
        return []
    ignored = [
        f"{name} = {values[name]}"
        for cert, key in LEGACY_PAIRS
        for name in (cert, key)
        if values[name].strip() and (name == cert or values[key] != values[cert])
    ]
    if not ignored:
        return []
    message = f"smtpd_tls_chain_files is set, so Postfix ignores {'; '.join(ignored)}"
    first = ignored[0].partition(" = ")[0]  # the subject: a setting that is in fact set
    return [finding("postfix.legacy-cert-ignored", first, message)]


def judge_postfix(settings: PostfixSettings, now: datetime) -> PostfixReport:
    """The report: sending findings, then receiving findings."""
    values = dict(settings.values)
    files = {f.setting: f for f in settings.files if f.setting not in CERT_SETTINGS}
    certs = [f for f in settings.files if f.setting in CERT_SETTINGS]
    found = sending_findings(values, files) + receiving_findings(values, certs, now)
    return PostfixReport(settings=settings, findings=tuple(found), verdict=verdict_of(found))
