"""Score a lead before routing (points model or the active trained model), so rules can
test `score`; the explanation goes in the decision trace and in `lead.scoring`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadflow.domain.scoring import DEFAULT_FACTORS, Factor, LogisticModel, Score, score_points
from leadflow.rules.lifecycle import ScoringSpec
from leadflow.services import lifecycle_config
from leadflow.store.lifecycle_models import ScoringModelRow


def factors_of(spec: ScoringSpec) -> tuple[Factor, ...]:
    if spec.factors is None:
        return DEFAULT_FACTORS
    return tuple(
        Factor(
            f.name,
            f.field,
            f.group,
            tuple((b.min, b.points) for b in f.bands),
            dict(f.values),
            f.per,
            f.max,
            f.points,
        )
        for f in spec.factors
    )


def active_model(s: Session) -> tuple[int, LogisticModel] | None:
    row = s.scalar(select(ScoringModelRow).where(ScoringModelRow.active.is_(True)).limit(1))
    return (row.id, LogisticModel.from_dict(row.model)) if row is not None else None


def compute(s: Session, doc: dict[str, Any], spec: ScoringSpec) -> tuple[Score, dict[str, Any]]:
    """The score by the configured model, and how it was chosen."""
    if spec.model != "points":
        trained = active_model(s)
        if trained is not None:
            model_id, model = trained
            return model.score(doc), {"model_id": model_id}
        if spec.model == "trained":
            return score_points(factors_of(spec), doc), {"fallback": "no trained model active"}
    return score_points(factors_of(spec), doc), {}


def score_lead(
    s: Session, doc: dict[str, Any], spec: ScoringSpec, notes: list[dict[str, Any]]
) -> None:
    if doc.get("score") is not None and spec.keep_given_score and "scoring" not in doc:
        notes.append({"step": "score", "score": doc["score"], "model": "given by the source"})
        return
    score, how = compute(s, doc, spec)
    doc["score"] = score.value
    doc["scoring"] = {**score.explain(), **how}
    notes.append({"step": "score", **doc["scoring"]})


def rescore(s: Session, doc: dict[str, Any], notes: list[dict[str, Any]]) -> None:
    """After a field change: recompute a score we computed (a given score is kept)."""
    spec = lifecycle_config.spec(s).scoring
    if spec.enabled and "scoring" in doc:
        score_lead(s, doc, spec, notes)
