"""One invocation of the command, after argument parsing: layer the configuration, run the
check (or the demo), write every requested output, return the exit code.

Precedence, lowest first: built-in defaults, the config file's top level, the file's
`[domains."x"]` table, then options given on the command line. `--allow` waivers from the
command line are added to the file's rather than replacing them.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import EXIT_USAGE, NO_TARGETS, UsageError
from .names import INVOCATION_KEYS, SETTING_FIELDS

if TYPE_CHECKING:
    from ..model.findings import Policy
    from ..model.report import DomainReport
    from ..model.settings import Nameserver
    from ..run.check import CheckSettings

FALLBACK_EHLO = "starttls-check.localdomain"


@dataclass(frozen=True, slots=True, kw_only=True)
class Invocation:
    """What the command line asked for; only options actually given are in the overrides."""

    domains: tuple[Any, ...]  # Target values from the command line (str from a config)
    demo: bool = False
    config: Path | None = None
    output_format: str = "table"
    outputs: tuple[tuple[str, Path], ...] = ()
    color: bool = False
    transcript: bool = False  # -v: each domain's dialogues above its table
    quiet: bool = False  # -q: the verdict lines only
    advisories: bool | None = None  # --[no-]advisories, when given; else the config's
    baseline: Path | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)
    policy: Mapping[str, Any] = field(default_factory=dict)


def run(invocation: Invocation) -> int:
    """Check, write outputs, and return the exit code (see gate.py)."""
    config = _config(invocation.config) if invocation.config else None
    domains = invocation.domains or (config.domains if config else ())
    if invocation.demo and invocation.domains:
        raise UsageError("--demo checks its own domains; give no targets with it")
    if invocation.demo and {"nameservers", "ca_files", "port"} & invocation.settings.keys():
        raise UsageError("--demo brings its own name server, port and CA; drop those options")
    if invocation.demo and invocation.settings.get("protocol", "smtp") != "smtp":
        raise UsageError("--demo runs SMTP servers only; drop --protocol")
    if not invocation.demo and not domains:
        raise UsageError(NO_TARGETS)
    settings = _settings(invocation, config, domains)
    check_output_paths(invocation.outputs)  # a typo in a path must not cost a whole run
    reports = _run_demo(settings) if invocation.demo else _run(domains, settings)
    generated_at = datetime.now(UTC)
    if invocation.advisories is None and config and "advisories" in config.settings:
        advisories = config.settings["advisories"] is not False  # a bool: load_config checked
        invocation = dataclasses.replace(invocation, advisories=advisories)
    from ..judge.gate import gate

    verdict = int(gate(reports))
    if not _write_outputs(reports, invocation, generated_at):
        # The verdict is what CI gates on: a failing or inconclusive run keeps its code;
        # a passing run whose report could not be written is a usage error.
        return verdict or EXIT_USAGE
    return verdict


def _config(path: Path) -> Any:
    """The --config file, loaded (config.py is imported only when one is given)."""
    from .config import ConfigError, load_config

    try:
        return load_config(path)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None


def _settings(invocation: Invocation, config: Any, domains: Sequence[Any]) -> CheckSettings:
    from ..run.check import CheckSettings

    values: dict[str, Any] = dict(config.settings) if config else {}
    values.update(invocation.settings)  # the command line over the file
    for key in INVOCATION_KEYS:  # not the check's business: see run()
        values.pop(key, None)
    policies = _policies(invocation, config, domains, values)
    nameservers = values.pop("nameservers", None)
    if nameservers:
        resolvers = _nameservers(nameservers)
    else:  # the demo brings its own name server
        resolvers = () if invocation.demo else _system_nameservers()
    # CheckSettings holds the defaults: only what was given is passed, under its field name.
    given = {SETTING_FIELDS[k]: _setting_value(k, v) for k, v in values.items()}
    given.setdefault("ehlo_name", default_ehlo_name())
    return CheckSettings(
        nameservers=resolvers,
        policy=policies.pop(""),
        policies=policies,
        baseline=_baseline(invocation.baseline),
        **given,
    )


def _setting_value(key: str, value: Any) -> Any:
    """A setting as parsed (by params.py or the config file) to the type its field holds."""
    from ..model.choices import MailProtocol
    from ..model.settings import DnssecMode, Timeouts

    converters: dict[str, Callable[[Any], Any]] = {
        "timeout": Timeouts.per_phase,
        "protocol": MailProtocol,
        "dnssec": DnssecMode,
        "ca_files": tuple,
        "trust_anchor": lambda name: _trust_anchors(Path(name)),
    }
    return converters.get(key, lambda same: same)(value)


def _policies(
    invocation: Invocation, config: Any, domains: Sequence[Any], settings: Mapping[str, Any]
) -> dict[str, Policy]:
    """The effective policy of every domain (key "" for domains the file does not list)."""
    policies = {"": _cli_policy(invocation, config, None)}
    if config:
        for domain in config.domains:
            policies[domain] = _cli_policy(invocation, config, domain)
    no_checks = settings.get("policy_checks") is False
    if no_checks and any(p.require_dane or p.require_mta_sts for p in policies.values()):
        raise UsageError("--require-dane/--require-mta-sts need the policy checks")
    return policies


def _cli_policy(invocation: Invocation, config: Any, domain: str | None) -> Policy:
    from ..model.findings import Policy

    policy = Policy()
    if config:
        from .config import apply_policy

        policy = apply_policy(policy, config.policy)
        if domain is not None:
            policy = apply_policy(policy, config.domain_policy.get(domain, {}))
    overrides = dict(invocation.policy)
    if "allow" in overrides:
        overrides["allow"] = policy.allow + tuple(overrides["allow"])
    return dataclasses.replace(policy, **overrides)


def _trust_anchors(path: Path) -> Any:
    from ..dns.anchors import parse_trust_anchors

    try:
        return parse_trust_anchors(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeError, ValueError) as exc:
        raise UsageError(f"{path}: {exc}") from None


def _nameservers(pairs: Sequence[tuple[str, int]]) -> tuple[Nameserver, ...]:
    from ..model.settings import Nameserver

    return tuple(Nameserver(host=host, port=port) for host, port in pairs)


def _system_nameservers() -> tuple[Nameserver, ...]:
    """The name servers in /etc/resolv.conf: read here, at the top, and nowhere below."""
    import dns.resolver

    try:
        configured = dns.resolver.Resolver().nameservers
    except dns.resolver.NoResolverConfiguration:
        configured = []
    if not configured:
        raise UsageError("no name server configured on this system; use --nameserver IP")
    return _nameservers([(str(n), 53) for n in configured])


def _baseline(path: Path | None) -> Mapping[str, Mapping[str, Any]] | None:
    if path is None:
        return None
    from ..judge.baseline import BaselineError, load_baseline

    try:
        return load_baseline(path)
    except BaselineError as exc:
        raise UsageError(str(exc)) from None


def default_ehlo_name() -> str:
    """This host's name when it is fully qualified, else a fixed fallback.

    `socket.gethostname()` rather than `getfqdn()`: the latter asks the system resolver,
    which may be slow or unreachable, and the check must only ask the name servers named.
    """
    import socket

    from .params import parse_hostname

    name = socket.gethostname()
    try:
        return parse_hostname(name) if "." in name else FALLBACK_EHLO
    except ValueError:
        return FALLBACK_EHLO


def _run(domains: Sequence[Any], settings: CheckSettings) -> Sequence[DomainReport]:
    import asyncio

    from ..run.check import check_domains_async
    from ..tls.trust_store import TrustStoreError

    try:
        return asyncio.run(check_domains_async(list(domains), settings))
    except TrustStoreError as exc:
        raise UsageError(str(exc)) from None


def _run_demo(settings: CheckSettings) -> Sequence[DomainReport]:
    from ..demo.domains import run_demo

    return run_demo(settings)


def _output_width() -> int:
    """The terminal's width, or COLUMNS when piped, else 100; within 60 to 200."""
    try:
        width = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        width = os.get_terminal_size().columns if sys.stdout.isatty() else 100
    return max(60, min(width, 200))


