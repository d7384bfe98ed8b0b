"""Re-routing: PATCH when the rulebook asks, redistribution of a leaving rep's leads,
manual reassignment by a manager — over real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from leadflow.schemas import RepIn, TeamIn
from leadflow.services import org, reassign, routing
from leadflow.services.context import Services
from leadflow.store.models import RepLoadRow
from tests.integration.lifecycle.conftest import activate, add_lead, make_org, rep_client

TWO_TEAMS = {
    "rules": [
        {"name": "germany", "when": {"company.country": "DE"},
         "assign": {"team": "dach", "method": "round_robin"}},
        {"name": "france", "when": {"company.country": "FR"},
         "assign": {"team": "sales", "method": "round_robin"}},
    ]
}  # fmt: skip


def _open(svc: Services) -> dict[int, int]:
    with svc.db.read() as s:
        return {r.rep_id: r.open_count for r in s.query(RepLoadRow)}


def _dach(svc: Services) -> int:
    org.create_team(svc, TeamIn(name="dach"))
    return org.create_rep(svc, RepIn(name="Hans", email="hans@corp.example", teams=["dach"]))["id"]


class TestPatchReroute:
    def test_country_change_reroutes_when_the_rulebook_asks(
        self, svc: Services, api: httpx.Client
    ) -> None:
        make_org(svc)
        hans = _dach(svc)
        activate(svc, {"reroute": {"on_change": ["company.country"]}}, **TWO_TEAMS)
        lead = add_lead(svc, company={"country": "FR"})
        french_rep = lead["owner_rep_id"]
        r = api.patch(f"/api/v1/leads/{lead['id']}", json={"company": {"country": "DE"}})
        assert r.status_code == 200, r.text
        assert r.json()["owner_rep_id"] == hans
        kinds = [d["kind"] for d in routing.get_decisions(svc, lead["id"])]
        assert kinds == ["route", "update", "reroute"]
        assert _open(svc)[french_rep] == 0 and _open(svc)[hans] == 1

    def test_without_the_rulebook_asking_a_patch_does_not_move_the_lead(
        self, svc: Services
    ) -> None:
        from leadflow.services import lifecycle

        make_org(svc)
        _dach(svc)
        activate(svc, None, **TWO_TEAMS)
        lead = add_lead(svc, company={"country": "FR"})
        view = lifecycle.patch_lead(svc, lead["id"], {"company": {"country": "DE"}})
        assert view["owner_rep_id"] == lead["owner_rep_id"]


class TestRedistribute:
    def _leaving_rep_with_leads(self, svc: Services) -> tuple[int, list[dict[str, Any]]]:
        make_org(svc, reps=3)
        activate(svc)
        leads = [add_lead(svc, email=f"l{n}@x.example") for n in range(9)]
        leaving = leads[0]["owner_rep_id"]
        return leaving, [lead for lead in leads if lead["owner_rep_id"] == leaving]

    def test_dry_run_previews_exactly_and_changes_nothing(
        self, svc: Services, api: httpx.Client
    ) -> None:
        leaving, mine = self._leaving_rep_with_leads(svc)
        before = _open(svc)
        url = f"/api/v1/reps/{leaving}/redistribute"
        preview = api.post(url, json={"dry_run": True, "reason": "leaves the company"})
        assert preview.status_code == 200, preview.text
        body = preview.json()
        assert body["dry_run"] is True and body["total"] == len(mine) == 3
        assert str(leaving) not in body["per_rep"]
        assert _open(svc) == before
        assert all(routing.get_lead(svc, m["id"])["owner_rep_id"] == leaving for m in mine)
        done = api.post(url, json={"reason": "leaves the company"}).json()
        # The real batch does what the preview said, lead by lead.
        assert done["items"] == body["items"] and done["dry_run"] is False

    def test_batch_moves_every_open_lead_away_and_keeps_progress(self, svc: Services) -> None:
        from leadflow.services import lifecycle

        leaving, mine = self._leaving_rep_with_leads(svc)
        lifecycle.change_status(svc, mine[0]["id"], "contacted")
        report = reassign.redistribute(svc, leaving, reason="parental leave")
        assert report["assigned"] == 3
        for m in mine:
            view = routing.get_lead(svc, m["id"])
            assert view["owner_rep_id"] not in (None, leaving)
        assert routing.get_lead(svc, mine[0]["id"])["status"] == "contacted"
        assert _open(svc)[leaving] == 0
        assert sum(_open(svc).values()) == 9
        last = routing.get_decisions(svc, mine[1]["id"])[-1]
        assert last["kind"] == "redistribute"
        assert last["trace"]["redistribute"] == {"from": leaving, "reason": "parental leave"}

    def test_only_staff_may_redistribute(self, svc: Services, api: httpx.Client) -> None:
        leaving, _ = self._leaving_rep_with_leads(svc)
        r = rep_client(api, svc, leaving).post(f"/api/v1/reps/{leaving}/redistribute", json={})
        assert r.status_code == 403


class TestManualReassign:
    def test_manager_reassigns_with_a_reason(self, svc: Services, api: httpx.Client) -> None:
        ids = make_org(svc, reps=2)
        activate(svc)
        lead = add_lead(svc)
        target = next(i for i in ids if i != lead["owner_rep_id"])
        r = api.post(
            f"/api/v1/leads/{lead['id']}/reassign",
            json={"rep_id": target, "reason": "speaks the prospect's language"},
        )
        assert r.status_code == 200, r.text
        assert r.json()["owner_rep_id"] == target
        last = routing.get_decisions(svc, lead["id"])[-1]
        assert (last["kind"], last["reason"]) == (
            "manual_reassign",
            "speaks the prospect's language",
        )
        assert _open(svc)[lead["owner_rep_id"]] == 0 and _open(svc)[target] == 1

    def test_away_rep_is_refused_unless_forced(self, svc: Services, api: httpx.Client) -> None:
        ids = make_org(svc, reps=2)
        activate(svc)
        lead = add_lead(svc)
        target = next(i for i in ids if i != lead["owner_rep_id"])
        api.patch(f"/api/v1/reps/{target}", json={"status": "away"})
        body = {"rep_id": target, "reason": "covering"}
        r = api.post(f"/api/v1/leads/{lead['id']}/reassign", json=body)
        assert r.status_code == 409 and "away" in r.text
        assert routing.get_lead(svc, lead["id"])["owner_rep_id"] == lead["owner_rep_id"]
        r = api.post(f"/api/v1/leads/{lead['id']}/reassign", json={**body, "force": True})
        assert r.status_code == 200 and r.json()["owner_rep_id"] == target

    def test_missing_reason_is_422(self, svc: Services, api: httpx.Client) -> None:
        make_org(svc)
        activate(svc)
        lead = add_lead(svc)
        r = api.post(f"/api/v1/leads/{lead['id']}/reassign", json={"rep_id": 1})
        assert r.status_code == 422 and "reason" in r.text


class TestRepEdits:
    def test_a_rep_edit_never_reroutes_and_cannot_set_the_score(
        self, svc: Services, api: httpx.Client
    ) -> None:
        """Anti-gaming: a rep cannot shed a lead (or grade it) by editing it."""
        make_org(svc)
        _dach(svc)
        activate(svc, {"reroute": {"on_change": ["company.country"]}}, **TWO_TEAMS)
        lead = add_lead(svc, company={"country": "FR"})
        client = rep_client(api, svc, lead["owner_rep_id"])
        url = f"/api/v1/leads/{lead['id']}"
        r = client.patch(url, json={"company": {"country": "DE"}})
        assert r.status_code == 200, r.text
        assert r.json()["owner_rep_id"] == lead["owner_rep_id"]
        assert client.patch(url, json={"score": 99}).status_code == 403


class TestRedistributeCli:
    def test_cli_dry_run_then_batch(
        self, svc: Services, tmp_path: object, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from typer.testing import CliRunner

        from leadflow.cli.main import app

        make_org(svc, reps=2)
        activate(svc)
        leads = [add_lead(svc, email=f"c{n}@x.example") for n in range(4)]
        monkeypatch.setenv("LEADFLOW_DATABASE_URL", svc.db.url)
        monkeypatch.setenv("COLUMNS", "200")
        runner = CliRunner()
        preview = runner.invoke(app, ["redistribute", "r0@corp.example", "--dry-run"])
        assert preview.exit_code == 0, preview.output
        assert "Would move 2 lead(s): 2 assigned" in preview.output
        assert {lead["owner_rep_id"] for lead in leads} == {
            routing.get_lead(svc, lead["id"])["owner_rep_id"] for lead in leads
        }
        done = runner.invoke(app, ["redistribute", "r0@corp.example", "--reason", "left"])
        assert done.exit_code == 0 and "Moved 2 lead(s)" in done.output
        owners = {routing.get_lead(svc, lead["id"])["owner_rep_id"] for lead in leads}
        assert len(owners) == 1
        missing = runner.invoke(app, ["redistribute", "nobody@corp.example"])
        assert missing.exit_code == 1 and "no rep" in missing.output


class TestRouteAgain:
    def test_recycled_lead_reenters_routing(self, svc: Services, api: httpx.Client) -> None:
        from leadflow.services import lifecycle

        make_org(svc)
        activate(svc)
        lead = add_lead(svc)
        lifecycle.change_status(svc, lead["id"], "recycled", "nurture for a quarter")
        r = api.patch(f"/api/v1/leads/{lead['id']}", json={"attributes": {"campaign": "q3"}})
        assert r.status_code == 200  # marketing may edit a recycled lead
        r = api.post(f"/api/v1/leads/{lead['id']}/reroute", json={"reason": "asked again"})
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "assigned" and r.json()["owner_rep_id"] is not None
        assert routing.get_decisions(svc, lead["id"])[-1]["kind"] == "reroute"

    def test_lost_lead_must_be_recycled_first(self, svc: Services, api: httpx.Client) -> None:
        from leadflow.services import lifecycle

        make_org(svc)
        activate(svc)
        lead = add_lead(svc)
        lifecycle.change_status(svc, lead["id"], "lost", "went elsewhere")
        r = api.post(f"/api/v1/leads/{lead['id']}/reroute", json={})
        assert r.status_code == 409 and "recycle it first" in r.text
        assert api.patch(f"/api/v1/leads/{lead['id']}", json={"source": "x"}).status_code == 409


class TestReadEndpoints:
    def test_sla_touches_and_notifications_respect_visibility(
        self, svc: Services, api: httpx.Client
    ) -> None:
        """Staff see all; a rep sees their own lead's timers and only their notifications."""
        from leadflow.services import sla

        ids = make_org(svc, reps=2)
        activate(svc, {"sla": {"default": {"name": "std", "within": "5m"}},
                       "dedup": {"enabled": True}})  # fmt: skip
        lead = add_lead(svc, email="t@x.example")
        add_lead(svc, email="T@x.example", source="second form")
        owner = lead["owner_rep_id"]
        other = next(i for i in ids if i != owner)
        timers = api.get(f"/api/v1/leads/{lead['id']}/sla").json()
        assert [t["state"] for t in timers] == ["pending"]
        touches = api.get(f"/api/v1/leads/{lead['id']}/touches").json()
        assert [t["data"]["source"] for t in touches] == ["second form"]
        svc.clock.advance(minutes=6)  # type: ignore[attr-defined]
        sla.run_due_timers(svc, svc.clock.now())
        mine = rep_client(api, svc, owner)
        theirs = rep_client(api, svc, other)
        assert mine.get(f"/api/v1/leads/{lead['id']}/sla").status_code == 404  # moved on
        assert theirs.get(f"/api/v1/leads/{lead['id']}/sla").status_code == 200
        notes = mine.get("/api/v1/lifecycle/notifications").json()
        assert [n["kind"] for n in notes] == ["sla.breached"] and notes[0]["rep_id"] == owner
        spy = mine.get(f"/api/v1/lifecycle/notifications?rep_id={other}")
        assert spy.status_code == 403
        assert len(api.get("/api/v1/lifecycle/notifications").json()) == 1
