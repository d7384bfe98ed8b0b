"""How a simulated rep behaves: how fast they call, accept offers, claim from pools.

Every number is a parameter of a rep (`RepBehaviour`); the org file's `simulation:`
section sets them per rep, the history calibrates what it can (response times), and
`generate` draws a plausible team when nothing is given. Draws go through one
`random.Random`, so a seed reproduces a run.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any


@dataclass(frozen=True, slots=True)
class RepBehaviour:
    response_median_min: float = 20.0
    """Median working minutes between getting a lead and the first call."""
    response_sigma: float = 1.0
    """Spread of the log-normal response time (0 = always the median)."""
    accept_probability: float = 0.8
    """Chance the rep accepts an offer they see."""
    offer_response_median_s: float = 60.0
    """Median seconds (working time) before the rep answers an offer."""
    claims_per_hour: float = 4.0
    """How often, while at work and under capacity, the rep looks at pools and claims."""
    cherry_pick: float = 0.0
    """Chance that a claim takes the best-scored lead rather than the oldest (0..1)."""
    min_claim_score: float = 0.0
    """A rep never claims a lead scored below this (the extreme cherry-picker)."""
    performance: float = 1.0
    """Multiplier on conversion odds (1 = average rep)."""
    meetings_per_day: float = 1.0
    """Mean number of 30-60 minute meetings per working day (unreachable meanwhile)."""
    work_days_median: float = 3.0
    """Median days a contacted lead stays open (counts against capacity) before closing."""

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any], base: RepBehaviour | None = None) -> RepBehaviour:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ValueError(f"unknown behaviour field {unknown[0]!r}; known: {sorted(known)}")
        values = {k: float(v) for k, v in raw.items()}
        for key in ("accept_probability", "cherry_pick"):
            if key in values and not 0 <= values[key] <= 1:
                raise ValueError(f"{key} must be between 0 and 1")
        for key, value in values.items():
            if value < 0:
                raise ValueError(f"{key} must not be negative")
        return replace(base or cls(), **values)


def lognormal(rng: random.Random, median: float, sigma: float) -> float:
    if sigma <= 0:
        return median
    return median * math.exp(rng.gauss(0.0, sigma))


def response_seconds(rng: random.Random, b: RepBehaviour) -> float:
    """Working seconds from receiving a lead to the first call."""
    return lognormal(rng, b.response_median_min * 60.0, b.response_sigma)


def offer_answer(rng: random.Random, b: RepBehaviour) -> tuple[bool, float]:
    """(accepts?, working seconds before answering)."""
    return rng.random() < b.accept_probability, lognormal(rng, b.offer_response_median_s, 0.8)


def claim_gap_seconds(rng: random.Random, b: RepBehaviour) -> float:
    """Working seconds until the rep next looks at the pools (Poisson process)."""
    if b.claims_per_hour <= 0:
        return math.inf
    return rng.expovariate(b.claims_per_hour / 3600.0)


def open_days(rng: random.Random, b: RepBehaviour) -> float:
    return lognormal(rng, b.work_days_median, 0.6)


def generate(rng: random.Random, rep_ids: list[int]) -> dict[int, RepBehaviour]:
    """A plausible, varied team: a few fast responders, a few slow, some cherry-pickers."""
    out = {}
    for rid in rep_ids:
        out[rid] = RepBehaviour(
            response_median_min=round(lognormal(rng, 25.0, 0.7), 1),
            response_sigma=1.0,
            accept_probability=round(rng.uniform(0.6, 0.95), 2),
            offer_response_median_s=round(lognormal(rng, 60.0, 0.5)),
            claims_per_hour=round(rng.uniform(2.0, 6.0), 1),
            cherry_pick=round(rng.choice([0.0, 0.2, 0.5, 0.9]), 1),
            performance=round(lognormal(rng, 1.0, 0.25), 2),
            meetings_per_day=round(rng.uniform(0.5, 2.0), 1),
        )
    return out
