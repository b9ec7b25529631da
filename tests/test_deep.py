"""`--deep` probes against servers configured to accept, or refuse, what each probe offers."""

from __future__ import annotations

import asyncio
import ssl
from functools import partial

import pytest

from starttls_check.checks.deep import evaluate_deep
from starttls_check.checks.tls_version import best_version, tls_minimum_findings
from starttls_check.demo.loopback.pki import Issued, chain_pem, make_ca, make_leaf
from starttls_check.demo.loopback.smtp_server import (
    Script,
    ServerConnection,
    server_tls_context,
    standard_session,
)
from starttls_check.model.findings import Policy, Severity, Verdict
from starttls_check.model.report import DomainReport
from starttls_check.model.session import DeepProbe, ProbeKind, ProbeOutcome

from .harness import mail_world, run

MX_ZONE = "example.test. IN MX 10 mx.example.test.\nmx.example.test. IN A 127.0.0.2\n"


def deep_check(context: ssl.SSLContext, ca: Issued, **session: object) -> DomainReport:
    script = partial(standard_session, hostname="mx.example.test", tls_context=context, **session)

    async def go() -> DomainReport:
        async with mail_world(MX_ZONE, {"127.0.0.2": script}, ca=ca) as world:
            return await world.check("example.test", deep=True, timeout=1.0)

    return run(go())


def outcomes(report: DomainReport) -> dict[str, ProbeOutcome]:
    return {p.name: p.outcome for p in report.hosts[0].deep}


def codes(report: DomainReport) -> list[str]:
    return [f.code for f in report.all_findings()]


def context_for(ca: Issued, key: str = "ec", **kw: object) -> ssl.SSLContext:
    leaf = make_leaf(["mx.example.test"], ca, key=key)  # type: ignore[arg-type]
    return server_tls_context(chain_pem(leaf, ca), leaf.key_pem, **kw)  # type: ignore[arg-type]


def test_modern_server_refuses_everything_weak() -> None:
    ca = make_ca("test CA")
    report = deep_check(context_for(ca, minimum_version=ssl.TLSVersion.TLSv1_2), ca)
    found = outcomes(report)
    assert found["TLSv1"] is ProbeOutcome.REFUSED
    assert found["TLSv1.1"] is ProbeOutcome.REFUSED
    assert found["TLSv1.2"] is ProbeOutcome.ACCEPTED
    assert found["TLSv1.3"] is ProbeOutcome.ACCEPTED
    assert found["SSLv3"] is ProbeOutcome.UNTESTABLE
    assert found["static-rsa"] is ProbeOutcome.REFUSED  # an EC key cannot do RSA kx anyway
    assert found["null"] is ProbeOutcome.REFUSED
    assert report.hosts[0].injection is not None  # --deep includes the injection probe
    assert report.hosts[0].injection.outcome is ProbeOutcome.IGNORED
    assert codes(report) == ["deep.untestable"]
    assert report.verdict is Verdict.PASS


def test_tls10_only_server() -> None:
    ca = make_ca("test CA")
    context = context_for(
        ca, minimum_version=ssl.TLSVersion.TLSv1, maximum_version=ssl.TLSVersion.TLSv1
    )
    report = deep_check(context, ca)
    found = outcomes(report)
    assert found["TLSv1"] is ProbeOutcome.ACCEPTED
    assert found["TLSv1.2"] is ProbeOutcome.REFUSED
    assert found["TLSv1.3"] is ProbeOutcome.REFUSED
    assert "tls.accepts-tls1-0" in codes(report)
    # The core session already negotiated TLS 1.0: that fact is tls.version-deprecated's.
    assert "tls.version-deprecated" in codes(report)
    assert "tls.no-modern-version" not in codes(report)
    assert report.verdict is Verdict.WARN


def legacy_check(ca: Issued, *, deep: bool, policy: Policy | None = None) -> DomainReport:
    """The legacy server (TLS 1.0 and 1.1 only), checked with or without `--deep`."""
    context = context_for(
        ca, minimum_version=ssl.TLSVersion.TLSv1, maximum_version=ssl.TLSVersion.TLSv1_1
    )
    script = partial(standard_session, hostname="mx.example.test", tls_context=context)
    extra = {"policy": policy} if policy is not None else {}

    async def go() -> DomainReport:
        async with mail_world(MX_ZONE, {"127.0.0.2": script}, ca=ca) as world:
            return await world.check("example.test", deep=deep, timeout=1.0, **extra)

    return run(go())


