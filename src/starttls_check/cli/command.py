"""The `starttls-check` command: options in, an `Invocation` out, app.py does the rest.

Only click and the light parameter parsers are imported at start-up; DNS, TLS, crypto and
rich load when a check actually runs, so `--help` and `--version` stay fast.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

import click
from click.core import ParameterSource

from .. import __version__
from ..model.choices import OUTPUT_FORMATS, MailProtocol
from .bulk_options import bulk_options, bulk_request, bulk_wanted, config_names_input
from .errors import EXIT_USAGE, UsageError
from .names import POLICY_KEYS, SETTING_KEYS
from .sending_options import RECEIVE_ONLY, sending_options, sending_wanted

EXIT_INTERNAL = 4


def _convert(parser: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    """Wrap the pure parser `params.<parser>` as a click callback: ValueError becomes a
    usage error. The parsers are imported when a value is parsed, not for `--help`."""

    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        from . import params

        parse: Callable[[Any], Any] = getattr(params, parser)
        try:
            if value is None:
                return None
            if isinstance(value, tuple):
                return tuple(parse(v) for v in value)
            return parse(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc), ctx=ctx, param=param) from None

    return callback


def _terminal_width() -> int:
    """Help text width without click asking shutil (which costs start-up time)."""
    try:
        return int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        pass
    try:
        return os.get_terminal_size(sys.stdout.fileno()).columns
    except (OSError, ValueError):
        return 80


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("targets", nargs=-1, callback=_convert("parse_target"))
@click.option(
    "--nameserver",
    "nameservers",
    multiple=True,
    metavar="IP[:PORT]",
    callback=_convert("parse_nameserver"),
    help="Ask this name server (repeatable) instead of the system's.",
)
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    help="Port on every host [default: the protocol's, 25 for SMTP].",
)
@click.option(
    "--protocol",
    type=click.Choice([p.value for p in MailProtocol]),
    default="smtp",
    show_default=True,
    help="smtp, submission (587), smtps (465), lmtp (24), imap (143), imaps (993), "
    "pop3 (110), pop3s (995); the s forms are implicit TLS.",
)
@click.option(
    "--ca-file",
    "ca_files",
    multiple=True,
    metavar="PEM",
    type=click.Path(exists=True, dir_okay=False),
    help="Extra trust anchors (repeatable), added to the system trust store.",
)
@click.option(
    "--timeout",
    type=float,
    default=15.0,
    show_default=True,
    metavar="SECONDS",
    callback=_convert("parse_timeout"),
    help="Per-phase network timeout (connect, greeting, each reply, handshake); "
    "each address gets four times this in all.",
)
@click.option(
    "--ehlo",
    metavar="NAME",
    callback=_convert("parse_hostname"),
    help="Name sent in EHLO [default: this host's name if it has a dot, "
    "else starttls-check.localdomain].",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(OUTPUT_FORMATS),
    default="table",
    show_default=True,
    help="Report format on stdout.",
)
@click.option(
    "--output",
    "outputs",
    multiple=True,
    metavar="FORMAT:FILE",
    callback=_convert("parse_output"),
    help="Also write a report to FILE (repeatable), e.g. junit:report.xml.",
)
@click.option("--no-color", is_flag=True, help="No colour (NO_COLOR is honoured too).")
@click.option(
    "--config",
    type=click.Path(exists=True, dir_okay=False),
    metavar="TOML",
    help="Read domains, settings and policy from this file; options given here win.",
)
@click.option(
    "--fail-on",
    type=click.Choice(["warn", "fail"]),
    default="fail",
    show_default=True,
    help="The severity that makes the run fail (exit 1).",
)
@click.option(
    "--min-tls",
    metavar="1.2|1.3",
    callback=_convert("parse_min_tls"),
    help="A negotiated TLS version below this is a failure.",
)
@click.option(
    "--require-valid-cert/--no-require-valid-cert",
    default=False,
    help="Certificate problems (trust, name, expiry, weak key or signature) fail.",
)
@click.option(
    "--cert-expiry-days",
    type=int,
    default=14,
    show_default=True,
    metavar="N",
    callback=_convert("parse_expiry_days"),
    help="Warn when a certificate expires within N days.",
)
@click.option(
    "--allow",
    multiple=True,
    metavar="CODE[@HOST]",
    callback=_convert("parse_waiver_text"),
    help="Waive a finding code, optionally on one MX host (repeatable).",
)
@click.option(
    "--require-dane", is_flag=True, help="No DNSSEC-secure TLSA records for any MX is a failure."
)
@click.option(
    "--require-mta-sts", is_flag=True, help="No MTA-STS policy in enforce mode is a failure."
)
@click.option(
    "--no-policy-checks",
    "policy_checks",
    flag_value=False,
    default=None,
    help="Skip DANE, MTA-STS, TLS-RPT, SPF and DMARC (faster).",
)
@click.option(
    "--dnssec",
    "dnssec",
    type=click.Choice(["validate", "resolver"]),
    default="validate",
    show_default=True,
    help="validate: check DNSSEC here, from the root (or --trust-anchor); resolver: trust "
    "the name server's AD flag (only safe over a trusted path to a validating resolver).",
)
@click.option(
    "--trust-anchor",
    type=click.Path(exists=True, dir_okay=False),
    metavar="FILE",
    help="DNSSEC trust anchors (DS or DNSKEY records, zone-file syntax) instead of the root's.",
)
@click.option(
    "--baseline",
    type=click.Path(exists=True, dir_okay=False),
    metavar="JSON",
    help="Report what changed since this earlier --format json report.",
)
@click.option(
    "--retries",
    type=int,
    default=1,
    show_default=True,
    metavar="N",
    callback=_convert("parse_retries"),
    help="Retry an address that answered with a temporary 4xx reply N times.",
)
@click.option(
    "--deep",
    is_flag=True,
    help="Also probe each address for TLS versions, weak cipher classes and cipher order "
    "(a dozen more connections per address).",
)
@click.option(
    "--no-injection-probe",
    "injection_probe",
    flag_value=False,
    default=None,
    help="Skip the STARTTLS command injection probe (CVE-2011-0411), which costs one more "
    "connection per address.",
)
@click.option(
    "-v",
    "--transcript",
    is_flag=True,
    help="Print each session's dialogue with timings (and the chain) above its domain's "
    "table, and the advisories' hints.",
)
@click.option(
    "-q",
    "--quiet",
    is_flag=True,
    help="Table format: print only each domain's verdict line, one line per domain.",
)
@click.option(
    "--advisories/--no-advisories",
    default=True,
    help="Show or leave out the advisories in the table (SPF, DMARC, TLS-RPT and other "
    "findings that never change the verdict) [default: show]. JSON and the other formats "
    "always keep them: they are the full record.",
)
@click.option(
    "--explain", metavar="CODE", help="Explain a finding code at length ('list' lists them)."
)
@click.option("--demo", is_flag=True, help="Start a built-in loopback demo and check its domains.")
@sending_options()
@bulk_options
@click.version_option(__version__, "-V", "--version", prog_name="starttls-check")
@click.pass_context
def command(ctx: click.Context, /, **options: Any) -> None:
    """Check that mail sent to TARGETS travels encrypted: MX, STARTTLS, TLS, certificates.

    A target is a domain (example.com, example.com:587: MX lookup) or a host in brackets
    ([mx.example.com], [192.0.2.1]:25: checked directly).

    Exit codes: 0 pass or warn, 1 fail, 2 usage error, 3 inconclusive (name server
    unreachable, or every connection timed out: outbound port 25 may be blocked here).
    """
    from pathlib import Path

    from .app import Invocation, run

    if options["explain"]:
        sys.stdout.write(_explanation(options["explain"]))
        return

    given = {
        name: value
        for name, value in options.items()
        if ctx.get_parameter_source(name)
        in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)
    }
    color = not options["no_color"] and "NO_COLOR" not in os.environ and sys.stdout.isatty()
    if sending_wanted(options):
        from .sending import run_sending

        sys.exit(run_sending(options, given, color=color))
    if stray := [n for n in RECEIVE_ONLY if n in given]:
        raise UsageError(f"--{stray[0].replace('_', '-')} needs --receive")
    if "ca_files" in given:
        given["ca_files"] = tuple(Path(p) for p in given["ca_files"])
    policy = {k: v for k, v in given.items() if k in POLICY_KEYS}
    if "fail_on" in policy:
        from ..model.findings import Severity

        policy["fail_on"] = Severity(policy["fail_on"])
    if "allow" in policy:
        from ..model.findings import Waiver

        policy["allow"] = tuple(Waiver(code=c, host=h) for c, h in policy["allow"])
    if options["quiet"] and options["transcript"]:
        raise UsageError("-q prints only the verdict lines; drop -q or -v")
    invocation = Invocation(
        domains=options["targets"],
        demo=options["demo"],
        config=Path(options["config"]) if options["config"] else None,
        output_format=options["output_format"],
        outputs=tuple((f, Path(p)) for f, p in options["outputs"]),
        color=color,
        transcript=options["transcript"],
        quiet=options["quiet"],
        advisories=given.get("advisories"),
        baseline=Path(options["baseline"]) if options["baseline"] else None,
        settings={k: v for k, v in given.items() if k in SETTING_KEYS},
        policy=policy,
    )
    if bulk_wanted(options) or (not invocation.demo and config_names_input(invocation.config)):
        from .bulk import run_bulk

        sys.exit(run_bulk(invocation, bulk_request(options)))
    sys.exit(run(invocation))


def _explanation(code: str) -> str:
    from ..render.explanation import render_explanation, suggestions

    if code == "list":
        from ..model import catalogue

        return "".join(f"{c:<34} {catalogue.rule(c).severity}\n" for c in catalogue.codes())
    try:
        return render_explanation(code)
    except KeyError:
        close = suggestions(code)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise UsageError(f"unknown finding code {code!r}{hint}") from None


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Entry point: usage errors are one line on stderr and exit code 2, never a traceback."""
    try:
        command.main(
            args=argv,
            prog_name="starttls-check",
            standalone_mode=False,
            terminal_width=_terminal_width(),
        )
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.UsageError as exc:
        _usage(exc.format_message())
    except UsageError as exc:
        _usage(str(exc))
    except click.Abort:
        sys.stderr.write("starttls-check: interrupted\n")
        sys.exit(130)
    except Exception:  # our own bug: show it, and never let it read as "the domain failed"
        import traceback

        traceback.print_exc()
        sys.stderr.write("starttls-check: internal error (a bug in starttls-check)\n")
        sys.exit(EXIT_INTERNAL)
    sys.exit(0)


def _usage(message: str) -> NoReturn:
    sys.stderr.write(f"starttls-check: error: {message}\n")
    sys.exit(EXIT_USAGE)
