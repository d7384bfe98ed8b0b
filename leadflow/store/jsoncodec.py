"""How JSON columns are encoded (the engine's `json_serializer`, SQLite and PostgreSQL).

Every intake writes a decision trace of several kilobytes plus the lead document and
outbox payloads; the standard library encoder was a visible part of intake's CPU.
orjson writes the same JSON values several times faster. Integers beyond 64 bits, which
it refuses, go to `json.dumps` as before. One deliberate difference: NaN and infinities,
which are not JSON, are written as `null` (`json.dumps` wrote non-standard tokens that
SQLite's JSON functions cannot read and PostgreSQL refuses). Checking every document for
them cost more than encoding it, and validated fields (score, value) cannot hold them.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

# Dates and dataclasses are refused, as `json.dumps` refuses them: a value that could not
# be stored before is not silently stored now.
_OPTIONS = (
    orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
)


def dumps(value: Any) -> str:
    """The JSON text of `value`: what `json.dumps` wrote, compact and in UTF-8."""
    try:
        text = orjson.dumps(value, option=_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError: a type or integer size it does not take
        return json.dumps(value)
    return text.decode()
