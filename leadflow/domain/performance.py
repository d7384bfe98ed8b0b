"""Performance score for ranking reps in `cascade` (top producer) and `broadcast` offers.

Three signals, each in [0, 1], combined with configurable weights:

- conversion: won / (won + lost), shrunk towards the team mean with `prior`
  pseudo-observations (Bayesian, beta prior), so a rep with 1 win out of 1 is not
  ranked above one with 40 out of 60, and a new rep starts at the team mean, not 0;
- acceptance: accepted offers / answered-or-expired offers, shrunk the same way;
- speed: 1 - median response time / timeout (a rep without answers gets the team's).

Pure: the caller gathers each rep's counts from logged outcomes within a time window,
so the score follows performance as it changes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import median

NEUTRAL = 0.5  # a signal with no data for anybody says nothing either way


@dataclass(frozen=True, slots=True)
class RepStats:
    won: int = 0
    lost: int = 0
    offered: int = 0  # offers that ended: accepted, declined or expired
    accepted: int = 0
    response_seconds: tuple[float, ...] = ()


@dataclass(frozen=True, slots=True)
class Weights:
    conversion: float = 0.6
    acceptance: float = 0.25
    speed: float = 0.15
    prior: float = 5.0  # pseudo-observations at the team mean

    def total(self) -> float:
        return self.conversion + self.acceptance + self.speed


@dataclass(frozen=True, slots=True)
class Score:
    rep_id: int
    score: float
    conversion: float
    acceptance: float
    speed: float
    median_response_s: float | None
    stats: RepStats

    def as_trace(self) -> dict[str, object]:
        return {
            "rep_id": self.rep_id,
            "score": round(self.score, 4),
            "conversion": round(self.conversion, 4),
            "acceptance": round(self.acceptance, 4),
            "speed": round(self.speed, 4),
            "median_response_s": self.median_response_s,
            "won": self.stats.won,
            "lost": self.stats.lost,
            "offered": self.stats.offered,
            "accepted": self.stats.accepted,
        }


def shrunk_rate(successes: int, trials: int, mean: float, prior: float) -> float:
    """(successes + prior·mean) / (trials + prior): the team mean until data says otherwise."""
    if trials + prior == 0:
        return mean
    return (successes + prior * mean) / (trials + prior)


def _mean(successes: int, trials: int) -> float:
    return successes / trials if trials else NEUTRAL


def rank(
    rep_ids: Sequence[int], stats: Mapping[int, RepStats], weights: Weights, timeout_s: float
) -> list[Score]:
    """Scores of `rep_ids`, best first; ties keep the given order (stable)."""
    team = [stats.get(r, RepStats()) for r in rep_ids]
    conv_mean = _mean(sum(s.won for s in team), sum(s.won + s.lost for s in team))
    acc_mean = _mean(sum(s.accepted for s in team), sum(s.offered for s in team))
    all_times = [t for s in team for t in s.response_seconds]
    team_median = median(all_times) if all_times else None
    total = weights.total() or 1.0
    scores = []
    for rep_id, s in zip(rep_ids, team, strict=True):
        conv = shrunk_rate(s.won, s.won + s.lost, conv_mean, weights.prior)
        acc = shrunk_rate(s.accepted, s.offered, acc_mean, weights.prior)
        own_median = median(s.response_seconds) if s.response_seconds else None
        speed = _speed(own_median if own_median is not None else team_median, timeout_s)
        value = (
            weights.conversion * conv + weights.acceptance * acc + weights.speed * speed
        ) / total
        scores.append(Score(rep_id, value, conv, acc, speed, own_median, s))
    order = {r: i for i, r in enumerate(rep_ids)}
    return sorted(scores, key=lambda sc: (-sc.score, order[sc.rep_id]))


def _speed(median_s: float | None, timeout_s: float) -> float:
    if median_s is None or timeout_s <= 0:
        return NEUTRAL
    return 1.0 - min(max(median_s, 0.0), timeout_s) / timeout_s
