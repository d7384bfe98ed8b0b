"""How JSON columns are encoded (the engine's `json_serializer`, SQLite and PostgreSQL).

Every intake writes a decision trace of several kilobytes plus the lead document and
outbox payloads; the standard library encoder was a visible part of intake's CPU.
orjson writes the same JSON values several times faster. Where it would refuse or
differ — integers beyond 64 bits, NaN and infinities (which `json` writes as
non-standard tokens that it also reads back) — the value goes to `json.dumps` as before,
so every document stored before is still stored the same way.
"""

from __future__ import annotations

import json
import math
from typing import Any

import orjson

# Dates and dataclasses are refused, as `json.dumps` refuses them: a value that could not
# be stored before is not silently stored now.
_OPTIONS = (
    orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
)


def dumps(value: Any) -> str:
    """The JSON text of `value`, as `json.dumps` would read it back."""
    try:
        text = orjson.dumps(value, option=_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError: a type or integer size it does not take
        return json.dumps(value)
    if b"null" in text and _has_non_finite(value):
        return json.dumps(value)  # orjson writes NaN and infinities as null
    return text.decode()


def _has_non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_has_non_finite(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_has_non_finite(v) for v in value)
    return False
