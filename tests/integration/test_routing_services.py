"""Intake, dry-run, decisions and lead listing through the services."""

from __future__ import annotations

from sqlalchemy import func, select

from leadflow.schemas import LeadIn, RepIn, RepPatch
from leadflow.services import org, routing
from leadflow.services.context import Services
from leadflow.store.models import DecisionRow, LeadRow, RepLoadRow, RotationRow
from leadflow.testing import FrozenClock
from tests.integration.conftest import french_team, post


def _snapshot(svc: Services) -> tuple[int, int, list[object], list[object]]:
    with svc.db.read() as s:
        return (
            s.scalar(select(func.count()).select_from(LeadRow)) or 0,
            s.scalar(select(func.count()).select_from(DecisionRow)) or 0,
            [r.state for r in s.scalars(select(RotationRow).order_by(RotationRow.pool_key))],
            [
                (r.rep_id, r.open_count, r.day_count)
                for r in s.scalars(select(RepLoadRow).order_by(RepLoadRow.rep_id))
            ],
        )


class TestDryRun:
    def test_dry_run_decides_but_stores_nothing(self, svc: Services) -> None:
        """The answer names owner, rule and trace; no lead, decision, turn or count changes."""
        ids = french_team(svc, 2)
        post(svc, company={"country": "FR"})
        before = _snapshot(svc)
        result = routing.dry_run(svc, LeadIn.model_validate({"company": {"country": "FR"}}))
        assert (result["outcome"], result["rule"], result["owner_rep_id"]) == (
            "assigned",
            "france",
            ids[1],
        )
        assert result["owner_name"] == "france 1"
        assert result["trace"]["steps"][0]["conditions"][0]["result"] is True
        assert _snapshot(svc) == before
        # and the real intake still gives the next turn to the same rep
        assert post(svc, company={"country": "FR"})["owner_rep_id"] == ids[1]


class TestIntakeRecords:
    def test_decision_trace_explains_skips_and_choice(self, svc: Services) -> None:
        """The stored decision lists candidates with skip reasons, the method and timing."""
        ids = french_team(svc, 2)
        org.update_rep(svc, ids[0], RepPatch(status="away"))
        lead = post(svc, company={"country": "FR"})
        (decision,) = routing.get_decisions(svc, lead["id"])
        assert decision["id"] == lead["decision_id"]
        assert (decision["outcome"], decision["method"], decision["rep_id"]) == (
            "assigned",
            "round_robin",
            ids[1],
        )
        step = decision["trace"]["steps"][0]
        assert [(c["rep_id"], c["skipped"]) for c in step["candidates"]] == [
            (ids[0], "away"),
            (ids[1], None),
        ]
        assert decision["trace"]["decide_us"] >= 0
        assert decision["rulebook_version"] == 1

    def test_rotation_survives_a_restart(self, svc: Services) -> None:
        """A new process (fresh Services, empty caches) continues the same rotation."""
        ids = french_team(svc, 3)
        first = [post(svc, company={"country": "FR"})["owner_rep_id"] for _ in range(2)]
        restarted = Services(svc.db, svc.clock)
        later = [post(restarted, company={"country": "FR"})["owner_rep_id"] for _ in range(2)]
        assert first + later == [ids[0], ids[1], ids[2], ids[0]]

    def test_team_changes_do_not_reset_turns(self, svc: Services) -> None:
        """A newcomer joins the rotation without resetting it; a leaver just drops out."""
        a, b, c = french_team(svc, 3)
        fr = {"company": {"country": "FR"}}
        owners = [post(svc, **fr)["owner_rep_id"] for _ in range(2)]
        d = org.create_rep(svc, RepIn(name="D", email="d@x.example", teams=["france"]))["id"]
        owners += [post(svc, **fr)["owner_rep_id"] for _ in range(4)]
        org.update_rep(svc, a, RepPatch(teams=[]))
        owners += [post(svc, **fr)["owner_rep_id"] for _ in range(3)]
        assert owners == [a, b, c, d, a, b, c, d, b]

    def test_idempotency_key_returns_the_same_lead(self, svc: Services) -> None:
        """The same Idempotency-Key again answers with the first lead, routes nothing."""
        french_team(svc, 2)
        lead = LeadIn.model_validate({"company": {"country": "FR"}})
        first, created = routing.intake(svc, lead, idempotency_key="k-1")
        again, created_again = routing.intake(svc, lead, idempotency_key="k-1")
        assert (created, created_again) == (True, False)
        assert again["id"] == first["id"] and again["owner_rep_id"] == first["owner_rep_id"]
        assert _snapshot(svc)[:2] == (1, 1)

    def test_capacity_reached_falls_back(self, svc: Services) -> None:
        """When every rep is at max_per_day the lead goes to the fallback queue."""
        french_team(svc, 1, capacity={"max_per_day": 2})
        statuses = [post(svc, company={"country": "FR"})["status"] for _ in range(3)]
        assert statuses == ["assigned", "assigned", "queued"]

    def test_daily_cap_resets_at_midnight_in_the_rep_timezone(
        self, svc: Services, clock: FrozenClock
    ) -> None:
        """14:00 UTC is 23:00 in Tokyo, 15:30 UTC is the next day there: a fresh daily cap."""
        french_team(svc, 1, timezone="Asia/Tokyo", capacity={"max_per_day": 1})
        clock.at = clock.at.replace(hour=14)
        statuses = [post(svc, company={"country": "FR"})["status"] for _ in range(2)]
        clock.advance(minutes=90)
        statuses.append(post(svc, company={"country": "FR"})["status"])
        assert statuses == ["assigned", "queued", "assigned"]


class TestListing:
    def test_pagination_and_filters(self, svc: Services) -> None:
        """Newest first, `next` pages through without gaps or repeats; filters narrow."""
        ids = french_team(svc, 2)
        made = [post(svc, company={"country": c})["id"] for c in ["FR", "US", "FR", "FR", "US"]]
        seen: list[int] = []
        page = routing.list_leads(svc, limit=2)
        while True:
            seen += [x["id"] for x in page["items"]]
            if page["next"] is None:
                break
            page = routing.list_leads(svc, limit=2, before=page["next"])
        assert seen == sorted(made, reverse=True)
        queued = routing.list_leads(svc, status="queued")["items"]
        assert {x["queue"] for x in queued} == {"unassigned"} and len(queued) == 2
        mine = routing.list_leads(svc, owner=ids[0])["items"]
        assert [x["id"] for x in mine] == [made[3], made[0]]
