"""Renderers: terminal safety, the table and JSON against golden files, the schema.

Golden files are regenerated only on purpose:
`UPDATE_GOLDEN=1 python -m pytest tests/test_render.py`.
"""

from __future__ import annotations

import json
import os
from importlib.resources import files
from pathlib import Path

import jsonschema
import pytest

from starttls_check.model.report import Delivery, PolicyUse, SenderOutcome
from starttls_check.render.json_report import render_json
from starttls_check.render.sanitize import terminal_safe
from starttls_check.render.table import render_table

from .samples import HOSTILE, NOW, sample_report

GOLDEN = Path(__file__).parent / "golden"


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plain text", "plain text"),
        ("\x1b[2J", "\\x1b[2J"),
        ("bell\x07", "bell\\x07"),
        ("nul\x00", "nul\\x00"),
        ("csi\x9b", "csi\\x9b"),
        ("del\x7f", "del\\x7f"),
        ("cr\rlf\n", "cr\\x0dlf\\x0a"),
        ("rtl\u202eoverride", "rtl\\u202eoverride"),
        ("isolate\u2066x", "isolate\\u2066x"),
        ("[bold]markup[/]", "[bold]markup[/]"),
        ("bücher ✓", "bücher ✓"),
    ],
)
def test_terminal_safe(raw: str, shown: str) -> None:
    assert terminal_safe(raw) == shown


def test_terminal_safe_caps_length() -> None:
    assert terminal_safe("x" * 1000, limit=10) == "x" * 9 + "…"


def assert_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(text)
    assert text == path.read_text()


def test_table_golden() -> None:
    text = render_table([sample_report()], color=False, width=100)
    assert_golden("table.txt", text)


def test_table_never_lets_server_text_act_on_the_terminal() -> None:
    for color in (False, True):
        text = render_table([sample_report()], color=color, width=100)
        assert "\x1b[2J" not in text
        assert "\x07" not in text
        assert "\u202e" not in text
        assert "\x9b" not in text
        assert "[bold red]x[/]" in text  # printed as text, never interpreted as markup
    colored = render_table([sample_report()], color=True, width=100)
    assert "\x1b[" in colored  # colour is on when asked for


def test_json_golden_and_schema() -> None:
    text = render_json([sample_report()], NOW)
    assert_golden("report.json", text)
    assert text.isascii()
    document = json.loads(text)
    schema = json.loads(files("starttls_check").joinpath("schema/report.schema.json").read_text())
    jsonschema.validate(document, schema, format_checker=jsonschema.FormatChecker())
    greeting = document["reports"][0]["hosts"][2]["facts"]["greeting"]["lines"][0]
    assert greeting == HOSTILE  # JSON keeps the facts exact; escaping is JSON's own


def test_schema_rejects_what_it_should() -> None:
    document = json.loads(render_json([sample_report()], NOW))
    schema = json.loads(files("starttls_check").joinpath("schema/report.schema.json").read_text())
    document["reports"][0]["verdict"] = "maybe"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, schema)


@pytest.mark.parametrize(
    ("delivery", "use", "absent", "short"),
    [
        (Delivery.ENCRYPTED, PolicyUse.ABSENT, "no policy", "no policy → encrypted"),
        (Delivery.REFUSED, PolicyUse.APPLIED, "no policy", "REFUSES"),
        (Delivery.ENCRYPTED, PolicyUse.TESTING, "no policy", "testing, reports"),
        (Delivery.CLEAR_TEXT, PolicyUse.IGNORED, "no TLSA", "TLSA ignored → CLEAR TEXT"),
        (Delivery.AUTHENTICATED, PolicyUse.APPLIED, "no TLSA", "encrypted, authenticated"),
        (Delivery.ENCRYPTED, PolicyUse.APPLIED, "no TLSA", "encrypted, unauthenticated"),
        (Delivery.ENCRYPTED, PolicyUse.NOT_APPLICABLE, "", "encrypted"),
        (Delivery.DEFERRED_IF_SIGNED, PolicyUse.APPLIED, "no TLSA", "defers if signed"),
    ],
)
def test_sender_outcomes_are_shortened_without_losing_the_consequence(
    delivery: Delivery, use: PolicyUse, absent: str, short: str
) -> None:
    from starttls_check.render.table import _sender_word

    outcome = SenderOutcome(delivery=delivery, policy=use, reason="(the sentence)")
    assert _sender_word(outcome, absent) == short
