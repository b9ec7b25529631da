"""The JSON report: a versioned envelope around the model, serialised generically.

No second model for JSON: every dataclass field becomes a key, enums their value,
datetimes ISO 8601 in UTC, tuples lists. The shape is described by
`schema/report.schema.json`; changing it bumps `SCHEMA_VERSION` (see CHANGELOG.md).
Output is pure ASCII: server text with C1 controls or bidi overrides cannot reach a
terminal that shows the JSON.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from .. import __version__
from ..judge.gate import gate
from ..model.report import DomainReport
from ..model.serialize import SCHEMA_NAME, SCHEMA_VERSION, to_jsonable


def envelope(reports: Sequence[DomainReport], generated_at: datetime) -> dict[str, Any]:
    """The whole document: schema identity, tool version, the gate's outcome, reports."""
    return {
        "schema": SCHEMA_NAME,
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "starttls-check", "version": __version__},
        "generated_at": generated_at.isoformat(),
        "exit_code": int(gate(reports)),
        "reports": [to_jsonable(r) for r in reports],
    }


def render_json(reports: Sequence[DomainReport], generated_at: datetime) -> str:
    """The report as indented JSON text, ending in a newline."""
    return json.dumps(envelope(reports, generated_at), indent=2, ensure_ascii=True) + "\n"
