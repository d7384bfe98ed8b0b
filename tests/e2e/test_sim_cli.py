"""`leadflow demo-data` then `leadflow simulate`, as a user runs them (real processes)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]


def cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "leadflow.cli.main", *map(str, args)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("sim")
    done = cli(
        "demo-data",
        "--leads",
        800,
        "--reps",
        8,
        "--out",
        d / "h.csv",
        "--org-out",
        d / "org.yaml",
        "--seed",
        3,
    )
    assert done.returncode == 0, done.stderr
    org = yaml.safe_load((d / "org.yaml").read_text())
    teams = [t["name"] for t in org["teams"]]
    push = {
        "rules": [
            {
                "name": t,
                "when": {"territory.name": t},
                "assign": {"team": t, "method": "round_robin"},
            }
            for t in teams
        ],
        "fallback": {"queue": "unassigned"},
    }
    pool = {
        "rules": [{"name": t, "when": {"territory.name": t}, "queue": t} for t in teams],
        "fallback": {"queue": "unassigned"},
    }
    (d / "push.yaml").write_text(yaml.safe_dump(push))
    (d / "pool.yaml").write_text(yaml.safe_dump(pool))
    return d


def _simulate(d: Path, out: str) -> subprocess.CompletedProcess[str]:
    return cli(
        "simulate",
        "--leads",
        d / "h.csv",
        "--org",
        d / "org.yaml",
        "--rulebook",
        d / "push.yaml",
        "--rulebook",
        d / "pool.yaml",
        "--out",
        d / out,
        "--seed",
        5,
        "--runs",
        2,
    )


def test_demo_data_writes_a_history_and_a_loadable_org(files: Path) -> None:
    """800 leads with outcome columns, and an org file with 8 reps."""
    lines = (files / "h.csv").read_text().splitlines()
    assert len(lines) == 801
    assert lines[0].endswith("owner_email,first_contact_at,converted,revenue")
    assert len(yaml.safe_load((files / "org.yaml").read_text())["reps"]) == 8


def test_simulate_writes_a_side_by_side_report_reproducibly(files: Path) -> None:
    """JSON + self-contained HTML, a verdict, and the same numbers with the same seed."""
    first = _simulate(files, "r1")
    assert first.returncode == 0, first.stderr
    assert "wins" in first.stdout or "too close" in first.stdout
    report = json.loads((files / "r1" / "report.json").read_text())
    assert set(report["rulebooks"]) == {"push", "pool"}
    push = report["rulebooks"]["push"]
    assert len(push["runs"]) == 2
    assert push["runs"][0]["leads"] == 800
    revenue = push["metrics"]["expected_revenue"]
    assert revenue["low"] <= revenue["mean"] <= revenue["high"]
    assert report["verdict"]
    html = (files / "r1" / "report.html").read_text()
    assert "<svg" in html and "push" in html and "pool" in html
    assert "<script" not in html and "http://" not in html and "https://" not in html
    second = _simulate(files, "r2")
    assert second.returncode == 0, second.stderr
    assert (files / "r2" / "report.json").read_text() == (files / "r1" / "report.json").read_text()


def test_a_broken_rulebook_is_named_with_its_rule(files: Path) -> None:
    """An unknown team is refused before anything runs, naming the file and the rule."""
    bad = files / "bad.yaml"
    bad.write_text(
        yaml.safe_dump(
            {
                "rules": [{"name": "typo", "assign": {"team": "sails", "method": "round_robin"}}],
                "fallback": {"queue": "unassigned"},
            }
        )
    )
    done = cli(
        "simulate",
        "--leads",
        files / "h.csv",
        "--org",
        files / "org.yaml",
        "--rulebook",
        files / "push.yaml",
        "--rulebook",
        bad,
        "--out",
        files / "r3",
    )
    assert done.returncode == 1
    assert "bad.yaml" in done.stderr and "typo" in done.stderr and "sails" in done.stderr
    assert not (files / "r3").exists()


def test_a_bad_history_line_is_reported_with_its_number(files: Path) -> None:
    """CLI errors give the line number."""
    lines = (files / "h.csv").read_text().splitlines()
    cells = lines[3].split(",")
    cells[1] = "not-a-date"
    lines[3] = ",".join(cells)
    broken = files / "broken.csv"
    broken.write_text("\n".join(lines) + "\n")
    done = cli(
        "simulate",
        "--leads",
        broken,
        "--org",
        files / "org.yaml",
        "--rulebook",
        files / "push.yaml",
        "--rulebook",
        files / "pool.yaml",
        "--out",
        files / "r4",
    )
    assert done.returncode == 1
    assert "broken.csv:4: created_at" in done.stderr
