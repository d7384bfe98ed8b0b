"""Rulebook documents (YAML/JSON) → validated → compiled immutable `Rulebook`."""

from leadflow.rules.compile import OrgRefs, compile_rulebook, parse_document

__all__ = ["OrgRefs", "compile_rulebook", "parse_document"]
