"""Conversion propensity: score * speed of first contact * rep * match.

    p = base(score) * 2^(-hours_to_contact / half_life) * performance(rep) * match

With the default half-life of 24 h a lead called within 24 h converts twice as often
as one called at 48 h (the rule of thumb sales managers quote). `calibrate` fits the
score curve, the half-life, the match penalty and each rep's performance from a history
that has outcomes; `generate` (demo data) and the simulator use the same model.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

SCORE_BINS = 10
MAX_P = 0.95


@dataclass(frozen=True, slots=True)
class Observation:
    """One historical lead with an outcome (owner and contact delay known)."""

    score: float
    hours_to_contact: float | None  # None: never contacted
    owner: str | None
    matched: bool
    converted: bool


def default_base() -> tuple[float, ...]:
    # From 2 % for the coldest decile to ~40 % for the hottest: the range quoted for
    # sales teams ("between 10 and 45 %") sits in the middle and top deciles.
    return tuple(round(0.02 + 0.38 * ((i + 0.5) / SCORE_BINS) ** 2, 4) for i in range(SCORE_BINS))


@dataclass(frozen=True, slots=True)
class ConversionModel:
    base: tuple[float, ...] = field(default_factory=default_base)
    half_life_hours: float = 24.0
    mismatch: float = 0.7
    """Multiplier when the owner lacks the lead's language or territory."""
    performance: Mapping[str, float] = field(default_factory=dict)
    """Calibrated per-rep multipliers, keyed by rep e-mail."""
    calibrated_from: int = 0

    def base_of(self, score: float | None) -> float:
        s = 50.0 if score is None else min(max(score, 0.0), 100.0)
        return self.base[min(int(s / (100.0 / SCORE_BINS)), SCORE_BINS - 1)]

    def decay(self, hours: float) -> float:
        return float(0.5 ** (max(hours, 0.0) / self.half_life_hours))

    def probability(
        self, score: float | None, hours: float | None, performance: float, matched: bool
    ) -> float:
        if hours is None or math.isinf(hours):
            return 0.0
        p = self.base_of(score) * self.decay(hours) * performance
        if not matched:
            p *= self.mismatch
        return min(p, MAX_P)

    def rep_performance(self, email: str, default: float = 1.0) -> float:
        return self.performance.get(email, default)


def calibrate(rows: Iterable[Observation], prior: ConversionModel | None = None) -> ConversionModel:
    """Fit the model to outcomes (a few passes of coordinate fitting; cheap and stable)."""
    obs = [o for o in rows if o.hours_to_contact is not None]
    model = prior or ConversionModel()
    if len(obs) < 200:
        return model  # too little data: keep the priors
    for _ in range(2):
        model = _fit_half_life(obs, model)
        model = _fit_base(obs, model)
        model = _fit_mismatch(obs, model)
        model = _fit_performance(obs, model)
    return ConversionModel(
        model.base, model.half_life_hours, model.mismatch, model.performance, len(obs)
    )


def _p(o: Observation, m: ConversionModel) -> float:
    assert o.hours_to_contact is not None
    perf = m.performance.get(o.owner or "", 1.0)
    return m.probability(o.score, o.hours_to_contact, perf, o.matched)


def _loglik(obs: list[Observation], m: ConversionModel) -> float:
    total = 0.0
    for o in obs:
        p = min(max(_p(o, m), 1e-6), 1 - 1e-6)
        total += math.log(p if o.converted else 1 - p)
    return total


def _with(m: ConversionModel, **changes: object) -> ConversionModel:
    values = {
        "base": m.base,
        "half_life_hours": m.half_life_hours,
        "mismatch": m.mismatch,
        "performance": m.performance,
    }
    values.update(changes)
    return ConversionModel(**values)  # type: ignore[arg-type]


def _fit_half_life(obs: list[Observation], m: ConversionModel) -> ConversionModel:
    sample = obs[:: max(1, len(obs) // 20_000)]
    grid = [3.0, 6.0, 12.0, 18.0, 24.0, 30.0, 36.0, 48.0, 72.0, 120.0]
    best = max(grid, key=lambda h: _loglik(sample, _with(m, half_life_hours=h)))
    return _with(m, half_life_hours=best)


def _ratio_by(obs: list[Observation], m: ConversionModel, key: object) -> dict[object, float]:
    """Observed ÷ expected conversions per group (expected without the fitted factor)."""
    won: dict[object, float] = defaultdict(float)
    expected: dict[object, float] = defaultdict(float)
    for o in obs:
        k = key(o)  # type: ignore[operator]
        won[k] += o.converted
        expected[k] += _p(o, m)
    return {k: won[k] / expected[k] for k in expected if expected[k] > 0}


def _fit_base(obs: list[Observation], m: ConversionModel) -> ConversionModel:
    ratios = _ratio_by(obs, m, lambda o: min(int(o.score / 10), SCORE_BINS - 1))
    base = tuple(round(min(m.base[i] * ratios.get(i, 1.0), MAX_P), 5) for i in range(SCORE_BINS))
    return _with(m, base=base)


def _fit_mismatch(obs: list[Observation], m: ConversionModel) -> ConversionModel:
    ratios = _ratio_by(obs, m, lambda o: o.matched)
    if False not in ratios or True not in ratios:
        return m
    return _with(m, mismatch=round(min(1.0, m.mismatch * ratios[False] / ratios[True]), 3))


def _fit_performance(obs: list[Observation], m: ConversionModel) -> ConversionModel:
    # Shrink towards 1 so a rep with a handful of leads is not judged on luck.
    won: dict[str, float] = defaultdict(float)
    expected: dict[str, float] = defaultdict(float)
    for o in obs:
        if o.owner:
            won[o.owner] += o.converted
            expected[o.owner] += _p(o, m)
    prior = 20.0
    perf = {
        rep: round(m.performance.get(rep, 1.0) * (won[rep] + prior) / (expected[rep] + prior), 3)
        for rep in expected
    }
    return _with(m, performance=perf)
