"""Score a lead before routing (points model or trained model), with an explanation."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session


def rescore(s: Session, doc: dict[str, Any], notes: list[dict[str, Any]]) -> None:
    """Recompute the score after a change (filled in by the scoring step)."""


def score_lead(s: Session, doc: dict[str, Any], spec: Any, notes: list[dict[str, Any]]) -> None:
    """Give the lead a 0-100 score before routing (filled in by the scoring step)."""
