"""The rulebook's `lifecycle:` section: the documented example compiles, errors name fields."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from leadflow.errors import RulebookError
from leadflow.rules import OrgRefs, compile_rulebook
from leadflow.rules.lifecycle import lifecycle_of, parse_duration

DOCS = Path(__file__).parents[3] / "docs" / "rulebook.md"
BASE = {"rules": [], "fallback": {"queue": "unassigned"}}


def _documented_example() -> dict[str, object]:
    text = DOCS.read_text(encoding="utf-8")
    section = text[text.index("## Lifecycle (`lifecycle:`)") :]
    block = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert block is not None
    loaded = yaml.safe_load(block.group(1))
    assert isinstance(loaded, dict)
    return loaded


def test_documented_example_compiles() -> None:
    doc = {**BASE, **_documented_example()}
    compile_rulebook(doc, OrgRefs(check=False))
    spec = lifecycle_of(doc)
    assert spec.sla.policies[0].within == 300
    assert spec.reroute.on_change == ["company.country"]


@pytest.mark.parametrize(
    ("section", "field"),
    [
        ({"sla": {"default": {"name": "x", "within": "soon"}}}, "lifecycle.sla.default.within"),
        ({"dedup": {"keys": ["fax"]}}, "lifecycle.dedup.keys.0"),
        ({"sla": {"policies": [{"name": "p", "within": "5m", "when": {"nope": 1}}]}},
         "lifecycle.sla.policies.0.when"),
        ({"scoring": {"colour": "red"}}, "lifecycle.scoring.colour"),
    ],
)  # fmt: skip
def test_errors_name_the_field(section: dict[str, object], field: str) -> None:
    with pytest.raises(RulebookError) as info:
        compile_rulebook({**BASE, "lifecycle": section}, OrgRefs(check=False))
    assert field in info.value.message


def test_durations() -> None:
    assert [parse_duration(x) for x in ("90s", "5m", "1h", "2d", 30)] == [90, 300, 3600, 172800, 30]
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration("5 minutes")
    with pytest.raises(ValueError, match="between"):
        parse_duration("0s")
