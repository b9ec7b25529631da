"""`--explain CODE`: the long form of every finding code, written for mail administrators.

`hints.CATALOGUE` holds each code's default severity and one-line hint; this module holds
what the finding means, why it matters for delivery, how to fix it (Postfix and Exim
settings, or the DNS record to publish) and how to check the fix. The two key sets are
equal, and a test keeps them so. Examples use example.com for the domain and
mx.example.com for an MX host.

Text conventions: paragraphs are separated by a newline and wrapped when rendered; a line
starting with `$ ` (a command) or with two spaces (a configuration line, or a command's
continuation) is printed as written.
"""

from __future__ import annotations

import difflib
import re
import textwrap

from .hints import CATALOGUE
from .rules import Explanation

WIDTH = 88
_INDENT = "  "
_KEEP = "\u00a0"  # not whitespace to textwrap


# Fragments used by several explanations.
_CHECK = "$ starttls-check --transcript example.com"
_S_CLIENT = (
    "$ openssl s_client -starttls smtp -connect mx.example.com:25 \\\n"
    "    -servername mx.example.com -verify_hostname mx.example.com \\\n"
    "    -verify_return_error </dev/null"
)
_FINGER = (
    "$ posttls-finger -c -l verify -P /etc/ssl/certs example.com\n"
    "(`-l verify` checks each MX certificate against the MX host name, as MTA-STS does; "
    "`-l secure` would match the domain name instead.)"
)
_S_CLIENT_CHAIN = (
    "$ openssl s_client -starttls smtp -connect mx.example.com:25 \\\n"
    "    -servername mx.example.com -showcerts </dev/null"
)
_SHOW_CERT = (
    "$ openssl s_client -starttls smtp -connect mx.example.com:25 \\\n"
    "    -servername mx.example.com </dev/null 2>/dev/null \\\n"
    "    | openssl x509 -noout -subject -issuer -dates -ext subjectAltName"
)
_OPPORTUNISTIC = (
    "Most senders use opportunistic TLS (Postfix `smtp_tls_security_level = may`, Exim's "
    "default): they encrypt when STARTTLS works and do not insist on a valid certificate, "
    "so they still deliver, encrypted."
)
_AUTHENTICATING = (
    "Senders that authenticate the MX refuse the certificate: those applying your MTA-STS "
    "policy in enforce mode (RFC 8461 §4.2 requires a chain to a trusted root, no expiry and "
    "the MX host name in subjectAltName) and any sender configured to verify your domain. "
    "They defer the mail and bounce it when their queue lifetime runs out (Postfix "
    "`maximal_queue_lifetime`, 5 days by default)."
)
_DANE_EE = (
    "DANE senders with a matching DANE-EE TLSA record (usage 3) do not check names or "
    "dates (RFC 7671 §5.1), so a `3 1 1` record is an alternative for a domain whose zone "
    "is DNSSEC-signed."
)
_CHAIN_FILES = (
    "Postfix (3.4 and later; before, `smtpd_tls_cert_file` with the leaf then the "
    "intermediates, and `smtpd_tls_key_file`), in main.cf:\n"
    "  smtpd_tls_chain_files =\n"
    "      /etc/letsencrypt/live/mx.example.com/privkey.pem,\n"
    "      /etc/letsencrypt/live/mx.example.com/fullchain.pem\n"
    "Exim, in the main section:\n"
    "  tls_certificate = /etc/letsencrypt/live/mx.example.com/fullchain.pem\n"
    "  tls_privatekey = /etc/letsencrypt/live/mx.example.com/privkey.pem"
)
_RELOAD = (
    "After installing: `postfix reload` (new smtpd processes read the files), or restart "
    "Exim (e.g. `systemctl restart exim4` on Debian). An ACME client must do the same "
    "after each renewal, e.g. certbot's `--deploy-hook 'postfix reload'`."
)
_DNS_VERIFY = "$ dig MX example.com\n$ dig +short NS example.com"
_SERVER_LOGS = (
    "The server's own log says why: Postfix logs to the mail log (`journalctl -u postfix` "
    "or /var/log/mail.log, more detail with `smtpd_tls_loglevel = 1`), Exim to its mainlog "
    "and paniclog (/var/log/exim4/ on Debian)."
)
_QUEUE = (
    "Senders then try the next MX; when every MX fails they keep the message queued and "
    "retry, so mail is delayed and bounces after the sender's queue lifetime (Postfix "
    "`maximal_queue_lifetime`, 5 days by default; Exim's retry rules)."
)
_BASELINE = (
    "$ starttls-check --baseline baseline.json example.com\n"
    "Once fixed, the finding goes away. After an intended change, save a new baseline:\n"
    "$ starttls-check --format json example.com > baseline.json"
)
_MTA_STS_POLICY = (
    "If the domain publishes MTA-STS, the policy at "
    "https://mta-sts.example.com/.well-known/mta-sts.txt must list every MX host (`mx:` "
    "lines, wildcards allowed), and after any change to the policy the `id=` in the "
    "`_mta-sts.example.com` TXT record must change too, or senders keep their cached copy "
    "(RFC 8461 §3.1)."
)

