"""Lead scores 0-100 with a per-factor explanation: a points model anyone can read, or a
trained logistic model whose explanation lists the features that weighed most."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as default
from typing import Any

from leadflow.domain.conditions import resolve

_MISSING = resolve({}, "x")


@dataclass(frozen=True, slots=True)
class Factor:
    """Points for one field: by bands (`size ≥ 200 → 20`), by value, per unit, or if set."""

    name: str
    field: str
    group: str = "fit"
    bands: tuple[tuple[float, float], ...] = ()  # (minimum, points), any order
    values: Mapping[str, float] = default(default_factory=dict)
    per: float | None = None  # points per unit of a count (pages viewed)
    max: float | None = None  # cap for `per`
    points: float | None = None  # when the field is truthy


@dataclass(frozen=True, slots=True)
class Contribution:
    factor: str
    group: str
    value: Any
    points: float
    why: str


@dataclass(frozen=True, slots=True)
class Score:
    value: float
    model: str
    contributions: tuple[Contribution, ...]

    def explain(self) -> dict[str, Any]:
        return {
            "score": self.value,
            "model": self.model,
            "factors": [
                {"factor": c.factor, "group": c.group, "value": c.value, "points": c.points,
                 "why": c.why}
                for c in self.contributions
            ],
        }  # fmt: skip


DEFAULT_FACTORS: tuple[Factor, ...] = (
    Factor("company size", "company.size", bands=((1000, 30), (200, 20), (50, 10))),
    Factor("industry", "company.industry", values={"software": 15, "finance": 10, "saas": 15}),
    Factor("country", "company.country", values={}),
    Factor("pages viewed", "attributes.pages_viewed", "behaviour", per=2, max=20),
    Factor("pricing page", "attributes.pricing_page", "behaviour", points=15),
    Factor("demo request", "attributes.demo_request", "behaviour", points=25),
    Factor("free-mail address", "enrichment.free_mail", "fit", points=-10),
)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "y", "on"}
    return bool(value) and value is not _MISSING


def _points(f: Factor, value: Any) -> tuple[float, str]:
    if f.bands:
        n = _number(value)
        for minimum, pts in sorted(f.bands, reverse=True):
            if n is not None and n >= minimum:
                return pts, f"{f.field} {n:g} ≥ {minimum:g}"
        return 0.0, f"{f.field} below every band"
    if f.values:
        key = str(value).casefold()
        table = {k.casefold(): v for k, v in f.values.items()}
        return table.get(key, 0.0), f"{f.field} is {value}"
    if f.per is not None:
        n = _number(value) or 0.0
        pts = n * f.per
        if f.max is not None:
            pts = min(pts, f.max)
        return pts, f"{n:g} x {f.per:g}" + (f" (max {f.max:g})" if f.max is not None else "")
    if f.points is not None and truthy(value):
        return f.points, f"{f.field} is set"
    return 0.0, ""


def score_points(factors: Sequence[Factor], lead: Mapping[str, Any]) -> Score:
    """Sum each factor's points, clamp to 0-100; only factors that scored are listed."""
    total = 0.0
    parts = []
    for f in factors:
        value = resolve(lead, f.field)
        if value is _MISSING or value is None:
            continue
        pts, why = _points(f, value)
        if pts:
            total += pts
            parts.append(Contribution(f.name, f.group, value, pts, why))
    return Score(round(max(0.0, min(100.0, total)), 1), "points", tuple(parts))


# ---------------------------------------------------------------- trained model


@dataclass(frozen=True, slots=True)
class Feature:
    """One model input: a numeric field (standardised) or one category of a text field."""

    name: str
    field: str
    category: str | None = None
    mean: float = 0.0
    std: float = 1.0

    def value(self, lead: Mapping[str, Any]) -> float:
        raw = resolve(lead, self.field)
        if self.category is not None:
            return 1.0 if str(raw).casefold() == self.category else 0.0
        n = _number(raw) if raw is not _MISSING else None
        if n is None and isinstance(raw, str):
            n = 1.0 if truthy(raw) else 0.0
        return ((n if n is not None else self.mean) - self.mean) / (self.std or 1.0)


@dataclass(frozen=True, slots=True)
class LogisticModel:
    features: tuple[Feature, ...]
    weights: tuple[float, ...]
    bias: float

    def probability(self, lead: Mapping[str, Any]) -> float:
        return _sigmoid(
            self.bias
            + sum(w * f.value(lead) for f, w in zip(self.features, self.weights, strict=True))
        )

    def score(self, lead: Mapping[str, Any], top: int = 5) -> Score:
        """Probability of conversion times 100; the top features by absolute contribution."""
        parts = []
        z = self.bias
        for f, w in zip(self.features, self.weights, strict=True):
            x = f.value(lead)
            z += w * x
            if x:
                parts.append(Contribution(f.name, "model", x, round(w * x, 3), f"weight {w:+.3f}"))
        parts.sort(key=lambda c: abs(c.points), reverse=True)
        return Score(round(100 * _sigmoid(z), 1), "trained", tuple(parts[:top]))

    def to_dict(self) -> dict[str, Any]:
        return {
            "bias": self.bias,
            "features": [
                {"name": f.name, "field": f.field, "category": f.category, "mean": f.mean,
                 "std": f.std, "weight": w}
                for f, w in zip(self.features, self.weights, strict=True)
            ],
        }  # fmt: skip

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> LogisticModel:
        feats = raw["features"]
        return cls(
            tuple(
                Feature(f["name"], f["field"], f["category"], f["mean"], f["std"]) for f in feats
            ),
            tuple(float(f["weight"]) for f in feats),
            float(raw["bias"]),
        )


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def auc(labels: Sequence[int], scores: Sequence[float]) -> float:
    """Area under the ROC curve: the chance a random positive outranks a random negative."""
    pairs = sorted(zip(scores, labels, strict=True))
    ranks = [0.0] * len(pairs)
    i = 0
    while i < len(pairs):
        j = i
        while j + 1 < len(pairs) and pairs[j + 1][0] == pairs[i][0]:
            j += 1
        for k in range(i, j + 1):
            ranks[k] = (i + j) / 2 + 1  # ties share their average rank
        i = j + 1
    pos = sum(1 for _, y in pairs if y)
    neg = len(pairs) - pos
    if not pos or not neg:
        return 0.5
    rank_sum = sum(r for r, (_, y) in zip(ranks, pairs, strict=True) if y)
    return (rank_sum - pos * (pos + 1) / 2) / (pos * neg)
