"""Simulator benchmark: simulated leads per second, and the time to a full report.

    python -m bench.sim                      # 100k-lead scale run + 100k x 3 report
    python -m bench.sim --leads 1000000      # the full 1M x 100 reps target
    python -m bench.sim --quick              # small sizes (smoke)

Targets: 1,000,000 leads x 100 reps with a push rulebook in <= 60 s; the report for
100k leads and three rulebooks in <= 30 s. Each timing is the median of `--repeat`
runs. Baselines measured in the same run: live intake through the services on SQLite
(what replaying a history through a real database would cost), and the simulator with
full decision traces (`route(trace=True)`), to show what the flag saves.
Results: bench/results/sim.json.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from leadflow.sim.engine import SimConfig, Simulation
from leadflow.sim.history import generate_history, generate_leads, generate_org
from leadflow.sim.leads import SimLead
from leadflow.sim.world import World, behaviours, load_world, with_absences

RESULTS = Path(__file__).parent / "results" / "sim.json"
JOBS = os.cpu_count() or 1  # as `leadflow simulate` does by default


def rulebooks(org: dict[str, Any]) -> dict[str, str]:
    teams = [t["name"] for t in org["teams"]]
    by_territory = [{"name": t, "when": {"territory.name": t}} for t in teams]
    push = {
        "rules": [
            {**r, "assign": {"team": r["name"], "method": "round_robin"}} for r in by_territory
        ],
        "fallback": {"assign": {"team": teams[-1], "method": "load_balanced"}},
    }
    pool = {
        "rules": [{**r, "queue": r["name"]} for r in by_territory],
        "fallback": {"queue": "unassigned"},
    }
    hybrid = {
        "rules": [
            {
                "name": f"hot {t}",
                "when": {"all": [{"territory.name": t}, {"score": {"gte": 60}}]},
                "assign": {"team": t, "method": "round_robin"},
            }
            for t in teams
        ]
        + [{**r, "queue": r["name"]} for r in by_territory],
        "fallback": {"queue": "unassigned"},
    }
    return {
        name: yaml.safe_dump(doc)
        for name, doc in (("push", push), ("pool", pool), ("hybrid", hybrid))
    }


def engine_rulebooks(org: dict[str, Any]) -> dict[str, str]:
    """Rulebooks that keep the pull and offer engines busy (throughput per engine)."""
    teams = [t["name"] for t in org["teams"]]
    by_territory = [{"name": t, "when": {"territory.name": t}} for t in teams]

    def offer(team: str, mode: str) -> dict[str, Any]:
        spec = {"team": team, "mode": mode, "timeout": "2m", "then": {"queue": team}}
        return {"offer": spec | ({"size": 3} if mode == "broadcast" else {"max_rounds": 2})}

    return {
        f"offer_{mode}": yaml.safe_dump(
            {
                "rules": [{**r, **offer(r["name"], mode)} for r in by_territory],
                "fallback": {"queue": "unassigned"},
            }
        )
        for mode in ("cascade", "broadcast", "rotating")
    }


CPU: dict[str, float] = {}
"""CPU seconds of the last `median_time` (the machine is shared: wall time includes
waiting for a core, CPU time is what an idle machine would need)."""


def _cpu_with_children() -> float:
    """CPU seconds of this process and of finished worker processes (`--jobs`)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def median_time(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, cpu, result = [], [], None
    for _ in range(repeat):
        started, cpu_started = time.perf_counter(), _cpu_with_children()
        result = fn()
        times.append(time.perf_counter() - started)
        cpu.append(_cpu_with_children() - cpu_started)
    CPU["last"] = statistics.median(cpu)
    return statistics.median(times), result


def scale(
    world: World, book_text: str, n: int, repeat: int, *, trace: bool = False
) -> dict[str, Any]:
    """Replay a history of n leads held in memory, as `leadflow simulate` replays the
    history it has read (once for every rulebook and seeded run). Building the history is
    timed apart (`history_s`); `simulation_s` is the replay alone."""
    book = world.compile(book_text)
    org = with_absences(world, generate_start(), n / 1000 + 30, 1)
    reps = behaviours(world, 1, {})

    def build() -> list[SimLead]:
        return list(generate_leads(n, seed=11))

    history_s, history = median_time(build, 1)

    def simulate() -> int:
        sim = Simulation(
            org,
            book,
            reps,
            config=SimConfig(),
            seed=1,
            trace=trace,
            queues=world.queues,
            tiers=world.tiers,
        )
        return sim.run(history).leads

    # The history's objects live through every replay: out of the cyclic collector's
    # sight, as they would be in a long `leadflow simulate` (and as `Simulation.run` keeps
    # its own objects, see there).
    gc.freeze()
    try:
        sim_s, done = median_time(simulate, repeat)
    finally:
        gc.unfreeze()
    sim_cpu = CPU["last"]
    return {
        "leads": done,
        "reps": len(world.org.reps),
        "trace": trace,
        "history_s": round(history_s, 2),
        "simulation_s": round(sim_s, 2),
        "leads_per_s": round(done / sim_s),
        "simulation_cpu_s": round(sim_cpu, 2),
        "leads_per_cpu_s": round(done / sim_cpu),
    }


def generate_start() -> float:
    return next(iter(generate_leads(1, seed=11))).created


def report(
    world: World, books: dict[str, str], history: list[SimLead], runs: int, repeat: int, out: Path
) -> dict[str, Any]:
    """The `leadflow simulate` path: calibrate, simulate every rulebook, write the report."""
    from leadflow.sim import report as report_mod
    from leadflow.sim.runner import calibrate_from, simulate

    def full() -> None:
        compiled = [(name, world.compile(text)) for name, text in books.items()]
        cal = calibrate_from(world, history)
        result = simulate(world, compiled, history, runs=runs, seed=7, calibration=cal, jobs=JOBS)
        report_mod.write(result, out)

    seconds, _ = median_time(full, repeat)
    lead_sims = len(history) * len(books) * runs
    return {
        "leads": len(history),
        "rulebooks": len(books),
        "runs": runs,
        "jobs": JOBS,
        "seconds": round(seconds, 2),
        "cpu_seconds": round(CPU["last"], 2),
        "ideal_seconds_on_idle_cores": round(CPU["last"] / JOBS, 2),
        "simulated_leads_per_s": round(lead_sims / seconds),
    }


def live_baseline(org_text: str, book_text: str, n: int) -> dict[str, Any]:
    """Live intake through the services on a durable SQLite file: leads per second."""
    from leadflow.schemas import LeadIn
    from leadflow.services import loader, routing
    from leadflow.services import rulebooks as rb
    from leadflow.services.context import Services
    from leadflow.store.db import Database

    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'b.db'}")
        db.upgrade()
        svc = Services(db)
        loader.load(svc, loader.parse(org_text))
        rb.save(svc, book_text)
        docs = [LeadIn.model_validate(x.document()) for x in generate_leads(n, seed=11)]
        started = time.perf_counter()
        for doc in docs:
            routing.intake(svc, doc)
        seconds = time.perf_counter() - started
        db.dispose()
    return {"leads": n, "seconds": round(seconds, 2), "leads_per_s": round(n / seconds)}