EXPLANATIONS: dict[str, Explanation] = {
    "dns.nxdomain": Explanation(
        what="The domain's name servers answered NXDOMAIN: the name does not exist in DNS.",
        why="No sender can find where to deliver: mail to any address at this domain "
        "bounces at once with a permanent error ('Host or domain name not found').",
        fix="Check the spelling (and that an internationalised name was entered as "
        "intended). If the domain is yours, make sure it is registered, delegated to the "
        "right name servers at the registrar, and that the zone contains the MX records.",
        verify="$ dig MX example.com\nExpect `status: NOERROR` and an ANSWER section.\n"
        "$ whois example.com\n" + _CHECK,
    ),
    "dns.servfail": Explanation(
        what="The name servers answered SERVFAIL or REFUSED to the MX question: they "
        "could not, or would not, answer. Common causes are a DNSSEC failure (expired "
        "signatures, a DS record at the parent that no longer matches a key), a zone that "
        "failed to load, or a lame delegation (servers that are not authoritative).",
        why="Senders treat SERVFAIL as temporary: they keep the mail queued and retry, so "
        "delivery is delayed for as long as the fault lasts, and messages bounce when the "
        "sender's queue lifetime runs out.",
        fix="Ask each authoritative server directly. If `dig +cd` (checking disabled) "
        "answers while plain `dig` fails, the fault is DNSSEC: re-sign the zone or fix the "
        "DS record at the registrar. Otherwise check the zone loads on every server (BIND: "
        "`named-checkzone`; see the server's log).",
        verify="$ dig MX example.com\n$ dig +cd MX example.com\n$ delv MX example.com\n"
        "$ dig @ns1.example.com MX example.com +norec\n(for each name server listed by NS)\n"
        + _CHECK,
    ),
    "dns.timeout": Explanation(
        what="No name server answered the question in time. On the domain level this is "
        "the MX lookup; on an MX host it is its A or AAAA lookup.",
        why="If the name servers really are unreachable, senders queue the mail and retry "
        "until their queue lifetime runs out. If only this checking host cannot reach DNS "
        "(a firewall, a wrong --nameserver), the result says nothing about the domain: "
        "the report is inconclusive rather than failed.",
        fix="Check that the --nameserver addresses are right and reachable from here, "
        "over UDP and TCP port 53. If the domain's own servers do not answer from anywhere, "
        "check they are running and that their firewalls allow port 53 (UDP and TCP).",
        verify=_DNS_VERIFY + "\n$ dig @ns1.example.com MX example.com +norec +tcp\n" + _CHECK,
    ),
    "dns.unreachable": Explanation(
        what="No name server could be reached at all: the connection was refused or "
        "there was no route to it.",
        why="Until DNS answers, nothing about the domain can be checked from here. If the "
        "domain's servers are down for everyone, senders queue the mail and retry.",
        fix="Check the --nameserver address and port, and that this host has a route to "
        "it (IPv6 name servers need IPv6 here). Without --nameserver, check the system's "
        "resolver works.",
        verify="$ dig @192.0.2.53 -p 53 MX example.com\n"
        "(with the address and port given to --nameserver)\n" + _CHECK,
    ),
    "dns.malformed": Explanation(
        what="An answer arrived but could not be used: a record that does not parse, or "
        "an answer of the wrong shape.",
        why="Senders' resolvers may fail the same way; delivery then fails or is delayed "
        "in ways that differ from one sender to the next.",
        fix="Look at the records as served and correct the zone; an MX record's data is a "
        "preference (0-65535) and a host name ending in a dot, e.g. "
        "`example.com. IN MX 10 mx.example.com.`",
        verify=_DNS_VERIFY + "\n" + _CHECK,
    ),
    "mx.null": Explanation(
        what="The domain publishes the null MX, a single `MX 0 .` record (RFC 7505): it "
        "declares that it accepts no mail. There is nothing to check.",
        why="Senders bounce mail to this domain at once instead of queueing it, which is "
        "right for a domain that sends or receives no mail, and wrong otherwise.",
        fix="If the domain should receive mail, replace the null MX with real MX records:\n"
        "  example.com. IN MX 10 mx.example.com.",
        verify="$ dig +short MX example.com\n" + _CHECK,
    ),
    "mx.implicit": Explanation(
        what="The domain has no MX record, but has an address (A/AAAA) of its own. RFC "
        "5321 §5.1 lets senders deliver to that address as an 'implicit MX'; it was "
        "checked as the domain's only mail server.",
        why="Delivery works with most senders, but this is a fallback: the mail server is "
        "tied to the web server's address, and policies name MX hosts (MTA-STS `mx:` "
        "lines, DANE TLSA records at `_25._tcp.<mx>`).",
        fix="Publish an explicit MX record for the host that should receive the mail:\n"
        "  example.com. IN MX 10 mx.example.com.\n"
        "If the domain should receive no mail, publish the null MX `example.com. IN MX 0 .` "
        "(RFC 7505) instead.",
        verify="$ dig +short MX example.com\n" + _CHECK,
    ),
    "mx.none": Explanation(
        what="The domain exists but has neither an MX record nor an address of its own.",
        why="There is nowhere to deliver to: mail to this domain bounces.",
        fix="Publish an MX record pointing at a host with A/AAAA records:\n"
        "  example.com. IN MX 10 mx.example.com.\n"
        "If the domain should never receive mail, publish the null MX "
        "`example.com. IN MX 0 .` so senders bounce at once and say why.",
        verify="$ dig +short MX example.com\n$ dig +short A mx.example.com\n" + _CHECK,
    ),
    "mx.null-mixed": Explanation(
        what="A null MX (`MX 0 .`) is published next to other MX records. RFC 7505 §3 "
        "says the null MX must be the only MX record; here it was ignored and the other "
        "MX hosts were checked.",
        why="Senders handle the mixture differently: some skip the null MX and deliver to "
        "the others, some may treat the domain as accepting no mail. The record says two "
        "contradictory things.",
        fix="Decide: if the domain receives mail, delete the `MX 0 .` record; if it does "
        "not, delete every other MX record.",
        verify="$ dig +short MX example.com\n" + _CHECK,
    ),
    "mx.bad-record": Explanation(
        what="Some MX records were not used: their data did not parse as a preference and "
        "a host name, or there were more MX hosts than are probed (16), in which case the "
        "extra ones are listed as not probed.",
        why="Senders skip records they cannot use, so a mistyped record is a mail server "
        "that never receives mail; if it was meant to be the primary, delivery depends on "
        "the others.",
        fix="Correct or delete the records listed in the finding. An MX record is a "
        "preference and a host name with a final dot: `example.com. IN MX 10 "
        "mx.example.com.` (not an IP address, not a URL).",
        verify="$ dig MX example.com\n" + _CHECK,
    ),
    "mx.cname": Explanation(
        what="An MX record names an alias (CNAME) rather than the host's canonical name. "
        "RFC 2181 §10.3 and RFC 5321 §5.1 say an MX must point at a name with address "
        "records of its own.",
        why="Most senders follow the alias and deliver, but which name a sender then "
        "authenticates differs: DANE looks up TLSA records for the alias or its target "
        "(RFC 7672), and MTA-STS matches the MX name as published. A certificate "
        "and policy that fit one name can fail for the other.",
        fix="Point the MX record at the canonical name the CNAME leads to, and make sure "
        "the certificate, the MTA-STS `mx:` lines and any TLSA records use that name.",
        verify="$ dig +short MX example.com\n$ dig mx.example.com A\n"
        "The answer should hold no CNAME.\n" + _CHECK,
    ),
    "mx.unresolvable": Explanation(
        what="An MX host name has no A or AAAA record (the name does not exist, or has no "
        "address).",
        why="Senders skip this MX. If it is the only one, or all are like it, no mail can "
        "be delivered; if others work, this one is dead weight that can also hide a typo in "
        "the intended primary.",
        fix="Publish the host's addresses (`mx.example.com. IN A 192.0.2.25`, and AAAA if it "
        "has IPv6), or correct or remove the MX record.",
        verify="$ dig +short A mx.example.com\n$ dig +short AAAA mx.example.com\n" + _CHECK,
    ),
    "mx.too-many-addresses": Explanation(
        what="The MX host has more addresses than are probed (8); the first ones were "
        "checked, the rest were not.",
        why="Nothing is wrong as such, but the report covers only part of this host: an "
        "unchecked address with a broken TLS setup would go unnoticed.",
        fix="Nothing to fix. To cover the rest, check the addresses from a host or network "
        "where they come first, or make sure all servers behind the name share one "
        "configuration.",
        verify="$ dig +short A mx.example.com\n$ dig +short AAAA mx.example.com",
    ),
    "connect.refused": Explanation(
        what="The address refused the TCP connection: nothing listens on the SMTP port, or "
        "a firewall rejects the connection.",
        why=_QUEUE,
        fix="Start the MTA and make it listen on the public addresses. Postfix: "
        "`inet_interfaces = all` (RHEL-family packages default to `localhost`) and "
        "`inet_protocols = all` for IPv6, with the `smtp inet ... smtpd` (or `postscreen`) "
        "line enabled in master.cf. Exim: `daemon_smtp_ports = 25` and `local_interfaces` "
        "(Debian's exim4 listens on 127.0.0.1 and ::1 only until `dc_local_interfaces` is "
        "changed in update-exim4.conf.conf). Then open port 25 in the host and network "
        "firewalls.",
        verify="On the server, the listener should be on the public address (or *):\n"
        "$ ss -ltn 'sport = :25'\nFrom outside:\n$ nc -vz mx.example.com 25\n" + _CHECK,
    ),
    "connect.timeout": Explanation(
        what="The TCP connection attempt got no answer in time: packets were dropped, by a "
        "firewall on the way or at the server, or the host is down.",
        why="Many cloud and home networks block outgoing port 25: from such a network "
        "this finding says nothing about the server. If the server is unreachable for "
        "everyone: " + _QUEUE,
        fix="First run the check from a host that can send mail (outgoing port 25 open). "
        "If it still times out, check that the server is up and that port 25 is allowed in "
        "its firewall and any security group or network ACL in front of it.",
        verify="$ nc -vz -w 10 mx.example.com 25\n" + _CHECK,
    ),
    "connect.unreachable": Explanation(
        what="This checking host has no route to the address, most often because it has "
        "no IPv6 connectivity and the MX has an AAAA record. The address was not tested.",
        why="Nothing is known about this address. Senders with IPv6 will use it, so a "
        "broken IPv6 setup at the MX (wrong AAAA record, no listener on IPv6) would delay "
        "their mail without showing up here.",
        fix="Run the check from a host with IPv6 (and IPv4) connectivity. If the AAAA record "
        "is not meant to receive mail, remove it.",
        verify="$ ping -6 -c 3 mx.example.com\n$ nc -6 -vz mx.example.com 25\n" + _CHECK,
    ),
    "connect.error": Explanation(
        what="The connection failed for a reason other than refusal, timeout or no route "
        "(the message has the operating system's error).",
        why=_QUEUE,
        fix="Check the address in DNS is the server's, that the server is up and that "
        "nothing between here and there interferes (firewall, NAT, load balancer).",
        verify="$ nc -vz mx.example.com 25\n" + _CHECK,
    ),
    "smtp.no-greeting": Explanation(
        what="The TCP connection was accepted, but no `220` greeting arrived within the "
        "timeout (--timeout, 15 s by default). Causes: every smtpd process busy "
        "(connections wait in the kernel's backlog), a load balancer whose back end is "
        "down, a server that expects a PROXY protocol header first, or a deliberate "
        "greeting delay (tarpit).",
        why="RFC 5321 §4.5.3.2.1 lets senders wait 5 minutes for the greeting, and many give "
        "up sooner; each failed attempt delays the mail, and a server that never greets "
        "receives nothing. Postfix's postscreen pauses a few seconds in the middle of its "
        "greeting (`postscreen_greet_wait`); that is normal.",
        fix="Postfix: check the process limits (`default_process_limit`, the maxproc column "
        "of the `smtp inet` line in master.cf) and that "
        "`postscreen_upstream_proxy_protocol`/`smtpd_upstream_proxy_protocol` are set only "
        "where a proxy (HAProxy) really sends the header. Exim: `hosts_proxy`, and any "
        "`delay =` in `acl_smtp_connect`. Both usually look up the client's name before "
        "greeting, so "
        "a slow resolver on the server delays the greeting too. Check a load balancer's "
        "health checks.",
        verify="A longer timeout tells a slow greeting from none:\n"
        "$ starttls-check --timeout 60 --transcript example.com\n"
        "$ nc mx.example.com 25\nA `220` line should appear within seconds.",
    ),
    "smtp.greeting-rejected": Explanation(
        what="The server's greeting was not `220`: a 4xx (e.g. `421` too many connections, "
        "try later) or 5xx (`554` no SMTP service here) that refuses the session before it "
        "starts. The rejection may be aimed at this checking host: its address on a "
        "blocklist or in a residential range.",
        why="A 4xx greeting makes senders retry later: mail is delayed. A 5xx greeting "
        "makes them bounce. If only some clients are refused (by reputation), the result "
        "for real senders may differ from this check.",
        fix="Read the greeting text: it usually names the reason. Postfix: check "
        "`smtpd_client_restrictions`, `postscreen_access_list`, `postscreen_dnsbl_sites` and "
        "connection limits (`smtpd_client_connection_count_limit`). Exim: `acl_smtp_connect`, "
        "`smtp_accept_max`, `smtp_accept_max_per_host`. If the refusal is aimed at this "
        "checking host, run the check from a host with a mail server's reputation.",
        verify=_CHECK + "\nThe transcript shows the whole greeting.",
    ),
    "smtp.ehlo-rejected": Explanation(
        what="The server refused EHLO, and the session continued with the old HELO, which "
        "carries no extensions. Without ESMTP there is no STARTTLS. Typical causes: a very "
        "old MTA, or a firewall doing SMTP inspection that only lets RFC 821 commands "
        "through (Cisco PIX/ASA `fixup smtp`/`inspect esmtp`).",
        why="No sender can use STARTTLS here, so all mail arrives in clear text; other "
        "extensions (SIZE, 8BITMIME, PIPELINING) are lost as well.",
        fix="Look at the EHLO reply in the transcript. Switch off SMTP inspection on a "
        "firewall in front of the server (or allow ESMTP and STARTTLS through it). Exim: "
        "make sure `acl_smtp_helo` does not deny EHLO. Postfix accepts EHLO unless "
        "`smtpd_helo_restrictions` reject the name with `smtpd_delay_reject = no`, so behind "
        "Postfix a refused EHLO is usually the device's doing.",
        verify=_CHECK + "\nExpect `250` lines after EHLO, one of them STARTTLS.",
    ),
    "smtp.ehlo-failed": Explanation(
        what="The server did not complete EHLO (and HELO, if tried): it refused the name "
        "we sent, or the session ended there. Servers may refuse a HELO name that is not a "
        "fully-qualified name or does not resolve.",
        why="If real senders' names are refused the same way, they cannot deliver; if only "
        "this check's EHLO name is refused, the result is about the check, not the server.",
        fix="Re-run with a real, resolvable name for this host: `--ehlo host.example.net`. "
        "If senders are refused too, relax the checks: Postfix `smtpd_helo_restrictions` "
        "(`reject_non_fqdn_helo_hostname`, `reject_unknown_helo_hostname`), Exim "
        "`acl_smtp_helo` (`verify = helo`).",
        verify="$ starttls-check --ehlo host.example.net --transcript example.com",
    ),
    "smtp.protocol-error": Explanation(
        what="The server sent bytes that are not valid SMTP: a reply without a three-digit "
        "code, a line or reply longer than allowed, or another protocol entirely. A "
        "firewall's SMTP inspection that rewrites replies (a greeting of asterisks, "
        "`220 ****`) causes it too.",
        why="Senders cannot parse the replies either: delivery fails or is deferred, and "
        "STARTTLS is unlikely to be negotiated.",
        fix="Check what listens on port 25 (`ss -ltnp 'sport = :25'` on the server) and "
        "whether a proxy or firewall in front of it rewrites SMTP; switch SMTP inspection "
        "off.",
        verify=_CHECK + "\n$ nc mx.example.com 25",
    ),
    "smtp.transient": Explanation(
        what="The first attempt ended in a temporary (4xx) reply: `421` to the greeting, "
        "or 4xx to EHLO or STARTTLS (`454` TLS not available). The address was tried again "
        "after a pause (--retries); the final result is reported.",
        why="Senders react to 4xx the same way: they queue the mail and retry, typically "
        "minutes later (Postfix `minimal_backoff_time`, Exim retry rules). Occasional 4xx "
        "under load is harmless; frequent ones delay mail noticeably.",
        fix="Find the limit being hit: Postfix `smtpd_client_connection_count_limit`, "
        "`smtpd_client_connection_rate_limit`, process limits and postscreen; Exim "
        "`smtp_accept_max`, `smtp_accept_max_per_host`, `smtp_load_reserve`. A `454` to "
        "STARTTLS usually means the certificate or key could not be loaded: see the "
        "server's log.",
        verify="$ starttls-check --retries 2 --transcript example.com",
    ),
    "smtp.closed": Explanation(
        what="The server closed or reset the connection in the middle of the session, "
        "without a reply explaining why.",
        why="Senders treat a dropped connection as a temporary failure: they retry later, "
        "so mail is delayed, and never delivered if it keeps happening.",
        fix=_SERVER_LOGS + " Look for crashes, resource limits and rate limits; a firewall "
        "or load balancer with a short idle timeout can cut sessions too.",
        verify=_CHECK,
    ),
    "starttls.not-offered": Explanation(
        what="The server's EHLO reply does not list STARTTLS, so no sender can start TLS: "
        "every message arrives in clear text.",
        why="Mail and its headers can be read and altered by anyone on the path. Senders "
        "applying your MTA-STS policy or DANE records refuse to deliver at all, and mail "
        "providers may flag or rank down mail that came over an unencrypted hop.",
        fix="Install a certificate and advertise STARTTLS. Postfix (main.cf):\n"
        "  smtpd_tls_security_level = may\n"
        "  smtpd_tls_chain_files = /etc/postfix/key.pem, /etc/postfix/fullchain.pem\n"
        "and make sure `smtpd_discard_ehlo_keywords` does not list `starttls`. Use `may`, "
        "not `encrypt`, on a public MX (RFC 3207 §4). Exim (main section):\n"
        "  tls_advertise_hosts = *\n"
        "  tls_certificate = /etc/exim4/fullchain.pem\n"
        "  tls_privatekey = /etc/exim4/key.pem\n"
        "(Debian's packaged configuration: `MAIN_TLS_ENABLE = yes` in "
        "/etc/exim4/exim4.conf.localmacros.) A firewall's SMTP inspection can also hide "
        "STARTTLS (Cisco ASA shows it as `XXXXXXXA`): allow it through or switch "
        "inspection off.",
        verify=_CHECK
        + "\nSTARTTLS should be among the `250` lines after EHLO. The settings in effect:\n"
        "$ postconf smtpd_tls_security_level smtpd_tls_chain_files\n"
        "$ exim -bP tls_advertise_hosts tls_certificate",
    ),
    "starttls.refused": Explanation(
        what="STARTTLS is advertised, but the server answered the STARTTLS command with an "
        "error, typically `454 4.7.0 TLS not available due to local problem`: the MTA "
        "could not load its certificate or key.",
        why="Senders fall back to clear text (most) or defer (those that require TLS, "
        "MTA-STS and DANE senders), so mail arrives unencrypted or late.",
        fix=_SERVER_LOGS + " Typical causes: a certificate or key file that is missing, "
        "unreadable by the MTA's user, or not matching (key and certificate from different "
        "renewals). Postfix reads `smtpd_tls_chain_files` (or `smtpd_tls_cert_file`/"
        "`smtpd_tls_key_file`), Exim `tls_certificate`/`tls_privatekey`.",
        verify=_CHECK + "\n$ postfix check\n" + _S_CLIENT,
    ),
    "starttls.failed": Explanation(
        what="The session broke down after the STARTTLS command was sent: no reply came, "
        "or the connection closed before the TLS handshake began.",
        why="Senders cannot start TLS; depending on the sender they retry in clear text "
        "or defer the mail, so it arrives unencrypted or late.",
        fix=_SERVER_LOGS + " A crash of the smtpd process at STARTTLS, or a middlebox "
        "that drops the session when it sees STARTTLS, are the usual causes.",
        verify=_CHECK + "\n" + _S_CLIENT,
    ),
    "starttls.injection": Explanation(
        what="After the server's `220` reply to STARTTLS, more bytes arrived in clear text "
        "before the TLS handshake. They were recorded as evidence and discarded (RFC 3207 "
        "§4.2: nothing from before TLS may be trusted after it). Either the server or a "
        "device on the path sent them; the transcript shows them.",
        why="A sender that buffers such bytes and reads them after the handshake believes "
        "they came over TLS: an attacker on the path can use that to forge replies (the "
        "STARTTLS injection class: CVE-2011-0411 on the server side, and the client-side "
        "bugs found by the USENIX Security 2021 study 'Why TLS is better without "
        "STARTTLS'). A server or middlebox that does this invites that attack.",
        fix="Run the check from another network to tell the server from the path. Upgrade "
        "the MTA; switch off SMTP inspection or 'SMTP proxy' features on firewalls in front "
        "of it. A server must send nothing after `220` until the handshake.",
        verify=_CHECK
        + "\nThe transcript should show no 'discarded ... bytes sent before TLS' event.",
    ),
    "tls.handshake-failed": Explanation(
        what="The server agreed to STARTTLS, but the TLS handshake failed: no protocol "
        "version or cipher in common, a certificate and key that do not match, a service "
        "that does not speak TLS after all, or a middlebox interfering. This check offers "
        "TLS 1.0 to 1.3 with a wide cipher list, so a failure here fails for most senders.",
        why="Senders react differently: Postfix tries the next MX, defers the mail and falls "
        "back to clear text on a later attempt; Exim by default retries in clear text at "
        "once (`tls_tempfail_tryclear`); MTA-STS and DANE senders defer and eventually "
        "bounce. Mail is delayed, sent unencrypted, or lost.",
        fix=_SERVER_LOGS + " Check the certificate and key match, and that protocols and "
        "ciphers are not over-restricted: Postfix `smtpd_tls_protocols`, "
        "`smtpd_tls_ciphers`, `smtpd_tls_exclude_ciphers`; Exim `tls_require_ciphers`, "
        "`openssl_options`.",
        verify=_S_CLIENT + "\n" + _CHECK,
    ),
    "tls.ehlo-failed": Explanation(
        what="TLS was established, but the EHLO sent inside TLS was refused or got no reply.",
        why="The session is useless for delivery: senders cannot send mail over it, so "
        "they defer the message or retry without TLS.",
        fix=_SERVER_LOGS + " Look for the smtpd process failing right after the handshake "
        "(resource limits, a milter or policy service that breaks on TLS sessions).",
        verify=_CHECK + "\n" + _S_CLIENT,
    ),
    "tls.below-minimum": Explanation(
        what="TLS was negotiated, but at a version below the minimum the policy asks for "
        "(--min-tls or `min_tls` in the configuration). The best version the server "
        "supports is what was negotiated: this check offers up to TLS 1.3.",
        why="The domain's own policy says this is not good enough, for compliance or "
        "because senders it cares about require a newer version.",
        fix="The server must support the newer version; restricting older versions on the "
        "server does not raise what it negotiates. TLS 1.2 needs OpenSSL 1.0.1 or later "
        "under the MTA, TLS 1.3 needs 1.1.1. Remove "
        "settings that exclude the version: Postfix `smtpd_tls_protocols` and "
        "`smtpd_tls_mandatory_protocols`; Exim `openssl_options` (no `+no_tlsv1_2`, "
        "`+no_tlsv1_3`) or, with GnuTLS, `tls_require_ciphers`. To also refuse older "
        "versions, see tls.accepts-tls1-0.",
        verify="$ openssl s_client -starttls smtp -connect mx.example.com:25 -tls1_3 "
        "</dev/null\n$ starttls-check --min-tls 1.2 example.com",
    ),
    "tls.version-deprecated": Explanation(
        what="The best TLS version the server negotiates is TLS 1.0 or 1.1 (or SSL 3), "
        "although this check offered up to TLS 1.3. RFC 8996 deprecates both versions. The "
        "cause is an old TLS library under the MTA, or settings that exclude newer "
        "versions.",
        why="Many current senders cannot negotiate TLS 1.0/1.1 at all (OpenSSL 3 at its "
        "default security level, RHEL's default crypto policy): their handshake fails, and "
        "they defer the mail or send it in clear text. Senders that still connect get "
        "weaker protection.",
        fix="Upgrade the MTA's OpenSSL (TLS 1.2 needs 1.0.1, TLS 1.3 needs 1.1.1) and "
        "remove settings that exclude TLS 1.2/1.3: Postfix `smtpd_tls_protocols`, "
        "`smtpd_tls_mandatory_protocols`; Exim `openssl_options` (no `+no_tlsv1_2`) or, "
        "with GnuTLS, `tls_require_ciphers`.",
        verify="$ openssl s_client -starttls smtp -connect mx.example.com:25 -tls1_2 "
        "</dev/null\n" + _CHECK,
    ),
    "starttls.stripped": Explanation(
        what="STARTTLS could not be used because something rewrote the session: EHLO "
        "keywords came back masked with X's and STARTTLS was missing (Cisco ASA/PIX/FTD "
        "ESMTP inspection turns `STARTTLS` into `XXXXXXXA`, and often the greeting into "
        "asterisks), or STARTTLS was advertised but the command was answered 500/502 "
        "(unrecognized). The device may sit in front of the server, or in this checking "
        "host's own network.",
        why="Senders whose connections pass the device cannot start TLS: their mail "
        "travels in clear text, and senders applying MTA-STS or DANE refuse to deliver "
        "at all (they defer, then bounce).",
        fix="Find the device: run the check from another network; if the result changes, "
        "it is near this host. Cisco ASA/FTD, switch ESMTP inspection off:\n"
        "  policy-map global_policy\n"
        "   class inspection_default\n"
        "    no inspect esmtp\n"
        "or keep it and let TLS through (`allow-tls` under `parameters` of the "
        "`policy-map type inspect esmtp` the class uses). Other firewalls' 'SMTP proxy' "
        "or 'mail guard' features do the same. If the MTA itself answers 500/502 to "
        "STARTTLS, fix its TLS setup (Postfix `smtpd_tls_security_level = may` with a "
        "certificate; Exim `tls_advertise_hosts`, `tls_certificate`).",
        verify=_CHECK + "\nThe EHLO reply should list STARTTLS (no X's), and STARTTLS "
        "should be answered `220`.\n$ nc mx.example.com 25\nthen type `EHLO "
        "test.example.net` and look at the keywords.",
    ),
    "capabilities.masked": Explanation(
        what="Some EHLO keywords came back masked with X's, the signature of a firewall's "
        "SMTP inspection (Cisco ASA/PIX/FTD `match ehlo-reply-parameter others` with "
        "`mask`). STARTTLS itself got through and TLS was negotiated.",
        why="Little harm today: after STARTTLS, senders discard what they learned and send "
        "EHLO again inside TLS (RFC 3207 §4.2), where the device cannot rewrite. But "
        "senders without TLS lose the masked extensions, and a change in the device's "
        "policy can start stripping STARTTLS too (see starttls.stripped).",
        fix="Prefer switching ESMTP inspection off (Cisco: `no inspect esmtp` under "
        "`class inspection_default` of `policy-map global_policy`); if it must stay, keep "
        "`allow-tls` in its inspection policy map.",
        verify=_CHECK + "\nThe EHLO reply before TLS should show the server's real keywords.",
    ),
    "capabilities.auth-in-clear": Explanation(
        what="The server offers AUTH before STARTTLS, so a client may send its user name "
        "and password before the session is encrypted.",
        why="Mail servers delivering to an MX do not authenticate, so AUTH on port 25 "
        "serves only clients that should be using submission (port 587 with STARTTLS, RFC "
        "6409, or 465 with implicit TLS, RFC 8314). A client that authenticates here in "
        "clear text exposes the password to anyone on the path.",
        fix="Offer AUTH only inside TLS, or not on the MX at all. Postfix (main.cf):\n"
        "  smtpd_tls_auth_only = yes\n"
        "or turn SASL off for the port 25 service in master.cf "
        "(`-o smtpd_sasl_auth_enable=no`) and keep it on the submission service. Exim "
        "(main section):\n"
        "  auth_advertise_hosts = ${if eq{$tls_in_cipher}{}{}{*}}",
        verify=_CHECK + "\nAUTH should appear only in the EHLO reply inside TLS, or not at all.",
    ),
    "capabilities.starttls-after-tls": Explanation(
        what="The EHLO reply inside TLS advertises STARTTLS again. RFC 3207 §4.2 forbids "
        "this: a server must not offer STARTTLS once TLS is active.",
        why="Senders ignore it, so delivery is unaffected. It usually means TLS is "
        "terminated by a proxy in front of the MTA, whose back end still advertises "
        "STARTTLS to the proxy, or an MTA with a bug.",
        fix="If a proxy terminates TLS, stop the back end offering STARTTLS on the "
        "connection from the proxy (Postfix: a separate smtpd service for the proxy with "
        "`-o smtpd_tls_security_level=none` or `-o smtpd_discard_ehlo_keywords=starttls` in "
        "master.cf; Exim: exclude the proxy's address, `tls_advertise_hosts = ! "
        "192.0.2.10 : *`). Otherwise upgrade the MTA.",
        verify=_CHECK + "\nThe EHLO reply after the handshake should not list STARTTLS.",
    ),
    "capabilities.changed-after-tls": Explanation(
        what="The EHLO reply inside TLS differs from the one in clear text: the SIZE limit "
        "changed, or PIPELINING, CHUNKING, 8BITMIME or SMTPUTF8 disappeared.",
        why="Senders forget the clear-text reply after STARTTLS and use the one inside TLS "
        "(RFC 3207 §4.2), so the differences apply to all encrypted mail: a smaller SIZE "
        "rejects large messages; without 8BITMIME senders must convert to 7-bit; without "
        "SMTPUTF8, mail for internationalised addresses cannot be delivered; without "
        "PIPELINING or CHUNKING delivery is slower.",
        fix="If unintended, advertise the same in both. A TLS-terminating proxy that "
        "filters the back end's EHLO is a common cause. Postfix: `message_size_limit`, "
        "`smtpd_discard_ehlo_keywords`, and `-o` overrides on the services in master.cf. "
        "Exim: `message_size_limit`, `pipelining_advertise_hosts`, "
        "`chunking_advertise_hosts`, `smtputf8_advertise_hosts`, `accept_8bitmime`.",
        verify=_CHECK + "\nCompare the two EHLO replies in the transcript.",
    ),
    "capabilities.requiretls": Explanation(
        what="The server advertises REQUIRETLS (RFC 8689): a sender may mark a message as "
        "requiring TLS, with an authenticated server (MTA-STS or DANE), at every hop to "
        "its destination.",
        why="Good: senders can ask for end-to-end TLS protection of a message and rely on "
        "this server to honour it when relaying further. It is meaningful inside TLS, "
        "where the sender has checked the server.",
        fix="Nothing to change. REQUIRETLS senders must authenticate this server, so keep "
        "a certificate valid for the MX name and the domain's MTA-STS policy or DANE "
        "records in order.",
        verify=_CHECK + "\nThe EHLO reply inside TLS should list REQUIRETLS.",
    ),
    "cert.none": Explanation(
        what="TLS was negotiated, but the server presented no certificate that could be "
        "parsed: an anonymous cipher suite, or data that is not a certificate.",
        why=_OPPORTUNISTIC + " Nothing authenticates the server, so senders that apply "
        "MTA-STS or DANE refuse it, and an attacker on the path could impersonate it.",
        fix="Configure a certificate for the MX name.\n" + _CHAIN_FILES + "\n" + _RELOAD,
        verify=_S_CLIENT + "\n" + _CHECK,
    ),
    "cert.constraint-violation": Explanation(
        what="The chain reaches a trusted root, but an issuing certificate on it forbids "
        "what it issued: its keyUsage lacks keyCertSign, its pathLenConstraint is shorter "
        "than the path, or the MX name lies outside its nameConstraints (OpenSSL errors "
        "32, 25 and 47). The message names the issuer and the rule.",
        why=_OPPORTUNISTIC + " " + _AUTHENTICATING,
        fix="Use a certificate issued by a CA that may issue it, and serve that CA's own "
        "intermediates:\n" + _CHAIN_FILES + "\n" + _RELOAD,
        verify=_S_CLIENT + "\n" + _CHECK,
    ),
    "cert.wrong-purpose": Explanation(
        what="The certificate has an extendedKeyUsage extension that does not list "
        "serverAuth (nor anyExtendedKeyUsage), e.g. a client or e-mail signing "
        "certificate (OpenSSL error 26, 'unsupported certificate purpose').",
        why=_OPPORTUNISTIC + " " + _AUTHENTICATING,
        fix="Reissue the certificate for TLS servers (ACME clients do) and install it:\n"
        + _CHAIN_FILES
        + "\n"
        + _RELOAD,
        verify=_S_CLIENT + "\n" + _CHECK,
    ),
    "cert.unparseable": Explanation(
        what="The server presented a certificate, but it cannot be read as X.509: a "
        "duplicate or malformed extension, an invalid string encoding, or an unsupported "
        "version. The reason is in the finding's message.",
        why=_OPPORTUNISTIC + " Senders that verify certificates cannot parse it either, so "
        "MTA-STS and DANE senders refuse to deliver.",
        fix="Reissue the certificate with current CA software (ACME clients produce valid "
        "certificates) and install it:\n" + _CHAIN_FILES + "\n" + _RELOAD,
        verify=_S_CLIENT + "\n" + _CHECK,
    ),
    "cert.self-signed": Explanation(
        what="The certificate is signed by its own key and is not in the trust store (what "
        "OpenSSL reports as error 18, 'self-signed certificate').",
        why=_OPPORTUNISTIC + " " + _AUTHENTICATING + " " + _DANE_EE,
        fix="Use a certificate from a public CA for the MX name, e.g. free via ACME "
        "(Let's Encrypt):\n" + _CHAIN_FILES + "\n" + _RELOAD + "\nOr keep it and publish "
        "a DANE-EE record for its key in a DNSSEC-signed zone:\n"
        "  _25._tcp.mx.example.com. IN TLSA 3 1 1 <digest>\n"
        "where the digest is the SHA-256 of the certificate's public key:\n"
        "$ openssl x509 -in cert.pem -noout -pubkey \\\n"
        "    | openssl pkey -pubin -outform DER | openssl dgst -sha256\n"
        "If only your own systems must trust it, check with --ca-file, or waive the "
        "finding with --allow cert.self-signed.",
        verify=_S_CLIENT + "\nExpect 'Verify return code: 0 (ok)'.\n" + _FINGER,
    ),
    "cert.untrusted": Explanation(
        what="The chain does not lead to a root in the trust store (the system's, plus "
        "--ca-file): a private CA, a root that is not publicly trusted, or an issuer that "
        "is not a CA. OpenSSL reports 19 or 20.",
        why=_OPPORTUNISTIC + " " + _AUTHENTICATING,
        fix="Serve a certificate from a publicly trusted CA with its intermediates:\n"
        + _CHAIN_FILES
        + "\n"
        + _RELOAD
        + "\nIf a private CA is intended (only your own senders must trust it), check with "
        "`--ca-file private-ca.pem`, and do not publish MTA-STS for the domain.",
        verify=_S_CLIENT + "\nExpect 'Verify return code: 0 (ok)'.\n" + _FINGER,
    ),
    "cert.incomplete-chain": Explanation(
        what="The server sends its own certificate but not the intermediate CA "
        "certificate(s) that link it to a trusted root (OpenSSL 20 or 21, 'unable to "
        "verify the first certificate').",
        why="Browsers often hide this by fetching missing intermediates; mail servers do "
        "not. " + _OPPORTUNISTIC + " " + _AUTHENTICATING,
        fix="Serve the full chain: the leaf followed by the intermediates, as in the CA's "
        "'fullchain' file (not the leaf-only cert.pem).\n" + _CHAIN_FILES + "\n" + _RELOAD,
        verify=_S_CLIENT_CHAIN + "\n'Certificate chain' should list the leaf (0) and the "
        "intermediates (1, ...), and 'Verify return code: 0 (ok)'.\n" + _FINGER,
    ),
    "cert.bad-signature": Explanation(
        what="A certificate in the chain carries a signature that does not verify against "
        "the certificate that should have issued it (OpenSSL 7, 'certificate signature "
        "failure'): an intermediate from another CA or another renewal, or a corrupted "
        "file.",
        why=_OPPORTUNISTIC + " " + _AUTHENTICATING,
        fix="Reinstall the chain exactly as the CA issued it with this certificate (the "
        "current fullchain file), not an intermediate kept from an earlier certificate.\n"
        + _CHAIN_FILES
        + "\n"
        + _RELOAD,
        verify=_S_CLIENT + "\nExpect 'Verify return code: 0 (ok)'.\n" + _CHECK,
    ),
    "cert.expiring-soon": Explanation(
        what="The certificate is valid but expires within the warning window "
        "(--cert-expiry-days, 14 days by default).",
        why="Nothing fails yet. But ACME clients renew weeks ahead (certbot: 30 days before "
        "expiry by default), so a certificate this close to expiry usually means renewal "
        "is failing, or succeeds without the MTA being reloaded. After expiry, senders "
        "that authenticate (MTA-STS) stop delivering.",
        fix="Renew now and find out why automatic renewal did not: `certbot renew "
        "--dry-run`, the ACME client's log and timer. If the file on disk is already new, "
        "the MTA still serves the old one and only needs reloading. " + _RELOAD,
        verify="$ openssl x509 -noout -enddate \\\n"
        "    -in /etc/letsencrypt/live/mx.example.com/fullchain.pem\n"
        "shows the date on disk; what the server sends:\n" + _SHOW_CERT + "\n" + _CHECK,
    ),
    "cert.expired": Explanation(
        what="The certificate's validity period has ended (or an intermediate's has). "
        "OpenSSL reports error 10, 'certificate has expired'.",
        why=_OPPORTUNISTIC + " " + _AUTHENTICATING + " " + _DANE_EE,
        fix="Renew the certificate and install it. "
        + _RELOAD
        + " Then find out why automatic renewal failed (`certbot renew --dry-run`, the "
        "ACME client's log); if the file on disk is new, only the reload was missing.",
        verify=_SHOW_CERT + "\nnotAfter should be in the future.\n" + _CHECK,
    ),
    "cert.not-yet-valid": Explanation(
        what="The certificate's validity period has not started yet (its notBefore is in "
        "the future), by the clock of the host running this check.",
        why="Senders that authenticate refuse it until the start date; opportunistic "
        "senders still encrypt. Often the cause is a clock: the CA's, the server's that "
        "made a self-signed certificate, or this checking host's.",
        fix="Check this host's clock first (`date -u`, NTP). If it is right, check the "
        "clock of the machine that made the certificate, or wait for the start date "
        "before deploying a fresh certificate.",
        verify=_SHOW_CERT + "\nnotBefore should be in the past.\n$ date -u",
    ),
    "cert.name-mismatch": Explanation(
        what="The certificate is not valid for the MX host name (the name in the MX "
        "record, not the mail domain). Names are taken from subjectAltName DNS entries "
        "(the subject CN only when there are none), and a wildcard `*.example.com` covers "
        "exactly one label: `mx.example.com`, not `example.com` or `a.mx.example.com`. "
        "OpenSSL reports 62, 'hostname mismatch'.",
        why=_OPPORTUNISTIC + " " + _AUTHENTICATING + " " + _DANE_EE,
        fix="Get a certificate that names the MX host (e.g. certbot `-d mx.example.com`, "
        "with other names added as further `-d`). If the server selects certificates by "
        "SNI (Postfix `tls_server_sni_maps`, Exim `tls_certificate` using `${tls_sni}`), "
        "check the MX name maps to the right one. Or point the MX record at a name the "
        "certificate already covers, e.g. your provider's host name.\n" + _RELOAD,
        verify=_SHOW_CERT
        + "\nThe MX host name should be among the subjectAltName DNS entries.\n"
        + _FINGER,
    ),
    "cert.weak-key": Explanation(
        what="A certificate the server sends has a key that is too small: RSA or DSA "
        "below 2048 bits, or an elliptic-curve key below 224 bits.",
        why="Such keys can be broken, or are close to it. Senders that authenticate refuse "
        "them (OpenSSL at security level 2, the default on several current "
        "distributions, rejects RSA keys under 2048 bits with error 66, 'EE certificate "
        "key too weak'); opportunistic senders still encrypt.",
        fix="Issue a new certificate with a new key: RSA 2048 bits or more, or ECDSA P-256 "
        "(certbot: `--key-type ecdsa`, or `--rsa-key-size 2048`/`4096`). If TLSA records pin "
        "the key (`3 1 1`), publish the new key's record first and switch after the old "
        "record's TTL has passed.\n" + _RELOAD,
        verify=_SHOW_CERT.replace("-subject -issuer -dates -ext subjectAltName", "-text")
        + "\nLook for 'Public-Key: (2048 bit)' or more.\n"
        + _CHECK,
    ),
    "cert.sha1-signature": Explanation(
        what="A certificate the server sends (other than a self-signed root) is signed "
        "with SHA-1 or MD5. Public CAs stopped issuing such certificates years ago, so it "
        "is old, or made by a private CA or by hand.",
        why="SHA-1 and MD5 signatures can be forged. OpenSSL 3 refuses them at its default "
        "security level, so senders that authenticate reject the chain; opportunistic "
        "senders still encrypt.",
        fix="Reissue the certificate with a SHA-256 signature (from a public CA, or with "
        "`openssl req ... -sha256` / `openssl x509 -req ... -sha256` for a private one).\n"
        + _RELOAD,
        verify=_SHOW_CERT.replace("-subject -issuer -dates -ext subjectAltName", "-text")
        + "\nLook for 'Signature Algorithm: sha256WithRSAEncryption' (or ecdsa-with-SHA256).\n"
        + _CHECK,
    ),
    "tls.accepts-tls1-0": Explanation(
        what="A --deep probe that offered only TLS 1.0 completed the handshake: the server "
        "still accepts TLS 1.0, deprecated by RFC 8996.",
        why="TLS 1.0 relies on MD5 and SHA-1 in its handshake and is excluded by most "
        "compliance rules (e.g. PCI DSS). Current senders negotiate TLS 1.2 or 1.3 anyway; "
        "only very old senders use 1.0. On a public MX this is a trade-off: once 1.0 is "
        "off, those senders deliver in clear text, which opportunistic TLS allows.",
        fix="Postfix (main.cf; the `>=` form needs Postfix 3.6 or later):\n"
        "  smtpd_tls_protocols = >=TLSv1.2\n"
        "  smtpd_tls_mandatory_protocols = >=TLSv1.2\n"
        "(older: `!SSLv2, !SSLv3, !TLSv1, !TLSv1.1`). Exim with OpenSSL: add `+no_tlsv1 "
        "+no_tlsv1_1` to `openssl_options`; setting that option replaces Exim's default, "
        "so keep what `exim -bP openssl_options` shows (such as `+no_sslv2 +no_sslv3`). "
        "Exim with GnuTLS: `tls_require_ciphers = NORMAL:-VERS-TLS1.0:-VERS-TLS1.1`.",
        verify="$ openssl s_client -starttls smtp -connect mx.example.com:25 -tls1 \\\n"
        "    -cipher 'DEFAULT:@SECLEVEL=0' </dev/null\n"
        "should fail (OpenSSL 3 needs the `@SECLEVEL=0` to offer TLS 1.0 at all).\n"
        "$ starttls-check --deep example.com",
    ),
    "tls.accepts-tls1-1": Explanation(
        what="A --deep probe that offered only TLS 1.1 completed the handshake: the server "
        "still accepts TLS 1.1, deprecated by RFC 8996.",
        why="Like TLS 1.0, TLS 1.1 depends on MD5 and SHA-1 in its handshake and fails "
        "compliance rules; current senders use TLS 1.2 or 1.3. Turning it off makes the "
        "rare sender that knows nothing newer deliver in clear text instead.",
        fix="Postfix (3.6 or later): `smtpd_tls_protocols = >=TLSv1.2` and the same for "
        "`smtpd_tls_mandatory_protocols` (older: `!SSLv2, !SSLv3, !TLSv1, !TLSv1.1`). Exim "
        "with OpenSSL: add `+no_tlsv1_1` (and `+no_tlsv1`) to `openssl_options`, keeping the "
        "defaults `exim -bP openssl_options` shows; with GnuTLS, `-VERS-TLS1.1` in "
        "`tls_require_ciphers`.",
        verify="$ openssl s_client -starttls smtp -connect mx.example.com:25 -tls1_1 \\\n"
        "    -cipher 'DEFAULT:@SECLEVEL=0' </dev/null\n"
        "should fail.\n$ starttls-check --deep example.com",
    ),
    "tls.no-modern-version": Explanation(
        what="The --deep probes offering only TLS 1.2 and only TLS 1.3 were both refused: "
        "the server speaks nothing newer than TLS 1.1.",
        why="Many current senders cannot negotiate TLS 1.0/1.1 at all (OpenSSL 3 at its "
        "default security level, RHEL's default crypto policy): with them the handshake "
        "fails, and mail is deferred or sent in clear text. MTA-STS and DANE senders "
        "cannot deliver securely.",
        fix="Upgrade the TLS library under the MTA (TLS 1.2 needs OpenSSL 1.0.1 or later, "
        "TLS 1.3 needs 1.1.1) and remove settings that exclude the new versions: Postfix "
        "`smtpd_tls_protocols`, `smtpd_tls_mandatory_protocols`; Exim `openssl_options` "
        "(no `+no_tlsv1_2`/`+no_tlsv1_3`) or, with GnuTLS, `tls_require_ciphers`.",
        verify="$ openssl s_client -starttls smtp -connect mx.example.com:25 -tls1_2 "
        "</dev/null\n$ openssl s_client -starttls smtp -connect mx.example.com:25 -tls1_3 "
        "</dev/null\n$ starttls-check --deep example.com",
    ),
    "cipher.static-rsa": Explanation(
        what="A --deep probe offering only RSA key exchange (OpenSSL `kRSA`, e.g. "
        "AES128-GCM-SHA256) completed the handshake.",
        why="With RSA key exchange there is no forward secrecy: whoever records the "
        "traffic and later obtains the server's private key can decrypt all of it. "
        "Senders that offer ECDHE normally get ECDHE, so the risk concerns senders that "
        "prefer or only offer RSA key exchange; TLS 1.3 has no such suites at all.",
        fix="Postfix (main.cf, excluded at every security level):\n"
        "  smtpd_tls_exclude_ciphers = kRSA\n"
        "(add to any existing list, e.g. `aNULL, eNULL, EXPORT, RC4, 3DES, kRSA`). Exim "
        "with OpenSSL: append `:!kRSA` to `tls_require_ciphers`; with GnuTLS, `:-RSA` to "
        "the priority string. Very old senders without ECDHE then deliver in clear text.",
        verify="$ openssl s_client -starttls smtp -connect mx.example.com:25 -tls1_2 \\\n"
        "    -cipher kRSA </dev/null\nshould fail.\n$ starttls-check --deep example.com",
    ),
    "cipher.3des": Explanation(
        what="A --deep probe offering only 3DES cipher suites completed the handshake.",
        why="3DES has a 64-bit block, open to birthday attacks on long sessions (Sweet32, "
        "CVE-2016-2183), and is slow. Few senders pick it, but accepting it lets a "
        "downgrade or an old sender end up with a weak session.",
        fix="Postfix: `smtpd_tls_exclude_ciphers = 3DES` (added to any existing list). "
        "Exim with OpenSSL: append `:!3DES` to `tls_require_ciphers`; with GnuTLS, "
        "`:-3DES-CBC`.",
        verify="$ openssl s_client -starttls smtp -connect mx.example.com:25 -tls1_2 \\\n"
        "    -cipher '3DES:@SECLEVEL=0' </dev/null\nshould fail.\n"
        "$ starttls-check --deep example.com",
    ),
    "cipher.anonymous": Explanation(
        what="A --deep probe offering only anonymous cipher suites (OpenSSL `aNULL`: no "
        "certificate at all) completed the handshake.",
        why="An anonymous session authenticates nobody, so anyone on the path can "
        "intercept it unnoticed. For a sender that checks nothing, that is no worse than "
        "an unchecked certificate, but such a session can never be authenticated, and "
        "audits flag it.",
        fix="Postfix: `smtpd_tls_exclude_ciphers = aNULL` (added to any existing list). "
        "Exim with OpenSSL: append `:!aNULL` to `tls_require_ciphers`; with GnuTLS, "
        "`:-ANON-DH:-ANON-ECDH`.",
        verify="$ openssl s_client -starttls smtp -connect mx.example.com:25 -tls1_2 \\\n"
        "    -cipher 'aNULL:@SECLEVEL=0' </dev/null\nshould fail.\n"
        "$ starttls-check --deep example.com",
    ),
    "cipher.null": Explanation(
        what="A --deep probe offering only NULL-encryption suites (OpenSSL `eNULL`) "
        "completed the handshake: the server accepts 'TLS' that encrypts nothing.",
        why="With a NULL cipher the mail travels in clear text inside a TLS session that "
        "looks encrypted. OpenSSL never enables these suites by default, so someone put "
        "them in the cipher list (e.g. `eNULL`, `NULL` or `COMPLEMENTOFALL`).",
        fix="Remove them from the cipher settings, and exclude them explicitly. Postfix: "
        "`smtpd_tls_exclude_ciphers = eNULL` (added to any existing list), and check "
        "`smtpd_tls_ciphers` and the `tls_*_cipherlist` settings. Exim with OpenSSL: "
        "append `:!eNULL` to `tls_require_ciphers`; with GnuTLS, `:-NULL`.",
        verify="$ openssl s_client -starttls smtp -connect mx.example.com:25 -tls1_2 \\\n"
        "    -cipher 'eNULL:@SECLEVEL=0' </dev/null\nshould fail.\n"
        "$ starttls-check --deep example.com",
    ),
    "cipher.rc4": Explanation(
        what="A --deep probe offering only RC4 suites completed the handshake.",
        why="RC4 has known biases that leak plaintext, and RFC 7465 forbids it in TLS. "
        "Current OpenSSL versions no longer enable it, so the TLS library or the cipher "
        "settings under the MTA are old.",
        fix="Postfix: `smtpd_tls_exclude_ciphers = RC4` (added to any existing list). Exim "
        "with OpenSSL: append `:!RC4` to `tls_require_ciphers`; with GnuTLS, "
        "`:-ARCFOUR-128`. Upgrade the MTA's OpenSSL.",
        verify="$ starttls-check --deep example.com\n"
        "(Most current OpenSSL builds cannot offer RC4, so `openssl s_client` may not be "
        "able to test this; see deep.untestable.)",
    ),
    "cipher.export": Explanation(
        what="A --deep probe offering only export-grade suites (40- and 56-bit keys, "
        "OpenSSL `EXP`) completed the handshake.",
        why="Export ciphers are broken within hours or less, and accepting them made the "
        "FREAK (CVE-2015-0204) and Logjam (CVE-2015-4000) downgrade attacks possible. "
        "OpenSSL removed them in 1.1.0, so the MTA links against a very old OpenSSL.",
        fix="Upgrade the MTA and its OpenSSL. Postfix releases before mid-2015 defaulted "
        "to `smtpd_tls_ciphers = export`; set `smtpd_tls_ciphers = medium` and "
        "`smtpd_tls_exclude_ciphers = EXPORT` (added to any existing list). Exim with "
        "OpenSSL: append `:!EXPORT` to `tls_require_ciphers`.",
        verify="$ starttls-check --deep example.com",
    ),
    "cipher.client-order": Explanation(
        what="A --deep probe offered the same ciphers in two orders, and the server "
        "followed the client's order each time rather than choosing by its own "
        "preference.",
        why="Harmless when every cipher the server enables is strong, which is always the "
        "case with TLS 1.3. With weaker TLS 1.2 suites enabled, a client that lists them "
        "first gets them.",
        fix="Make the server choose. Postfix: `tls_preempt_cipherlist = yes`. Exim with "
        "OpenSSL: add `+cipher_server_preference` to `openssl_options` (keeping the "
        "defaults it shows under `exim -bP openssl_options`); with GnuTLS, "
        "`%SERVER_PRECEDENCE` in `tls_require_ciphers`. Or remove the weak suites.",
        verify="$ starttls-check --deep example.com",
    ),
    "starttls.command-injection": Explanation(
        what="A --deep probe sent a harmless command (NOOP) in the same packet as "
        "STARTTLS, in clear text, and the server answered it after the TLS handshake, as "
        "if it had arrived encrypted. The server keeps input buffered across STARTTLS: "
        "the bug of CVE-2011-0411, found in many MTAs in 2011.",
        why="An attacker on the path can add commands that the server then runs inside "
        "the encrypted session, as if the client had sent them; such commands can be used "
        "to steal the client's mail or its SASL user name and password. TLS no longer "
        "protects the integrity of the session.",
        fix="Upgrade the MTA, or the TLS proxy in front of it, to a release that discards "
        "buffered input when it starts TLS (Postfix was fixed in 2011). A server "
        "must read nothing sent before the handshake as part of the TLS session.",
        verify="$ starttls-check --deep --transcript example.com",
    ),
    "deep.untestable": Explanation(
        what="Some --deep probes could not run: the OpenSSL on this checking host cannot "
        "offer those protocol versions or ciphers (OpenSSL 3 has no SSLv3 and usually no "
        "RC4 or export ciphers). Whether the server accepts them is unknown.",
        why="Nothing is known to be wrong. Senders with equally modern OpenSSL cannot use "
        "these either, so the risk comes only from very old senders or an attacker "
        "forcing a downgrade.",
        fix="Nothing to fix here. If it matters (an audit), test from a host whose OpenSSL "
        "still supports them, or disable them on the server regardless (see "
        "tls.accepts-tls1-0, cipher.rc4, cipher.export).",
        verify="$ openssl ciphers -v 'RC4:EXP:@SECLEVEL=0'\n"
        "lists what the local OpenSSL can offer (an error means none).",
    ),
    "drift.mx-added": Explanation(
        what="An MX host is in DNS now that was not in the baseline report.",
        why="A new MX receives mail at once, with whatever TLS it has. Senders applying "
        "your MTA-STS policy will not deliver to an MX the policy does not list, and DANE "
        "senders need TLSA records for it if the others have them.",
        fix="If the change is intended, check the new host's TLS (it is in this report), "
        "add it to the MTA-STS policy and publish its TLSA records. "
        + _MTA_STS_POLICY
        + " If not intended, remove the record.",
        verify="$ dig +short MX example.com\n$ dig +short TXT _mta-sts.example.com\n"
        "$ curl https://mta-sts.example.com/.well-known/mta-sts.txt\n" + _BASELINE,
    ),
    "drift.mx-removed": Explanation(
        what="An MX host that was in the baseline report is no longer in DNS.",
        why="Mail no longer goes there. If the removal is intended, leftovers in the "
        "MTA-STS policy and TLSA records are harmless but stale; if not, the domain has "
        "lost a mail server (and maybe its backup).",
        fix="If intended, remove the host from the MTA-STS policy's `mx:` lines and delete "
        "its TLSA records. " + _MTA_STS_POLICY + " If not, restore the MX record.",
        verify="$ dig +short MX example.com\n" + _BASELINE,
    ),
    "drift.address-added": Explanation(
        what="An MX host has an address now that it did not have in the baseline report.",
        why="Senders use the new address at once, so a server there with a different TLS "
        "setup (or none) changes the protection of the mail that goes to it.",
        fix="If intended, make sure the new server has the same certificate and TLS "
        "settings as the others (this report checked it). If not, remove the A/AAAA "
        "record.",
        verify="$ dig +short A mx.example.com\n$ dig +short AAAA mx.example.com\n" + _BASELINE,
    ),
    "drift.address-removed": Explanation(
        what="An MX host no longer has an address it had in the baseline report.",
        why="Usually a planned change. If not, capacity or redundancy may have gone with it.",
        fix="Nothing to do if intended; otherwise restore the A/AAAA record.",
        verify="$ dig +short A mx.example.com\n$ dig +short AAAA mx.example.com\n" + _BASELINE,
    ),
    "drift.starttls-lost": Explanation(
        what="This address offered STARTTLS in the baseline report and does not now.",
        why="Mail to this address now travels in clear text; senders applying MTA-STS or "
        "DANE stop delivering to it. A configuration change or an upgrade probably "
        "dropped the TLS settings.",
        fix="Restore the TLS configuration. Postfix: `smtpd_tls_security_level = may` and "
        "the certificate files (`postconf -n | grep tls` shows what is set). Exim: "
        "`tls_advertise_hosts = *` with `tls_certificate` and `tls_privatekey`. Check no "
        "firewall's SMTP inspection now hides STARTTLS.",
        verify=_CHECK + "\n" + _BASELINE,
    ),
    "drift.tls-downgraded": Explanation(
        what="The TLS version negotiated with this address is lower than in the baseline report.",
        why="Protection is weaker than it was, and senders that no longer accept the lower "
        "version (OpenSSL 3 defaults reject TLS 1.0/1.1) may fail to connect.",
        fix="Compare the protocol settings with the last known-good state: Postfix "
        "`smtpd_tls_protocols`, Exim `openssl_options`/`tls_require_ciphers`, and the "
        "OpenSSL the MTA links against (`ldd $(postconf -h daemon_directory)/smtpd`, or "
        "`exim -bV`). "
        "A load balancer terminating TLS is another place a downgrade can come from.",
        verify="$ openssl s_client -starttls smtp -connect mx.example.com:25 -brief "
        "</dev/null\nshows the protocol version negotiated.\n" + _BASELINE,
    ),
    "drift.cert-changed": Explanation(
        what="The certificate served now has a different SHA-256 fingerprint than in the "
        "baseline report, and is no worse. Expected after a renewal.",
        why="Nothing changes for senders that check against the CA. DANE records that pin "
        "the certificate (`3 0 1`) break at every renewal; records that pin the key (`3 1 "
        "1`) break when the renewal made a new key.",
        fix="If you publish TLSA records, check they match the new certificate. To keep "
        "`3 1 1` records valid across renewals, reuse the key (certbot `--reuse-key`) or "
        "publish the next key's record before switching.",
        verify="$ dig +short TLSA _25._tcp.mx.example.com\n"
        "$ posttls-finger -c -l dane example.com\nshows what DANE senders see.\n" + _BASELINE,
    ),
    "drift.cert-worse": Explanation(
        what="The certificate served now is worse than the one in the baseline report: "
        "a shorter validity, a weaker key, or problems it did not have (untrusted, wrong "
        "name, expired).",
        why="Senders that authenticate may now refuse it; at best, the renewal process "
        "changed in a way nobody intended.",
        fix="Check the renewal used the right CA, account, key type and names, and that the "
        "MTA serves the full chain. The finding lists what got worse; the cert.* findings "
        "for this address say how to fix each problem.",
        verify=_SHOW_CERT + "\n" + _BASELINE,
    ),
}


