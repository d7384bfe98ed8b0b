"""Small worlds for simulator tests: a team whose reps work around the clock."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from leadflow.sim.world import World, load_world

ALWAYS = {d: ["00:00-23:59"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def org_text(n_reps: int = 4, simulation: dict[str, Any] | None = None, **rep: Any) -> str:
    doc: dict[str, Any] = {
        "teams": [{"name": "sales"}],
        "reps": [
            {
                "name": f"Rep {i}",
                "email": f"rep{i}@sim.example",
                "teams": ["sales"],
                "timezone": "UTC",
                "working_hours": ALWAYS,
                **rep,
            }
            for i in range(n_reps)
        ],
        "simulation": {"vacation_probability": 0, **(simulation or {})},
    }
    return yaml.safe_dump(doc)


@pytest.fixture(scope="module")
def team_world() -> World:
    return load_world(
        org_text(
            simulation={
                "defaults": {
                    "response_median_min": 10,
                    "response_sigma": 0.3,
                    "claims_per_hour": 1,
                    "cherry_pick": 1.0,
                    "meetings_per_day": 0,
                    "performance": 1,
                }
            }
        )
    )
