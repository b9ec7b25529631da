"""The generic serialiser: the model as plain JSON values, and the schema's identity.

Used by the JSON renderer and by the baseline reader (which compares today's report with an
earlier one in the same shape), so it lives below both.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from enum import Enum
from typing import Any

SCHEMA_NAME = "starttls-check/report"
SCHEMA_VERSION = 2


_PLAIN = frozenset({str, int, float, bool, type(None)})
# Field names per dataclass type: a bulk run serialises the same few types millions of times.
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def to_jsonable(value: Any) -> Any:
    """Dataclasses, enums, datetimes and tuples to plain JSON values."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    names = _FIELD_NAMES.get(kind)
    if names is None and dataclasses.is_dataclass(value) and not isinstance(value, type):
        names = _FIELD_NAMES.setdefault(kind, tuple(f.name for f in dataclasses.fields(value)))
    if names is not None:
        return {name: to_jsonable(getattr(value, name)) for name in names}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [to_jsonable(v) for v in value]
    return value
