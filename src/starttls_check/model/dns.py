"""Facts from DNS: where mail for a domain goes, and the policy records beside it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class DnsStatus(StrEnum):
    """The outcome of one DNS question, kept distinct because each means something else."""

    OK = "ok"
    NXDOMAIN = "nxdomain"  # the name does not exist
    NO_DATA = "no-data"  # the name exists but has no record of that type
    SERVFAIL = "servfail"  # the name servers failed or refused to answer
    TIMEOUT = "timeout"  # no name server answered in time
    UNREACHABLE = "unreachable"  # no name server could be reached at all
    MALFORMED = "malformed"  # an answer arrived but could not be used
    BOGUS = "bogus"  # SERVFAIL, and validating the answer here shows why: DNSSEC fails


class DnssecStatus(StrEnum):
    """RFC 4033 §5 / RFC 4035 §4.3: what validation concluded about one answer."""

    SECURE = "secure"  # an unbroken chain of signatures from a trust anchor
    INSECURE = "insecure"  # proven unsigned (no DS below the anchor), or only provable
    # through an NSEC3 opt-out span or at a costly NSEC3 iteration count
    BOGUS = "bogus"  # should be signed, but a signature or proof is missing or wrong
    INDETERMINATE = "indeterminate"  # could not tell: no anchor, timeout, server failure


@dataclass(frozen=True, slots=True, kw_only=True)
class MxHost:
    """One MX target as DNS described it, with the addresses it resolved to."""

    name: str
    preference: int
    implicit: bool  # no MX record: the domain itself stands in (RFC 5321 §5.1)
    cname_chain: tuple[str, ...]  # names the address lookup followed, if the MX is an alias
    addresses: tuple[str, ...]
    ipv4_status: DnsStatus
    ipv6_status: DnsStatus
    truncated: bool = False  # more addresses than we probe


@dataclass(frozen=True, slots=True, kw_only=True)
class DnsFacts:
    """The answer to 'where does mail for this domain go?'."""

    domain: str  # as A-labels, without the final dot
    mx_status: DnsStatus
    mx_detail: str
    null_mx: bool
    hosts: tuple[MxHost, ...]
    ignored_records: tuple[str, ...] = ()  # MX records we could not use, as text


@dataclass(frozen=True, slots=True, kw_only=True)
class TxtLookup:
    """A TXT lookup for a policy record (MTA-STS, TLS-RPT, SPF, DMARC), records joined."""

    name: str
    status: DnsStatus
    records: tuple[str, ...]
    detail: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class TlsaLookup:
    """The TLSA records for one MX (RFC 7672 §2.2) and their DNSSEC status."""

    mx: str
    owner: str  # _25._tcp.mx.example.com.
    status: DnsStatus
    dnssec: DnssecStatus | None  # of the TLSA answer; None when there was nothing to check
    dnssec_reason: str
    records: tuple[str, ...]
    # RFC 7672 §2.2: secure TLSA records count only when the domain's MX records and the
    # MX host's address records are secure too. Asked only for secure TLSA; None otherwise.
    domain: str = ""  # whose MX records named this host
    mx_dnssec: DnssecStatus | None = None
    mx_dnssec_reason: str = ""
    address_dnssec: DnssecStatus | None = None
    address_dnssec_reason: str = ""
