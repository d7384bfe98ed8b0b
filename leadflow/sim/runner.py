"""Run competing rulebooks on the same history, several seeded runs each.

Run i of every rulebook uses seed `seed + i` for the rep behaviours, absences and
draws, so rulebooks are compared on the same simulated days (common random numbers),
and the spread across runs gives the confidence intervals.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from leadflow.domain.matching import lead_context
from leadflow.domain.rulebook import Rulebook
from leadflow.sim.conversion import ConversionModel, Observation, calibrate
from leadflow.sim.engine import SimConfig, Simulation, owner_matches
from leadflow.sim.leads import SimLead
from leadflow.sim.metrics import confidence
from leadflow.sim.world import World, behaviours, with_absences

SAME_DAY = 8 * 3600.0


@dataclass(frozen=True)
class Calibration:
    model: ConversionModel
    response_median_min: dict[str, float]  # by rep e-mail


def calibrate_from(world: World, leads: Sequence[SimLead]) -> Calibration:
    """Fit conversion and per-rep response times from the history's outcomes, if any."""
    reps = {r.email: r for r in world.org.reps.values()}
    obs = []
    delays: dict[str, list[float]] = {}
    for lead in leads:
        if lead.converted is None:
            continue
        rep = reps.get(lead.owner_email)
        hours = None
        if lead.first_contact is not None:
            wait = lead.first_contact - lead.created
            hours = wait / 3600
            if rep is not None and 0 <= wait <= SAME_DAY:
                delays.setdefault(rep.email, []).append(wait / 60)
        matched = owner_matches(rep, lead_context(lead.document(), world.org, {})) if rep else True
        obs.append(
            Observation(lead.score or 50.0, hours, lead.owner_email, matched, lead.converted)
        )
    medians = {e: round(statistics.median(d), 1) for e, d in delays.items() if len(d) >= 20}
    return Calibration(calibrate(obs), medians)


def simulate(
    world: World,
    books: Sequence[tuple[str, Rulebook]],
    leads: Sequence[SimLead],
    *,
    runs: int = 3,
    seed: int = 7,
    config: SimConfig | None = None,
    calibration: Calibration | None = None,
    progress: Callable[[int], None] | None = None,
    jobs: int = 1,
) -> dict[str, Any]:
    config = config or SimConfig()
    cal = calibration or calibrate_from(world, leads)
    job = _Job(world, dict(books), leads, config, cal, seed)
    tasks = [(name, i) for i in range(runs) for name, _ in books]
    results: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in books}
    if jobs > 1 and len(tasks) > 1:
        # Runs are independent: spread them over processes (each gets the job once).
        with ProcessPoolExecutor(min(jobs, len(tasks)), initializer=_adopt, initargs=(job,)) as ex:
            for name, summary in ex.map(_run_adopted, tasks):
                results[name].append(summary)
                if progress is not None:
                    progress(len(leads))
    else:
        for name, i in tasks:
            results[name].append(job.run(name, i, progress))
            if progress is not None:
                progress(len(leads) % 1000)
    return {
        "leads": len(leads),
        "runs": runs,
        "seed": seed,
        "config": {
            "sla_minutes": config.sla_minutes,
            "reassign_after_hours": config.reassign_after_hours,
            "drain_days": config.drain_days,
        },
        "calibration": {
            "from_leads": cal.model.calibrated_from,
            "half_life_hours": cal.model.half_life_hours,
            "base_by_score_decile": list(cal.model.base),
            "mismatch": cal.model.mismatch,
            "reps_with_response_times": len(cal.response_median_min),
        },
        "rulebooks": {name: aggregate(rs) for name, rs in results.items()},
    }


@dataclass(frozen=True)
class _Job:
    """Everything one run needs; run i of any rulebook uses seed + i."""

    world: World
    books: dict[str, Rulebook]
    leads: Sequence[SimLead]
    config: SimConfig
    calibration: Calibration
    seed: int

    def run(
        self, name: str, i: int, progress: Callable[[int], None] | None = None
    ) -> dict[str, Any]:
        leads = self.leads
        start = leads[0].created if leads else 0.0
        days = (leads[-1].created - start) / 86_400 + self.config.drain_days if leads else 1.0
        run_seed = self.seed + i
        sim = Simulation(
            with_absences(self.world, start, days, run_seed),
            self.books[name],
            behaviours(self.world, run_seed, self.calibration.response_median_min),
            accounts=self.world.accounts,
            model=self.calibration.model,
            config=self.config,
            seed=run_seed,
            queues=self.world.queues,
            tiers=self.world.tiers,
        )
        return sim.run(leads, progress).summary()


_ADOPTED: list[_Job] = []


def _adopt(job: _Job) -> None:
    _ADOPTED[:] = [job]


def _run_adopted(task: tuple[str, int]) -> tuple[str, dict[str, Any]]:
    name, i = task
    return name, _ADOPTED[0].run(name, i)


METRICS: list[tuple[str, str, str]] = [
    # (path in a run summary, label, which is better)
    ("time_to_owner_min.p50", "Time to owner p50 (min)", "lower"),
    ("time_to_owner_min.p90", "Time to owner p90 (min)", "lower"),
    ("time_to_owner_min.p99", "Time to owner p99 (min)", "lower"),
    ("time_to_contact_min.p50", "Time to first contact p50 (min)", "lower"),
    ("time_to_contact_min.p90", "Time to first contact p90 (min)", "lower"),
    ("time_to_contact_min.p99", "Time to first contact p99 (min)", "lower"),
    ("contacted_within_5_min_pct", "Contacted within 5 min (%)", "higher"),
    ("never_contacted_pct", "Never contacted (%)", "lower"),
    ("queue_age_min.p50", "Age in queue p50 (min)", "lower"),
    ("queue_age_min.p90", "Age in queue p90 (min)", "lower"),
    ("gini_count", "Gini of leads per rep", "lower"),
    ("gini_value", "Gini of value per rep", "lower"),
    ("sla_breaches_pct", "SLA breaches (%)", "lower"),
    ("reassignments", "Reassignments", "lower"),
    ("expected_conversions", "Expected conversions", "higher"),
    ("expected_revenue", "Expected revenue", "higher"),
]


def _get(summary: dict[str, Any], path: str) -> float | None:
    value: Any = summary
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return None if value is None else float(value)


def aggregate(runs: list[dict[str, Any]]) -> dict[str, Any]:
    metrics = {}
    for path, _, _ in METRICS:
        values = [v for r in runs if (v := _get(r, path)) is not None]
        metrics[path] = confidence(values) if values else None
    return {"metrics": metrics, "runs": runs}
