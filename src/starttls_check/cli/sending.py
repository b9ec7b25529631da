"""The sending-side modes on the command line: `--headers`, `--postfix-config` and
`--receive`. `command.py` hands over here when one of them is given; the domain check's
options and targets do not apply and are refused."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import UsageError
from .sending_options import MODES, RECEIVE_ONLY

if TYPE_CHECKING:
    from ..judge.sending_gate import SendingReport
    from ..model.findings import Severity

# Options of the domain check that mean nothing here.
FOREIGN: tuple[str, ...] = (
    "targets",
    "demo",
    "config",
    "baseline",
    "deep",
    "nameservers",
)
FOREIGN += ("protocol", "port", "ca_files", "require_dane", "require_mta_sts", "min_tls")
FOREIGN += ("trust_anchor", "policy_checks", "retries", "allow", "require_valid_cert")
FOREIGN += ("ehlo", "cert_expiry_days", "injection_probe", "dnssec", "advisories", "quiet")
FOREIGN += ("input", "resume", "summary", "summarize", "progress", "window", "dask")
FOREIGN += ("max_rate", "max_rate_overall", "dask_chunk")


def run_sending(options: Mapping[str, Any], given: Mapping[str, Any], *, color: bool) -> int:
    """Run the one mode asked for, write its outputs, return the exit code."""
    modes = [m for m in MODES if options.get(m) is not None]
    if len(modes) > 1:
        raise UsageError("give one of --headers, --postfix-config and --receive")
    foreign = [name for name in FOREIGN if name in given and given[name] != ()]
    if foreign:
        raise UsageError(f"--{modes[0].replace('_', '-')} does not take {_flag(foreign[0])}")
    if modes[0] != "receive":
        if options["transcript"]:  # a dialogue exists only where there were sessions
            raise UsageError(f"--{modes[0].replace('_', '-')} does not take -v")
        stray = [name for name in RECEIVE_ONLY if name in given]
        if stray:
            raise UsageError(f"{_flag(stray[0])} needs --receive")
    if "certificate" in given and ("cert" in given or "key" in given):
        raise UsageError("--certificate shows a generated certificate: not with --cert/--key")
    formats = [options["output_format"], *(f for f, _ in options["outputs"])]
    if any(f not in ("table", "json") for f in formats):
        raise UsageError("--headers, --postfix-config and --receive write table or json only")
    report = _report(modes[0], options)
    from ..judge.sending_gate import sending_gate

    fail_on = _fail_on(options)
    _write(report, options, fail_on, color=color)
    return int(sending_gate(report, fail_on))


_FLAGS = {"targets": "a target", "nameservers": "--nameserver", "ca_files": "--ca-file"}
_FLAGS |= {"policy_checks": "--no-policy-checks", "injection_probe": "--no-injection-probe"}
_FLAGS |= {"quiet": "-q"}


def _flag(name: str) -> str:
    return _FLAGS.get(name, "--" + name.replace("_", "-"))


def _fail_on(options: Mapping[str, Any]) -> Severity:
    from ..model.findings import Severity

    return Severity(options["fail_on"])


def _report(mode: str, options: Mapping[str, Any]) -> SendingReport:
    if mode == "headers":
        from ..run.sending import check_headers

        source = options["headers"]
        return check_headers(_read_message(source), source)
    if mode == "postfix_config":
        from ..model.sending import SettingsError
        from ..render.sanitize import terminal_safe
        from ..run.sending import check_postfix_config

        path = Path(options["postfix_config"])
        try:
            return check_postfix_config(path, datetime.now(UTC))
        except (FileNotFoundError, SettingsError) as exc:
            # postconf's complaint quotes the file's bytes: escaped, bounded, one line.
            raise UsageError(terminal_safe(str(exc), limit=400)) from None
    from .receiving import run_receive

    return run_receive(options)


def _read_message(source: str) -> bytes:
    """The message, at most the header parser's limit (the headers come first)."""
    from ..policy.received import MAX_INPUT

    if source == "-":
        return sys.stdin.buffer.read(MAX_INPUT)
    try:
        with Path(source).open("rb") as handle:
            return handle.read(MAX_INPUT)
    except OSError as exc:
        raise UsageError(f"{source}: {exc.strerror or exc}") from None


def _write(
    report: SendingReport, options: Mapping[str, Any], fail_on: Severity, *, color: bool
) -> None:
    from ..render.sending import render_sending
    from .app import _output_width

    generated_at = datetime.now(UTC)
    for output_format, path in options["outputs"]:
        text = render_sending(output_format, report, generated_at=generated_at, fail_on=fail_on)
        try:
            Path(path).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise UsageError(
                f"cannot write {output_format} report to {path}: {exc.strerror}"
            ) from None
    sys.stdout.write(
        render_sending(
            options["output_format"],
            report,
            generated_at=generated_at,
            fail_on=fail_on,
            color=color,
            width=_output_width(),
            verbose=options["transcript"],
        )
    )
