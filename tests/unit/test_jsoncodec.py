"""The JSON columns' encoder reads back exactly as the standard library's would."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadflow.store.jsoncodec import dumps

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=8) | st.integers(), inner, max_size=4),
    max_leaves=20,
)


def _same(a: object, b: object) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b and type(a) is type(b)


@given(json_values)
def test_reads_back_as_the_standard_encoder_would(value: object) -> None:
    assert _same(json.loads(dumps(value)), json.loads(json.dumps(value)))


def test_integers_orjson_refuses_keep_the_standard_encoding() -> None:
    assert dumps({"big": 2**70}) == json.dumps({"big": 2**70})
    assert dumps({"ok": 1.5, "s": "é"}) == '{"ok":1.5,"s":"é"}'


def test_nan_and_infinities_which_are_not_json_are_written_as_null() -> None:
    assert json.loads(dumps({"x": [float("nan"), float("-inf")]})) == {"x": [None, None]}


def test_string_enums_and_tuples_are_plain_json() -> None:
    class Colour(StrEnum):
        RED = "red"

    assert json.loads(dumps({"c": Colour.RED, "t": (1, 2), 3: None})) == {
        "c": "red", "t": [1, 2], "3": None,
    }  # fmt: skip


@pytest.mark.parametrize("value", [datetime(2026, 1, 1, tzinfo=UTC), {1, 2}])
def test_what_the_standard_encoder_refuses_is_still_refused(value: object) -> None:
    with pytest.raises(TypeError):
        dumps({"v": value})


def test_dataclasses_are_refused_too() -> None:
    @dataclass
    class Point:
        x: int

    with pytest.raises(TypeError):
        dumps(Point(1))
