"""The sending-side reports as text: a table for people, JSON for machines.

The JSON envelope mirrors the domain report's (`schema/sending.schema.json`): schema
identity, tool version, the gate's outcome, the mode, and the one report.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from .. import __version__
from ..judge.sending_gate import SendingReport, sending_gate
from ..model.findings import Severity
from ..model.sending import HeaderReport, PostfixReport, ReceiveReport
from ..model.serialize import to_jsonable

SENDING_SCHEMA_NAME = "starttls-check/sending"
SENDING_SCHEMA_VERSION = 1
SENDING_FORMATS = ("table", "json")


def mode_of(report: SendingReport) -> str:
    if isinstance(report, HeaderReport):
        return "headers"
    if isinstance(report, PostfixReport):
        return "postfix-config"
    return "receive"


def sending_envelope(
    report: SendingReport, generated_at: datetime, fail_on: Severity = Severity.FAIL
) -> dict[str, Any]:
    return {
        "schema": SENDING_SCHEMA_NAME,
        "schema_version": SENDING_SCHEMA_VERSION,
        "tool": {"name": "starttls-check", "version": __version__},
        "generated_at": generated_at.isoformat(),
        "exit_code": int(sending_gate(report, fail_on)),
        "mode": mode_of(report),
        "report": to_jsonable(report),
    }


def render_sending(
    output_format: str,
    report: SendingReport,
    *,
    generated_at: datetime,
    fail_on: Severity = Severity.FAIL,
    color: bool = False,
    width: int = 100,
    verbose: bool = False,
) -> str:
    """The report in one of `SENDING_FORMATS`; pure ASCII JSON, escaped tables (the
    receive mode's with each client's dialogue when `verbose`)."""
    if output_format == "json":
        document = sending_envelope(report, generated_at, fail_on)
        return json.dumps(document, indent=2, ensure_ascii=True) + "\n"
    if output_format != "table":
        raise ValueError(f"unknown format {output_format!r}")
    if isinstance(report, HeaderReport):
        from .headers_table import render_headers

        return render_headers(report, color=color, width=width)
    if isinstance(report, PostfixReport):
        from .postfix_table import render_postfix

        return render_postfix(report, color=color, width=width)
    assert isinstance(report, ReceiveReport)
    from .receive_table import render_receive

    return render_receive(report, color=color, width=width, verbose=verbose)
