"""Settings that several layers share, as typed values."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class Nameserver:
    """A name server to ask, on any port (tests and the demo use loopback ports)."""

    host: str
    port: int = 53