def check_output_paths(outputs: Sequence[tuple[str, Path]]) -> None:
    """Refuse, before anything is probed, an --output file that cannot be written."""
    seen: set[Path] = set()
    for output_format, path in outputs:
        where = f"cannot write {output_format} report to {path}"
        resolved = path.resolve()
        if resolved in seen:
            raise UsageError(f"{where}: another --output writes there too")
        seen.add(resolved)
        folder = resolved.parent
        if resolved.is_dir():
            raise UsageError(f"{where}: it is a folder")
        if not folder.is_dir():
            raise UsageError(f"{where}: folder {folder} does not exist")
        if not os.access(resolved if resolved.exists() else folder, os.W_OK):
            raise UsageError(f"{where}: permission denied")


def _write_outputs(
    reports: Sequence[DomainReport], invocation: Invocation, generated_at: datetime
) -> bool:
    """Every output, then stdout; False when an --output file could not be written (said
    on stderr, and the others are still written)."""
    from ..render import render

    written = True
    for output_format, path in invocation.outputs:
        text = render(output_format, reports, generated_at=generated_at)
        try:
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            written = False
            reason = exc.strerror or type(exc).__name__
            sys.stderr.write(
                f"starttls-check: error: cannot write {output_format} report to {path}: {reason}\n"
            )
    sys.stdout.write(
        render(
            invocation.output_format,
            reports,
            generated_at=generated_at,
            color=invocation.color,
            width=_output_width(),
            transcript=invocation.transcript,
            advisories=invocation.advisories is not False,
            quiet=invocation.quiet,
        )
    )
    return written