def _report(args: argparse.Namespace, runs: int | None = None, repeat: int | None = None) -> Any:
    """The report benchmark on a 50-rep demo history (the demo-data defaults)."""
    org = generate_org(50, seed=7)
    history = list(generate_history(args.report_leads, org, seed=7))
    with tempfile.TemporaryDirectory() as tmp:
        return report(
            load_world(yaml.safe_dump(org)),
            rulebooks(org),
            history,
            runs or args.runs,
            repeat or args.repeat,
            Path(tmp),
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000, help="scale run size")
    parser.add_argument("--reps", type=int, default=100)
    parser.add_argument("--report-leads", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=1, help="seeded runs in the report")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one repeat")
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="only the report timing; stored as report_<runs>_run(s)_<N> in the results",
    )
    parser.add_argument(
        "--scale-only",
        action="store_true",
        help="only the scale run; stored as scale_push_<N> in the existing results",
    )
    args = parser.parse_args()
    if args.quick:
        args.leads, args.report_leads, args.repeat = 5_000, 5_000, 1

    org = generate_org(args.reps, seed=7)
    org_text = yaml.safe_dump(org)
    world = load_world(org_text)
    books = rulebooks(org)
    if args.scale_only or args.report_only:
        stored = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
        if args.scale_only:
            key, run = (
                f"scale_push_{args.leads}",
                scale(world, books["push"], args.leads, args.repeat),
            )
        else:
            key, run = f"report_{args.runs}_runs_{args.report_leads}", _report(args)
        run["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
        stored[key] = run
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(stored, indent=2) + "\n")
        print(json.dumps(run, indent=2))
        return
    results: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count() or 0},
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
    }
    print(f"scale: {args.leads:,} leads x {args.reps} reps, push rulebook …", flush=True)
    results["scale_push"] = scale(world, books["push"], args.leads, args.repeat)
    print(results["scale_push"], flush=True)
    traced = min(args.leads, 20_000)
    results["scale_push_traced_baseline"] = scale(
        world, books["push"], traced, args.repeat, trace=True
    )
    results["scale_push_untraced_same_size"] = scale(world, books["push"], traced, args.repeat)
    results["scale_pool_same_size"] = scale(world, books["pool"], traced, args.repeat)
    for name, text in engine_rulebooks(org).items():
        results[f"scale_{name}_same_size"] = scale(world, text, traced, args.repeat)
    results["live_intake_baseline"] = live_baseline(
        org_text, books["push"], 300 if args.quick else 1000
    )
    print(results["live_intake_baseline"], flush=True)

    print(f"report: {args.report_leads:,} leads x 3 rulebooks …", flush=True)
    results["report_1_run"] = _report(args, runs=1)
    print(results["report_1_run"], flush=True)
    if args.runs > 1:
        results[f"report_{args.runs}_runs"] = _report(args, repeat=1)
    s = results["scale_push"]
    results["extrapolated_1m_push_s"] = round(1_000_000 / s["leads_per_s"], 1)
    results["extrapolated_1m_push_cpu_s"] = round(1_000_000 / s["leads_per_cpu_s"], 1)
    results["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    results["ratios"] = {
        "simulator_vs_live_intake": round(
            s["leads_per_s"] / results["live_intake_baseline"]["leads_per_s"], 1
        ),
        "untraced_vs_traced": round(
            results["scale_push_untraced_same_size"]["leads_per_s"]
            / results["scale_push_traced_baseline"]["leads_per_s"],
            2,
        ),
        # CPU time: what the change saves, whatever else the shared machine runs.
        "untraced_vs_traced_cpu": round(
            results["scale_push_untraced_same_size"]["leads_per_cpu_s"]
            / results["scale_push_traced_baseline"]["leads_per_cpu_s"],
            2,
        ),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
