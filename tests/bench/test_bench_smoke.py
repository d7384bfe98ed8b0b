"""The benchmark's machinery on tiny sizes, so it does not rot. No timing is asserted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.__main__ import main
from bench.report import BEGIN, END
from bench.run import Sizes, run

TINY = Sizes(
    reps=20,
    route_calls=30,
    decide_calls=5,
    baseline_rows=10,
    rate=40.0,
    latency_seconds=0.25,
    drain_seconds=20.0,
    throughput_seconds=0.3,
    concurrency=2,
    max_intake_per_s=100,
)


def test_tiny_run_measures_everything_and_loses_no_lead(tmp_path: Path) -> None:
    results = run(TINY, mode="smoke", workdir=tmp_path)
    route, decide = results["decision"]["route"], results["decision"]["decide"]
    assert route["count"] == 30 and route["reps"] == 20 and route["rules"] == 20
    assert sum(route["rules_hit"].values()) == 30
    assert decide["count"] == 5
    assert set(route) >= {"p50_ms", "p99_ms", "max_ms", "mean_ms"}
    assert route["cpu"]["count"] == 30 and decide["cpu"]["count"] == 5
    for side in ("before", "after"):
        assert results["baseline"][side]["rows"] == 10
        assert results["baseline"][side]["rows_per_s"] > 0
    intake = results["intake"]
    at_rate, flat = intake["latency_at_rate"], intake["throughput"]
    assert at_rate["sent"] == 10 and at_rate["errors"] == 0 and at_rate["unanswered"] == 0
    assert at_rate["disk_commit"]["count"] >= 1 and at_rate["disk_commit"]["over_50_ms"] >= 0
    assert flat["created"] >= 2 and flat["errors"] == 0
    if Path("/proc/self/stat").exists():
        assert flat["server_cpu_ms_per_lead"] > flat["writer_cpu_ms_per_lead"] > 0
    one = results["intake_one_process"]
    assert one["created"] >= 2 and one["errors"] == 0
    # Preloaded: the main run's warm-up and at-rate leads (20 + 10); then 20 warm-up leads.
    assert one["stored_leads"] == one["stored_decisions"] == 20 + 10 + 20 + one["created"]
    if Path("/proc/self/stat").exists():
        assert one["writer_cpu_ms_per_lead"] == 0  # no writer process: routed in HTTP
    # Every answered lead is stored with its decision, and nothing else is.
    assert intake["stored_leads"] == intake["answered_leads"] == intake["stored_decisions"]
    assert sum(intake["outcomes"].values()) == intake["stored_leads"]
    # Zero caps: nobody can take a lead, so every one is queued, none lost or assigned.
    full = results["intake_at_capacity"]
    assert full["created"] >= 2 and full["errors"] == 0
    assert full["outcomes"] == {"queued": full["stored_leads"]}
    assert full["stored_leads"] == full["stored_decisions"] == 20 + full["created"]
    assert [t["name"] for t in results["targets"]] == [
        "decision p99 (route, 20 rules, 200 reps)",
        "intake throughput / baseline rows/s",
        "intake p99 at 40 leads/s",
    ]
    assert all(isinstance(t["pass"], bool) for t in results["targets"])
    assert not list(tmp_path.iterdir())  # the temporary databases are gone
    assert set(results["phase_seconds"]) == {
        "seed",
        "decision",
        "baseline_before",
        "intake",
        "intake_one_process",
        "intake_at_capacity",
        "baseline_after",
    }


def test_command_writes_json_and_replaces_its_doc_section(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`python -m bench`: a JSON file per run; its doc section replaced, others' kept."""
    monkeypatch.setattr("bench.__main__.QUICK", TINY)
    doc = tmp_path / "performance.md"
    doc.write_text(
        f"# Performance\n\n## Someone else's section\n\nkept\n\n{BEGIN}\nold numbers\n{END}\n"
        "\n## A later section\n"
    )
    main(["--quick", "--name", "run1", "--results-dir", str(tmp_path), "--doc", str(doc)])
    saved = json.loads((tmp_path / "run1.json").read_text())
    assert saved["mode"] == "quick" and saved["sizes"]["reps"] == 20
    text = doc.read_text()
    assert text.count(BEGIN) == 1 and text.count(END) == 1
    assert "old numbers" not in text and "run1.json" in text and "### Targets" in text
    assert "Someone else's section\n\nkept" in text and text.endswith("## A later section\n")
