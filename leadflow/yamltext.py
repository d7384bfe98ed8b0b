"""YAML as people mean it, for org files and rulebooks.

PyYAML follows YAML 1.1, where `NO`, `no`, `on`, `off`, `yes` and `y`-like words are
booleans: Norway's country code `NO` in a territory or a rule silently became `False`.
This loader keeps YAML 1.2's rule (only true/false are booleans), and can point an error
path such as `reps.3.email` back to its line in the source.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import yaml

_BOOL = "tag:yaml.org,2002:bool"


class Yaml12Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans."""


Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != _BOOL]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Yaml12Loader.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)

YAMLError = yaml.YAMLError


def load(text: str) -> Any:
    """Parse one YAML document (raises YAMLError)."""
    return yaml.load(text, Loader=Yaml12Loader)  # a SafeLoader subclass: no arbitrary objects


def error_line(exc: yaml.YAMLError) -> int | None:
    """The 1-based line of a YAML syntax error, if PyYAML knows it."""
    mark = getattr(exc, "problem_mark", None)
    return mark.line + 1 if mark is not None else None


def line_of(text: str, path: Sequence[str | int]) -> int | None:
    """The 1-based line of the node at `path` (keys and list indexes); the deepest found."""
    try:
        node = yaml.compose(text, Loader=Yaml12Loader)
    except yaml.YAMLError:
        return None
    line = None
    for part in path:
        if node is None:
            break
        line = node.start_mark.line + 1
        node = _child(node, part)
    if node is not None:
        line = node.start_mark.line + 1
    return line


def _child(node: yaml.Node, part: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                return value  # type: ignore[no-any-return]
        return None
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int):
        return node.value[part] if 0 <= part < len(node.value) else None  # type: ignore[no-any-return]
    return None