def known_codes() -> list[str]:
    """Every code that can be explained, in catalogue order (grouped by topic)."""
    return [code for code in CATALOGUE if code in EXPLANATIONS]


def suggestions(code: str) -> list[str]:
    """Known codes close to a mistyped one: `cert.expird` → `cert.expired`."""
    codes = known_codes()
    wanted = code.strip().lower()
    close = difflib.get_close_matches(wanted, codes, n=5, cutoff=0.6)
    # `expired` alone, or the right name under the wrong prefix: match the last part too.
    tail = wanted.rsplit(".", 1)[-1]
    close += [c for c in codes if c.rsplit(".", 1)[-1] == tail and c not in close]
    return close[:5]


def render_explanation(code: str) -> str:
    """Plain text for `--explain CODE`, wrapped at 88 columns. Unknown code: `KeyError`."""
    explanation, rule = EXPLANATIONS[code], CATALOGUE[code]
    lines = [f"{code} (default severity: {rule.severity.value})", ""]
    lines += _paragraph(rule.hint, "")
    for title, body in (
        ("WHAT", explanation.what),
        ("WHY IT MATTERS", explanation.why),
        ("HOW TO FIX", explanation.fix),
        ("HOW TO VERIFY", explanation.verify),
    ):
        lines += ["", title]
        for paragraph in body.split("\n"):
            lines += _paragraph(paragraph, _INDENT)
    return "\n".join(lines) + "\n"


def _paragraph(text: str, indent: str) -> list[str]:
    """Commands (`$ `) and configuration lines (two leading spaces) as written; prose
    wrapped, never inside a word or at a hyphen, so setting names stay whole."""
    if text.startswith(("$ ", "  ")):
        return [indent + _INDENT + text]
    # A `quoted setting` stays on one line: its spaces become no-break spaces for textwrap.
    kept = re.sub(r"`[^`]*`", lambda m: m.group().replace(" ", _KEEP), text)
    lines = textwrap.wrap(
        kept,
        width=WIDTH,
        initial_indent=indent,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    )
    return [line.replace(_KEEP, " ") for line in lines]


def _collect_policy_explanations() -> None:
    from ..checks import mail_auth
    from ..policy import dane, mta_sts
    from . import policy_codes

    for module in (dane, mta_sts, mail_auth, policy_codes):
        EXPLANATIONS.update(module.EXPLANATIONS)


_collect_policy_explanations()
