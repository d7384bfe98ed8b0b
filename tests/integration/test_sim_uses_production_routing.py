"""The simulator routes with the production code: same inputs, same decisions as intake.

The same org document is loaded into the service database (SQLite and PostgreSQL) and
into the simulator; the same leads go through `services.routing.intake` and through a
simulation. The sequence of owners must be identical, rotation by rotation.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import yaml

from leadflow.schemas import LeadIn
from leadflow.services import loader, routing, rulebooks
from leadflow.services.context import Services
from leadflow.sim.engine import SimConfig, Simulation
from leadflow.sim.leads import SimLead
from leadflow.sim.world import behaviours, load_world

ORG = {
    "teams": [{"name": "france"}, {"name": "dach"}],
    "territories": [
        {"name": "france", "team": "france", "countries": ["FR", "BE"]},
        {"name": "dach", "team": "dach", "countries": ["DE", "AT"]},
    ],
    "reps": [
        {"name": f"F{i}", "email": f"f{i}@x.example", "teams": ["france"], "weight": i + 1}
        for i in range(4)
    ]
    + [
        {"name": f"D{i}", "email": f"d{i}@x.example", "teams": ["dach"], "languages": ["de"]}
        for i in range(3)
    ]
    + [{"name": "Off", "email": "off@x.example", "teams": ["france"], "status": "away"}],
    # Live, a queued lead waits; here too (no rep claims), so loads stay comparable.
    # `leadflow load` ignores this section.
    "simulation": {"defaults": {"claims_per_hour": 0}},
}
BOOKS = {
    "round_robin": "round_robin",
    "weighted": "weighted",
    "load_balanced": "load_balanced",
}
COUNTRIES = ["FR", "DE", "BE", "US", "FR", "AT", "FR", "DE", "FR", "FR", "BE", "DE"]


def _rulebook(method: str) -> str:
    return yaml.safe_dump(
        {
            "rules": [
                {
                    "name": "fr",
                    "when": {"territory.name": "france"},
                    "assign": {"team": "france", "method": method},
                },
                {
                    "name": "de",
                    "when": {"territory.name": "dach"},
                    "assign": {"team": "dach", "method": "round_robin", "match_language": True},
                },
            ],
            "fallback": {"queue": "unassigned"},
        }
    )


def _lead(i: int) -> dict[str, object]:
    country = COUNTRIES[i % len(COUNTRIES)]
    return {
        "external_id": f"ext-{i}",
        "email": f"p{i}@prospect{i}.example",
        "language": "de" if country in ("DE", "AT") else "fr",
        "company": {"name": f"P{i}", "domain": f"prospect{i}.example", "country": country},
        "score": float(i % 100),
    }


@pytest.mark.parametrize("method", list(BOOKS))
def test_simulation_routes_like_live_intake(svc: Services, method: str) -> None:
    """Round robin, weighted and load balanced: the same owners in the same order."""
    text = yaml.safe_dump(ORG)
    loader.load(svc, loader.parse(text))
    rulebooks.save(svc, _rulebook(method))
    n = 36
    start = svc.clock.now()  # type: ignore[attr-defined]
    live = []
    for i in range(n):
        view, _ = routing.intake(svc, LeadIn.model_validate(_lead(i)))
        live.append((view["external_id"], view["status"], view["owner_rep_id"]))
        svc.clock.advance(minutes=1)  # type: ignore[attr-defined]
    emails = {r["id"]: r["email"] for r in _reps(svc)}

    world = load_world(text)
    sim_emails = {r.id: r.email for r in world.org.reps.values()}
    journal: list[tuple[str, str, int | None]] = []
    sim = Simulation(
        world.org,
        world.compile(_rulebook(method)),
        behaviours(world, 1, {}),
        config=SimConfig(reassign_after_hours=None),
        journal=journal,
    )
    sim.run(_sim_leads(n, start))

    def named(rows: list[tuple[str, str, int | None]], by_id: dict[int, str]) -> list[tuple]:
        return [(x, kind, by_id.get(rid) if rid else None) for x, kind, rid in rows]

    assert named(journal, sim_emails) == named(live, emails)
    assigned = [r for r in journal if r[1] == "assigned"]
    assert len({rid for _, _, rid in assigned}) >= 5  # the rotation really rotated


def _reps(svc: Services) -> list[dict[str, object]]:
    from leadflow.services import org

    return org.list_reps(svc)


def _sim_leads(n: int, start: datetime) -> list[SimLead]:
    out = []
    for i in range(n):
        d = _lead(i)
        company = d["company"]
        assert isinstance(company, dict)
        out.append(
            SimLead(
                external_id=str(d["external_id"]),
                created=(start + timedelta(minutes=i)).astimezone(UTC).timestamp(),
                email=str(d["email"]),
                language=str(d["language"]),
                score=float(d["score"]),  # type: ignore[arg-type]
                company_name=company["name"],
                company_domain=company["domain"],
                company_country=company["country"],
            )
        )
    return out