@pytest.mark.parametrize("min_tls", [None, "1.2"], ids=["default", "min-tls-1.2"])
def test_legacy_server_gets_one_verdict_with_and_without_deep(min_tls: str | None) -> None:
    """A deep probe adds facts (TLS 1.0 accepted too); it does not judge again that nothing
    newer than TLS 1.1 is accepted, which the core session already proved."""
    ca = make_ca("test CA")
    policy = Policy(min_tls=min_tls) if min_tls else None
    core = legacy_check(ca, deep=False, policy=policy)
    deep = legacy_check(ca, deep=True, policy=policy)
    assert core.hosts[0].facts.tls is not None
    assert core.hosts[0].facts.tls.version == "TLSv1.1"
    assert outcomes(deep)["TLSv1.2"] is ProbeOutcome.REFUSED
    assert outcomes(deep)["TLSv1.3"] is ProbeOutcome.REFUSED
    assert core.verdict is deep.verdict
    assert core.verdict is (Verdict.FAIL if min_tls else Verdict.WARN)
    severity = {f.code: f.severity for f in deep.all_findings()}
    assert severity["tls.version-deprecated"] is Severity.WARN
    assert "tls.no-modern-version" not in severity
    if min_tls:
        assert severity["tls.below-minimum"] is Severity.FAIL


def legacy_probes() -> tuple[DeepProbe, ...]:
    def probe(name: str, outcome: ProbeOutcome) -> DeepProbe:
        return DeepProbe(kind=ProbeKind.VERSION, name=name, outcome=outcome, detail="")

    return (
        probe("TLSv1", ProbeOutcome.ACCEPTED),
        probe("TLSv1.1", ProbeOutcome.ACCEPTED),
        probe("TLSv1.2", ProbeOutcome.REFUSED),
        probe("TLSv1.3", ProbeOutcome.REFUSED),
    )


def test_no_modern_version_is_a_warning_when_only_the_probes_know() -> None:
    probes = legacy_probes()
    found = {f.code: f.severity for f in evaluate_deep("mx", probes, core_version=None)}
    assert found["tls.no-modern-version"] is Severity.WARN
    found = {f.code: f.severity for f in evaluate_deep("mx", probes, core_version="TLSv1.1")}
    assert "tls.no-modern-version" not in found


def test_min_tls_judges_the_probes_when_the_core_session_had_no_tls() -> None:
    probes = legacy_probes()
    assert best_version(None, probes) == "TLSv1.1"
    (below,) = tls_minimum_findings("mx", best_version(None, probes), Policy(min_tls="1.2"))
    assert below.code == "tls.below-minimum"
    assert below.severity is Severity.FAIL
    assert best_version(None, ()) is None


def test_static_rsa_only_server() -> None:
    ca = make_ca("test CA")
    context = context_for(
        ca, key="rsa2048", maximum_version=ssl.TLSVersion.TLSv1_2, ciphers="AES128-GCM-SHA256"
    )
    report = deep_check(context, ca)
    assert outcomes(report)["static-rsa"] is ProbeOutcome.ACCEPTED
    assert "cipher.static-rsa" in codes(report)
    assert report.verdict is Verdict.WARN


def test_server_that_follows_the_client_order() -> None:
    ca = make_ca("test CA")
    context = context_for(ca, maximum_version=ssl.TLSVersion.TLSv1_2)
    context.options &= ~ssl.OP_CIPHER_SERVER_PREFERENCE
    report = deep_check(context, ca)
    assert outcomes(report)["server-order"] is ProbeOutcome.CLIENT_ORDER
    assert "cipher.client-order" in codes(report)
    enforcing = context_for(ca, maximum_version=ssl.TLSVersion.TLSv1_2)
    enforcing.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    assert outcomes(deep_check(enforcing, ca))["server-order"] is ProbeOutcome.SERVER_ORDER


def injection_server(ca: Issued, *, keep_buffered: bool, delay: float = 0.0) -> Script:
    """STARTTLS that keeps (vulnerable) or discards (correct) what was pipelined with it."""
    context = context_for(ca)

    async def server(conn: ServerConnection) -> None:
        await conn.send(b"220 mx.example.test ESMTP\r\n")
        while (line := await conn.read_line()) is not None:
            verb = line.split(b" ")[0].strip().upper()
            if verb == b"EHLO":
                tls = b"" if conn.tls_active else b"250-STARTTLS\r\n"
                await conn.send(b"250-mx.example.test\r\n" + tls + b"250 8BITMIME\r\n")
            elif verb == b"STARTTLS":
                await conn.send(b"220 go ahead\r\n")
                await conn.start_tls(context, keep_buffered=keep_buffered)
            elif verb == b"NOOP":
                await asyncio.sleep(delay)  # slower than one step of the timeout
                await conn.send(b"250 2.0.0 OK\r\n")
            elif verb == b"QUIT":
                await conn.send(b"221 bye\r\n")
                return

    return server


