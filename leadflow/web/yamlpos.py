"""Where in the YAML text is the error? Maps a RulebookError (rule + field path) or a
syntax error to a 1-based line number, so the editor can point at the line."""

from __future__ import annotations

import json

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from leadflow.errors import RulebookError


def error_line(source: str, exc: RulebookError) -> int | None:
    cause = exc.__cause__
    if isinstance(cause, yaml.MarkedYAMLError) and cause.problem_mark is not None:
        return cause.problem_mark.line + 1
    if isinstance(cause, json.JSONDecodeError):
        return cause.lineno
    try:
        root = yaml.compose(source)
    except yaml.YAMLError:
        return None
    if not isinstance(root, MappingNode):
        return 1
    node: Node | None = root
    line = root.start_mark.line + 1
    rule = getattr(exc, "rule", None)
    if rule == "fallback":
        key, node = _child(root, "fallback")
        line = _line(key, line)
    elif rule:
        key, node = _rule_node(root, rule)
        line = _line(key, line)
    if node is None:
        return line
    parts = [p for p in (exc.field or "").split(".") if p]
    return _descend(node, parts, line)


def _line(node: Node | None, default: int) -> int:
    return node.start_mark.line + 1 if node is not None else default


def _child(mapping: Node, name: str) -> tuple[Node | None, Node | None]:
    if isinstance(mapping, MappingNode):
        for key, value in mapping.value:
            if isinstance(key, ScalarNode) and key.value == name:
                return key, value
    return None, None


def _rule_node(root: MappingNode, rule: str) -> tuple[Node | None, Node | None]:
    _, rules = _child(root, "rules")
    if not isinstance(rules, SequenceNode):
        return None, None
    if rule.startswith("#") and rule[1:].isdigit():  # an unnamed rule, by position
        index = int(rule[1:]) - 1
        item = rules.value[index] if 0 <= index < len(rules.value) else None
        return item, item
    for item in rules.value:
        key, value = _child(item, "name")
        if isinstance(value, ScalarNode) and value.value == rule:
            return key, item
    return None, None


def _descend(node: Node, parts: list[str], line: int) -> int:
    """Follow the path as deep as the document goes; keys may contain dots
    (`company.size`), so the longest key matching the next parts wins."""
    i = 0
    while i < len(parts):
        if isinstance(node, SequenceNode) and parts[i].isdigit():
            index = int(parts[i])
            if index >= len(node.value):
                return line
            node = node.value[index]
            line = node.start_mark.line + 1
            i += 1
            continue
        for j in range(len(parts), i, -1):
            key, value = _child(node, ".".join(parts[i:j]))
            if key is not None and value is not None:
                line, node, i = key.start_mark.line + 1, value, j
                break
        else:
            return line
    return line
