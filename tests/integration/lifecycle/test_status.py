"""Status changes through the services and the HTTP API, on SQLite and PostgreSQL."""

from __future__ import annotations

import httpx
import pytest

from leadflow.errors import Conflict, ValidationError
from leadflow.services import lifecycle, routing
from leadflow.services.context import Services
from leadflow.store.models import RepLoadRow
from tests.integration.lifecycle.conftest import activate, add_lead, make_org, rep_client


def _open_count(svc: Services, rep_id: int) -> int:
    with svc.db.read() as s:
        row = s.get(RepLoadRow, rep_id)
        return row.open_count if row else 0


class TestStatusChanges:
    def test_every_transition_is_a_decision(self, svc: Services) -> None:
        """contacted → qualified → won each write a `status` decision naming from and to."""
        make_org(svc)
        activate(svc)
        lead = add_lead(svc, email="a@p.example")
        for status in ("contacted", "qualified", "won"):
            view = lifecycle.change_status(svc, lead["id"], status, actor="tester")
            assert view["status"] == status
        kinds = [(d["kind"], d["trace"].get("to")) for d in routing.get_decisions(svc, lead["id"])]
        assert kinds == [
            ("route", None),
            ("status", "contacted"),
            ("status", "qualified"),
            ("status", "won"),
        ]

    def test_illegal_transition_changes_nothing(self, svc: Services) -> None:
        """queued → won is refused (409) and no decision is written."""
        make_org(svc)
        activate(svc)
        lead = add_lead(svc, company={"country": "US"})
        assert lead["status"] == "queued"
        with pytest.raises(Conflict, match="cannot become won"):
            lifecycle.change_status(svc, lead["id"], "won")
        assert routing.get_lead(svc, lead["id"])["status"] == "queued"
        assert len(routing.get_decisions(svc, lead["id"])) == 1

    def test_lost_without_reason_is_refused(self, svc: Services) -> None:
        make_org(svc)
        activate(svc)
        lead = add_lead(svc)
        with pytest.raises(ValidationError) as info:
            lifecycle.change_status(svc, lead["id"], "lost", "")
        assert info.value.field == "reason"

    def test_closing_releases_owner_capacity(self, svc: Services) -> None:
        """A lost lead no longer counts against its owner's max_open."""
        make_org(svc, reps=1)
        activate(svc)
        lead = add_lead(svc)
        owner = lead["owner_rep_id"]
        assert _open_count(svc, owner) == 1
        lifecycle.change_status(svc, lead["id"], "contacted")
        assert _open_count(svc, owner) == 1
        lifecycle.change_status(svc, lead["id"], "lost", "chose a competitor")
        assert _open_count(svc, owner) == 0

    def test_recycled_lead_has_no_owner(self, svc: Services) -> None:
        make_org(svc)
        activate(svc)
        lead = add_lead(svc)
        view = lifecycle.change_status(svc, lead["id"], "recycled", "not ready: nurture")
        assert view["owner_rep_id"] is None
        last = routing.get_decisions(svc, lead["id"])[-1]
        assert last["reason"] == "assigned → recycled: not ready: nurture"


class TestStatusApi:
    def test_post_status(self, svc: Services, api: httpx.Client) -> None:
        make_org(svc)
        activate(svc)
        lead = add_lead(svc)
        r = api.post(f"/api/v1/leads/{lead['id']}/status", json={"status": "contacted"})
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "contacted"

    def test_illegal_status_answers_409_with_reason(self, svc: Services, api: httpx.Client) -> None:
        make_org(svc)
        activate(svc)
        lead = add_lead(svc)
        r = api.post(f"/api/v1/leads/{lead['id']}/status", json={"status": "queued"})
        assert r.status_code == 409
        assert "set by routing" in r.text
        r = api.post(f"/api/v1/leads/{lead['id']}/status", json={"status": "bogus"})
        assert r.status_code == 422 and "status" in r.text

    def test_rep_changes_only_their_own_leads(self, svc: Services, api: httpx.Client) -> None:
        """Another rep gets 404 (no probing); the owner may move the lead on."""
        ids = make_org(svc, reps=2)
        activate(svc)
        lead = add_lead(svc)
        owner = lead["owner_rep_id"]
        other = next(i for i in ids if i != owner)
        r = rep_client(api, svc, other).post(
            f"/api/v1/leads/{lead['id']}/status", json={"status": "contacted"}
        )
        assert r.status_code == 404
        r = rep_client(api, svc, owner).post(
            f"/api/v1/leads/{lead['id']}/status", json={"status": "contacted"}
        )
        assert r.status_code == 200

    def test_patch_changes_fields_and_records_it(self, svc: Services, api: httpx.Client) -> None:
        make_org(svc)
        activate(svc)
        lead = add_lead(svc, first_name="Ann", company={"country": "FR", "size": 10})
        r = api.patch(
            f"/api/v1/leads/{lead['id']}", json={"last_name": "Lee", "company": {"size": 500}}
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["last_name"] == "Lee" and body["company"] == {"country": "FR", "size": 500}
        last = routing.get_decisions(svc, lead["id"])[-1]
        assert last["kind"] == "update"
        assert last["trace"]["changed"] == ["last_name", "company.size"]

    def test_patch_refuses_bad_input(self, svc: Services, api: httpx.Client) -> None:
        """A bad e-mail is a 422 naming the field; the lead is unchanged."""
        make_org(svc)
        activate(svc)
        lead = add_lead(svc, email="a@p.example")
        r = api.patch(f"/api/v1/leads/{lead['id']}", json={"email": "nope"})
        assert r.status_code == 422 and "email" in r.text
        assert routing.get_lead(svc, lead["id"])["email"] == "a@p.example"
