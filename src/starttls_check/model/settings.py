"""Settings that several layers share, as typed values."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True, slots=True, kw_only=True)
class Nameserver:
    """A name server to ask, on any port (tests and the demo use loopback ports)."""

    host: str
    port: int = 53


class DnssecMode(StrEnum):
    """Who validates DNSSEC for the DANE checks."""

    VALIDATE = "validate"  # here, from the trust anchors
    RESOLVER = "resolver"  # the name server, whose AD flag is trusted


@dataclass(frozen=True, slots=True, kw_only=True)
class Timeouts:
    """Seconds allowed for each kind of wait; every remote peer is bounded by one of them.

    `--timeout S` sets them all through `per_phase`: S for each step, and the longer waits
    (a whole SMTP session, a whole DNSSEC validation or SPF walk) a few steps long.
    """

    dns: float = 15.0  # one DNS question, every name server tried
    smtp: float = 15.0  # each SMTP step: connect, every reply, the TLS handshake
    session: float = 60.0  # one whole SMTP session, however many steps it takes
    dns_walk: float = 60.0  # a walk of many queries: DNSSEC validation, SPF includes
    https: float = 15.0  # each step of the MTA-STS policy fetch

    @classmethod
    def per_phase(cls, seconds: float) -> Timeouts:
        """`seconds` per step; a session or a walk may take four steps' worth."""
        long = seconds * _STEPS_PER_LONG_WAIT
        return cls(dns=seconds, smtp=seconds, session=long, dns_walk=long, https=seconds)


# Postscreen's greeting delay (6 s) passes a 15 s step; four steps cover a session that is
# slow at each of greeting, EHLO, STARTTLS and handshake.
_STEPS_PER_LONG_WAIT = 4