@pytest.mark.parametrize(
    ("keep_buffered", "vulnerable", "delay"),
    [(True, True, 0.0), (False, False, 0.0), (True, True, 1.2)],
    ids=["vulnerable", "correct", "vulnerable-and-slow"],
)
def test_starttls_command_injection(keep_buffered: bool, vulnerable: bool, delay: float) -> None:
    """A server that keeps the plaintext pipelined behind STARTTLS answers it inside TLS."""
    ca = make_ca("test CA")
    server = injection_server(ca, keep_buffered=keep_buffered, delay=delay)

    async def go() -> DomainReport:
        async with mail_world(MX_ZONE, {"127.0.0.2": server}, ca=ca) as world:
            return await world.check("example.test", deep=True, timeout=1.0)

    report = run(go())
    probe = report.hosts[0].injection
    assert probe is not None
    if vulnerable:
        assert probe.outcome is ProbeOutcome.ANSWERED
        # Replies come in order: the pipelined NOOP's answer arrives before QUIT's, however
        # slowly the server gives it.
        assert "250 2.0.0 OK" in probe.detail
        assert "starttls.command-injection" in codes(report)
        assert report.verdict is Verdict.FAIL
    else:
        assert probe.outcome is ProbeOutcome.IGNORED
        assert "starttls.command-injection" not in codes(report)


def test_probes_respect_one_connection_per_address() -> None:
    ca = make_ca("test CA")
    inner = partial(standard_session, hostname="mx.example.test", tls_context=context_for(ca))
    open_now, peak, sessions = 0, 0, 0

    async def counting(conn: ServerConnection) -> None:
        nonlocal open_now, peak, sessions
        open_now += 1
        sessions += 1
        peak = max(peak, open_now)
        try:
            await inner(conn)
        finally:
            open_now -= 1

    async def go() -> DomainReport:
        async with mail_world(MX_ZONE, {"127.0.0.2": counting}, ca=ca) as world:
            return await world.check("example.test", deep=True, timeout=1.0)

    report = run(go())
    assert peak == 1
    tested = [p for p in report.hosts[0].deep if p.outcome is not ProbeOutcome.UNTESTABLE]
    # main session, each probe, order needs two, the injection probe
    assert sessions == 1 + len(tested) + 1 + 1


def test_deep_rules_are_silent_without_probes() -> None:
    assert evaluate_deep("mx [127.0.0.2]:25", ()) == []
    untestable = DeepProbe(
        kind=ProbeKind.CIPHER, name="rc4", outcome=ProbeOutcome.UNTESTABLE, detail=""
    )
    assert [f.code for f in evaluate_deep("mx", (untestable,))] == ["deep.untestable"]


@pytest.mark.parametrize("vulnerable", [True, False], ids=["vulnerable", "correct"])
def test_injection_is_probed_in_every_check_without_deep(vulnerable: bool) -> None:
    """The default check runs the injection probe: one more session, no --deep needed."""
    ca = make_ca("test CA")
    server = injection_server(ca, keep_buffered=vulnerable)

    async def go() -> DomainReport:
        async with mail_world(MX_ZONE, {"127.0.0.2": server}, ca=ca) as world:
            return await world.check("example.test", injection_probe=True, timeout=1.0)

    report = run(go())
    host = report.hosts[0]
    assert host.deep == ()
    assert host.injection is not None
    if vulnerable:
        assert host.injection.outcome is ProbeOutcome.ANSWERED
        assert "starttls.command-injection" in codes(report)
        assert report.verdict is Verdict.FAIL
    else:
        assert host.injection.outcome is ProbeOutcome.IGNORED
        assert codes(report) == []
        assert report.verdict is Verdict.PASS


def test_the_injection_probe_can_be_skipped() -> None:
    ca = make_ca("test CA")
    server = injection_server(ca, keep_buffered=True)

    async def go() -> DomainReport:
        async with mail_world(MX_ZONE, {"127.0.0.2": server}, ca=ca) as world:
            return await world.check("example.test", injection_probe=False, timeout=1.0)

    report = run(go())
    assert report.hosts[0].injection is None
    assert "starttls.command-injection" not in codes(report)


def test_every_check_runs_the_injection_probe_unless_told_not_to() -> None:
    from starttls_check.run.check import CheckSettings

    assert CheckSettings(nameservers=()).injection_probe  # the tests' harness turns it off
