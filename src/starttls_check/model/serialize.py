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
# Field names per type (None: not a dataclass); a bulk run serialises the same few types
# millions of times, and `dataclasses.fields` is slow to ask each time.
_FIELD_NAMES: dict[type, tuple[str, ...] | None] = {}


def to_jsonable(value: Any) -> Any:
    """Dataclasses, enums, datetimes and tuples to plain JSON values."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is tuple or kind is list:
        return [to_jsonable(v) for v in value]
    if kind not in _FIELD_NAMES:
        is_record = dataclasses.is_dataclass(value) and not isinstance(value, type)
        _FIELD_NAMES[kind] = tuple(f.name for f in dataclasses.fields(value)) if is_record else None
    names = _FIELD_NAMES[kind]
    if names is not None:
        return {name: to_jsonable(getattr(value, name)) for name in names}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [to_jsonable(v) for v in value]
    return value
