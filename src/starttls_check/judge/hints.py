"""Every finding code: its default severity and a concrete fix, naming the setting to change.

One table, so the CLI, JSON and documentation all say the same thing. Codes are a
contract (see CHANGELOG.md, Schema): add freely, never rename.
"""

from __future__ import annotations

from ..model.findings import Finding, Severity
from .rules import Rule, make_finding

_I, _W, _F = Severity.INFO, Severity.WARN, Severity.FAIL


CATALOGUE: dict[str, Rule] = {
    # DNS and MX (domain level)
    "dns.nxdomain": Rule(
        _F,
        "The domain does not exist in DNS: check the spelling, or register it and publish MX records.",
    ),
    "dns.servfail": Rule(
        _F,
        "The name servers failed to answer (SERVFAIL/REFUSED): check the zone is loaded and DNSSEC signatures are valid (e.g. `dig +dnssec MX domain`).",
    ),
    "dns.timeout": Rule(
        _W,
        "No name server answered in time: check the --nameserver address and port, and that DNS over UDP and TCP is reachable from here.",
    ),
    "dns.unreachable": Rule(
        _W, "The name server could not be reached: check the --nameserver address and port."
    ),
    "dns.malformed": Rule(
        _F, "The name server's answer could not be used: check the zone's records with `dig`."
    ),
    "mx.null": Rule(
        _I,
        "The domain publishes a null MX (RFC 7505) and accepts no mail; remove it and publish MX records if it should receive mail.",
    ),
    "mx.implicit": Rule(
        _I,
        "No MX record: senders fall back to the domain's own address (RFC 5321 §5.1). Publish an explicit MX record, e.g. `@ IN MX 10 mail.example.com.`",
    ),
    "mx.none": Rule(
        _F,
        "No MX record and no address for the domain: publish an MX record pointing at a host with A/AAAA records.",
    ),
    "mx.null-mixed": Rule(
        _W,
        "A null MX (`MX 0 .`) must be the only MX record (RFC 7505 §3): remove it, or remove the other MX records.",
    ),
    "mx.bad-record": Rule(_W, "Some MX records could not be used: fix or remove them."),
    "mx.cname": Rule(
        _W,
        "An MX target must be a host name with A/AAAA records, not an alias (RFC 2181 §10.3, RFC 5321 §5.1): point the MX record at the canonical name. DANE and MTA-STS checks then use the names senders expect.",
    ),
    "mx.unresolvable": Rule(
        _F, "The MX host has no A or AAAA record: publish its address or remove the MX record."
    ),
    "mx.too-many-addresses": Rule(_I, "Only the first addresses of this MX were probed."),
    # Connection and SMTP dialogue (per address)
    "connect.refused": Rule(
        _F,
        "Nothing listens on the SMTP port: start the MTA or open the port (Postfix: `inet_interfaces = all` and the smtp service in master.cf; Exim: `daemon_smtp_ports`, `local_interfaces`) and check the firewall.",
    ),
    "connect.timeout": Rule(
        _F,
        "The connection timed out: the server or a firewall drops the traffic. Outbound port 25 is blocked on many cloud and residential networks: run the check from a host that can send mail.",
    ),
    "connect.unreachable": Rule(
        _I,
        "This host has no route to the address (often: no IPv6 here); it was not tested. Run the check from a host with IPv6 to cover it.",
    ),
    "connect.error": Rule(
        _F, "The connection failed: check the address is right and the server is up."
    ),
    "smtp.no-greeting": Rule(
        _F,
        "The server accepted the connection but sent no 220 greeting in time: check the MTA is healthy and has free smtpd processes (Postfix: `default_process_limit`, `smtpd` in master.cf, `postscreen_greet_wait` if set very high; Exim: the daemon's load and `smtp_accept_queue`), and its logs.",
    ),
    "smtp.greeting-rejected": Rule(
        _F,
        "The server refused the session in its greeting (4xx/5xx): check connection limits and access rules (Postfix: `smtpd_client_restrictions`, `postscreen_access_list`; Exim: `acl_smtp_connect`).",
    ),
    "smtp.ehlo-rejected": Rule(
        _W,
        "The server rejected EHLO and only HELO worked, so no extension (STARTTLS included) can be negotiated: an old or misconfigured MTA, or SMTP inspection on a firewall that blocks EHLO. Check the MTA's ESMTP support (Exim: `acl_smtp_helo`) and any inspecting firewall on the path.",
    ),
    "smtp.ehlo-failed": Rule(
        _F,
        "The server did not complete EHLO/HELO: check `smtpd_helo_restrictions` (Postfix) or `acl_smtp_helo` (Exim) and the server's logs.",
    ),
    "smtp.protocol-error": Rule(
        _F,
        "The server sent bytes that are not valid SMTP (or a line or reply too long): check for a proxy or non-SMTP service on this port.",
    ),
    "smtp.transient": Rule(
        _I,
        "The server first answered with a temporary (4xx) reply, so the address was tried again after a pause. Frequent 4xx replies delay mail: check connection limits and load (Postfix: `smtpd_client_connection_count_limit`, `postscreen`; Exim: `smtp_accept_max_per_host`).",
    ),
    "smtp.closed": Rule(
        _F,
        "The server closed the connection mid-session: check its logs for the reason (limits, errors, crashes).",
    ),
    # STARTTLS and TLS
    "starttls.not-offered": Rule(
        _F,
        "STARTTLS is not advertised, so mail arrives in clear text: configure a certificate and enable it (Postfix: `smtpd_tls_security_level = may` with `smtpd_tls_chain_files`; Exim: `tls_advertise_hosts = *` with `tls_certificate`/`tls_privatekey`).",
    ),
    "starttls.refused": Rule(
        _F,
        "STARTTLS is advertised but refused: the server's TLS setup is broken, often an unreadable key or certificate (Postfix: `smtpd_tls_chain_files`; Exim: `tls_certificate`, `tls_privatekey`); check the server's logs.",
    ),
    "starttls.failed": Rule(
        _F,
        "The session broke down after STARTTLS was sent: check the server's TLS configuration and logs.",
    ),
    "starttls.injection": Rule(
        _F,
        "The server (or a device on the path) sent data after its 220 reply to STARTTLS, before TLS began. Such data can be injected by an attacker (CVE-2011-0411 class): upgrade the MTA, and check for SMTP inspection on a firewall.",
    ),
    "tls.handshake-failed": Rule(
        _F,
        "The TLS handshake failed, so senders fall back to clear text or give up: check the certificate and key load, and that protocols and ciphers are not over-restricted (Postfix: `smtpd_tls_protocols`, `smtpd_tls_ciphers`; Exim: `tls_require_ciphers`, `openssl_options`).",
    ),
    "tls.ehlo-failed": Rule(
        _F,
        "TLS was established but EHLO inside TLS failed: check the server's logs; mail cannot be delivered over this session.",
    ),
    "tls.below-minimum": Rule(
        _F,
        "The negotiated TLS version is below the policy's minimum (--min-tls). We offered up to TLS 1.3, so the server cannot do better: upgrade the MTA or the OpenSSL it links against, and check that nothing caps the version (Postfix: `smtpd_tls_protocols`, `smtpd_tls_mandatory_protocols`; Exim: what `exim -bP openssl_options` shows).",
    ),
    "tls.version-deprecated": Rule(
        _W,
        "Only TLS 1.0/1.1 was negotiated (deprecated, RFC 8996). We offered up to TLS 1.3, so the server does not support newer versions: upgrade the MTA or its OpenSSL, and check that nothing caps the version (Postfix: `smtpd_tls_protocols`; Exim: `openssl_options`).",
    ),
    # Capabilities before and after TLS (checks/capabilities.py)
    "starttls.stripped": Rule(
        _F,
        "Something on the path, not necessarily the MTA, stops STARTTLS (EHLO keywords masked as `XXXXXXXA`, or STARTTLS answered 500/502), so mail travels in clear text. Cisco ASA/PIX/FTD ESMTP inspection: `policy-map global_policy` → `class inspection_default` → `no inspect esmtp`, or allow TLS in its map (`policy-map type inspect esmtp NAME` → `parameters` → `allow-tls`). Check other firewalls' SMTP proxy likewise; test from another network to locate it. If the MTA itself answers 500/502, fix its TLS setup (Postfix: `smtpd_tls_security_level = may`; Exim: `tls_advertise_hosts`, `tls_certificate`).",
    ),
    "capabilities.masked": Rule(
        _I,
        "A device on the path (typically Cisco ASA/PIX/FTD ESMTP inspection, `match ehlo-reply-parameter others` → `mask`) replaced EHLO keywords with X's. STARTTLS got through and senders re-read the keywords inside TLS, but the same inspection strips STARTTLS unless `allow-tls` is set: prefer `no inspect esmtp` under `class inspection_default`.",
    ),
    "capabilities.auth-in-clear": Rule(
        _W,
        "AUTH is offered before STARTTLS, so a client may send its password in clear text: offer it only inside TLS (Postfix: `smtpd_tls_auth_only = yes`; Exim: `auth_advertise_hosts = ${if eq{$tls_in_cipher}{}{}{*}}`), and authenticate users on submission (587/465) rather than on the MX.",
    ),
    "capabilities.starttls-after-tls": Rule(
        _I,
        "STARTTLS is advertised again inside TLS, which RFC 3207 §4.2 forbids; senders ignore it, but it points at a TLS-terminating proxy whose backend still offers STARTTLS, or a broken MTA. Stop the backend offering it to the proxy (Postfix: `-o smtpd_discard_ehlo_keywords=starttls` on that service in master.cf; Exim: `tls_advertise_hosts = ! PROXY_IP : *`) or upgrade the MTA.",
    ),
    "capabilities.changed-after-tls": Rule(
        _I,
        "Senders use what is advertised inside TLS (RFC 3207 §4.2), so these differences apply to encrypted mail. If unintended, advertise the same inside TLS (Postfix: `message_size_limit`, `smtpd_discard_ehlo_keywords`, per-service `-o` overrides in master.cf; Exim: `message_size_limit`, `pipelining_advertise_hosts`, `chunking_advertise_hosts`, `smtputf8_advertise_hosts`, `accept_8bitmime`); a TLS-terminating proxy is a common cause.",
    ),
    "capabilities.requiretls": Rule(
        _I,
        "Good: REQUIRETLS (RFC 8689) lets senders demand TLS for a message all the way to its destination. Nothing to change.",
    ),
    # Certificates (per address)
    "cert.none": Rule(
        _W,
        "The server presented no usable certificate (anonymous cipher or unparseable data): configure a certificate (Postfix: `smtpd_tls_chain_files`; Exim: `tls_certificate`).",
    ),
    "cert.unparseable": Rule(
        _W,
        "The server's certificate cannot be read as X.509 (malformed or duplicate extensions, bad encodings): senders that check certificates reject it. Reissue it with current CA software.",
    ),
    "cert.self-signed": Rule(
        _W,
        "The certificate is self-signed: opportunistic senders still encrypt, but MTA-STS and PKIX-validating senders refuse it. Use a certificate from a public CA (e.g. ACME/Let's Encrypt) or publish DANE-EE TLSA records (3 1 1).",
    ),
    "cert.untrusted": Rule(
        _W,
        "The chain does not lead to a trusted root: senders that authenticate (MTA-STS) refuse it. Serve a certificate from a public CA with its intermediates (Postfix: `smtpd_tls_chain_files` with key, leaf, intermediates; Exim: `tls_certificate` holding the full chain).",
    ),
    "cert.incomplete-chain": Rule(
        _W,
        "The server does not send the intermediate certificate(s): append them to the certificate file (Postfix: `smtpd_tls_chain_files` = key, leaf, intermediates; Exim: `tls_certificate` = leaf then intermediates). Use the CA's fullchain file.",
    ),
    "cert.bad-signature": Rule(
        _W,
        "A certificate's signature does not verify against its issuer: the served chain is corrupt or mismatched; reinstall the CA's chain file.",
    ),
    "cert.expiring-soon": Rule(
        _W,
        "The certificate expires soon: renew it now and check that automatic renewal (ACME) also reloads the MTA (`postfix reload`; Exim: restart).",
    ),
    "cert.constraint-violation": Rule(
        _W,
        "An issuer on the chain does not allow this certificate (keyUsage, pathLenConstraint or nameConstraints), so validating senders reject it: get the certificate from a CA (or intermediate) allowed to issue it, and serve that CA's own chain.",
    ),
    "cert.wrong-purpose": Rule(
        _W,
        "The certificate's extendedKeyUsage does not include serverAuth, so validating senders reject it for a mail server: reissue it as a TLS server certificate (ACME certificates are).",
    ),
    "cert.expired": Rule(
        _W,
        "The certificate has expired: renew it and reload the MTA (`postfix reload`; Exim: restart), and automate renewal (ACME).",
    ),
    "cert.not-yet-valid": Rule(
        _W,
        "The certificate is not valid yet: check the server's clock and the certificate's start date.",
    ),
    "cert.name-mismatch": Rule(
        _W,
        "The certificate does not name this MX host: add the MX name to the certificate's subjectAltName, or point the MX record at a name the certificate covers (wildcards cover exactly one label).",
    ),
    "cert.weak-key": Rule(
        _W,
        "The key is too small (RSA < 2048 bits or EC < 224 bits): issue a new certificate with RSA 2048+ or ECDSA P-256.",
    ),
    "cert.sha1-signature": Rule(
        _W,
        "The certificate is signed with SHA-1 (or MD5), which senders reject: reissue it with SHA-256.",
    ),
    # Deep probes (--deep): what else the server accepts
    "tls.accepts-tls1-0": Rule(
        _W,
        "The server still accepts TLS 1.0 (deprecated, RFC 8996): disable it (Postfix: `smtpd_tls_protocols = >=TLSv1.2` and `smtpd_tls_mandatory_protocols = >=TLSv1.2`; Exim: add `+no_tlsv1 +no_tlsv1_1` to the current `openssl_options`). Very old senders then deliver in clear text, which opportunistic TLS accepts anyway.",
    ),
    "tls.accepts-tls1-1": Rule(
        _W,
        "The server still accepts TLS 1.1 (deprecated, RFC 8996): disable it (Postfix: `smtpd_tls_protocols = >=TLSv1.2`; Exim: add `+no_tlsv1_1` to the current `openssl_options`).",
    ),
    "tls.no-modern-version": Rule(
        _F,
        "The server accepts neither TLS 1.2 nor TLS 1.3: upgrade the MTA's OpenSSL and enable them (Postfix: `smtpd_tls_protocols`; Exim: `openssl_options`); modern senders may refuse the session.",
    ),
    "cipher.static-rsa": Rule(
        _W,
        "RSA key exchange gives no forward secrecy: prefer ECDHE (Postfix: `smtpd_tls_exclude_ciphers = kRSA` or `tls_medium_cipherlist` without kRSA; Exim: `tls_require_ciphers = ...:!kRSA`).",
    ),
    "cipher.3des": Rule(
        _W,
        "3DES is weak (Sweet32): exclude it (Postfix: `smtpd_tls_exclude_ciphers = 3DES`; Exim: `tls_require_ciphers = ...:!3DES`).",
    ),
    "cipher.anonymous": Rule(
        _W,
        "Anonymous ciphers authenticate nobody, so anyone on the path can intercept the session: exclude aNULL (Postfix: `smtpd_tls_exclude_ciphers = aNULL`; Exim: `tls_require_ciphers = ...:!aNULL`).",
    ),
    "cipher.null": Rule(
        _F,
        "NULL ciphers encrypt nothing: exclude eNULL (Postfix: `smtpd_tls_exclude_ciphers = eNULL`; Exim: `tls_require_ciphers = ...:!eNULL`).",
    ),
    "cipher.rc4": Rule(
        _W,
        "RC4 is broken (RFC 7465): exclude it (Postfix: `smtpd_tls_exclude_ciphers = RC4`; Exim: `tls_require_ciphers = ...:!RC4`).",
    ),
    "cipher.export": Rule(
        _F,
        "Export ciphers are trivially broken (FREAK, Logjam): exclude them and upgrade OpenSSL (Postfix: `smtpd_tls_exclude_ciphers = EXPORT`).",
    ),
    "cipher.client-order": Rule(
        _I,
        "The server follows the client's cipher order. Harmless when every enabled cipher is strong; otherwise make the server choose (Postfix: `tls_preempt_cipherlist = yes`; Exim with OpenSSL: add `+cipher_server_preference` to the current `openssl_options`).",
    ),
    "starttls.command-injection": Rule(
        _F,
        "The server executed a command sent in clear text together with STARTTLS as if it had arrived over TLS (CVE-2011-0411 class): an attacker can inject commands into the encrypted session. Upgrade the MTA; it must discard buffered input at STARTTLS (RFC 3207 §4.2).",
    ),
    "deep.untestable": Rule(
        _I,
        "This OpenSSL cannot offer these old protocols or ciphers, so whether the server accepts them was not tested; test from a host with an older OpenSSL (or `openssl s_client` built with them) if it matters.",
    ),
    # Drift against a baseline (--baseline): what changed since an earlier run
    "drift.mx-added": Rule(
        _I,
        "An MX host appeared since the baseline: if intended, make sure it has a valid certificate and is covered by any MTA-STS policy and TLSA records.",
    ),
    "drift.mx-removed": Rule(
        _I,
        "An MX host disappeared since the baseline: if intended, update the MTA-STS policy's `mx:` lines and remove its TLSA records.",
    ),
    "drift.address-added": Rule(
        _I,
        "An MX host gained an address since the baseline: check that the new server has the same TLS configuration.",
    ),
    "drift.address-removed": Rule(_I, "An MX host lost an address since the baseline."),
    "drift.starttls-lost": Rule(
        _W,
        "This address offered STARTTLS in the baseline and no longer does: check the MTA's TLS settings survived the last change (Postfix: `smtpd_tls_security_level`; Exim: `tls_advertise_hosts`).",
    ),
    "drift.tls-downgraded": Rule(
        _W,
        "The negotiated TLS version dropped since the baseline: check `smtpd_tls_protocols` (Postfix) or `openssl_options`/`tls_require_ciphers` (Exim), and the OpenSSL the MTA links against.",
    ),
    "drift.cert-changed": Rule(
        _I,
        "The certificate changed since the baseline (new fingerprint); expected after a renewal. If TLSA records pin the old key, publish the new one before switching.",
    ),
    "drift.cert-worse": Rule(
        _W,
        "The new certificate is worse than the baseline's (shorter validity, weaker key, or no longer valid): check the renewal used the right CA, key type and chain.",
    ),
}


def finding(
    code: str,
    subject: str,
    message: str,
    *,
    evidence: str | None = None,
    severity: Severity | None = None,
) -> Finding:
    """A finding for `code`, with the catalogue's severity (unless overridden) and hint."""
    return make_finding(
        code, CATALOGUE[code], subject, message, evidence=evidence, severity=severity
    )


def _collect_policy_codes() -> None:
    """The DANE, MTA-STS and mail-authentication codes live beside their checks."""
    from ..checks import mail_auth
    from ..policy import dane, mta_sts
    from . import policy_codes

    for module in (dane, mta_sts, mail_auth, policy_codes):
        CATALOGUE.update(module.CODES)


_collect_policy_codes()
