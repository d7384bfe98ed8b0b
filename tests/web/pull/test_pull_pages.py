"""Pull pages over real HTTP: what a rep sees of each queue, claim, release, activities
in two clicks, SLA countdowns, manager triage with a reason, roles and CSRF."""

from __future__ import annotations

from typing import Any

from leadflow.schemas import LeadIn, RepIn
from leadflow.services import org, routing, sla, users
from leadflow.services.auth import Role
from tests.web.conftest import PASSWORD, form_csrf
from tests.web.pull.conftest import BLIND_COMPANY, POOL_COMPANIES, PullWorld


def _post(c, path: str, page: str, **data: str):  # type: ignore[no-untyped-def]
    return c.post(path, data={"csrf": form_csrf(c.get(page).text), **data})


class TestQueuesForReps:
    def test_rep_sees_pullable_queues_and_why_not_triage(self, pull: PullWorld) -> None:
        html = pull.sign_in("alice@x.example").get("/queues").text
        assert 'href="/queues/inbound"' in html and 'href="/queues/vault"' in html
        assert "only managers see and assign its leads" in html  # the triage queue, refused
        assert "Hoarding cap" in html and "Lease" in html  # policies shown

    def test_blind_queue_shows_no_lead_details(self, pull: PullWorld) -> None:
        html = pull.sign_in("alice@x.example").get("/queues/vault").text
        assert BLIND_COMPANY not in html and "ceo@vault.example" not in html
        assert f'name="lead_id" value="{pull.blind}"' in html  # claimable by id
        assert 'name="q"' not in html  # no search form on a blind queue

    def test_blind_queue_refuses_a_search_from_the_url(self, pull: PullWorld) -> None:
        html = pull.sign_in("alice@x.example").get("/queues/vault?q=Hidden").text
        assert "is blind: it cannot be filtered" in html
        assert BLIND_COMPANY not in html

    def test_pool_preview_search_and_sort(self, pull: PullWorld) -> None:
        c = pull.sign_in("alice@x.example")
        html = c.get("/queues/inbound").text
        assert all(name in html for name in POOL_COMPANIES)
        assert "buyer0@pool.example" not in html  # the e-mail is not a preview field
        found = c.get("/queues/inbound", params={"q": "globex", "sort": "-age"}).text
        assert POOL_COMPANIES[1] in found and POOL_COMPANIES[0] not in found

    def test_pool_filter_on_a_hidden_field_is_refused(self, pull: PullWorld) -> None:
        html = pull.sign_in("alice@x.example").get("/queues/inbound?min_score=abc").text
        assert "min_score: &#39;abc&#39; is not a number" in html

    def test_claim_then_my_leads_then_release(self, pull: PullWorld) -> None:
        c = pull.sign_in("alice@x.example")
        lead_id = pull.pool[0]
        res = _post(c, "/queues/inbound/claim", "/queues/inbound", lead_id=str(lead_id))
        assert res.status_code == 303 and res.headers["location"] == f"/leads/{lead_id}?ok=claimed"
        page = c.get(res.headers["location"]).text
        assert POOL_COMPANIES[0] in page and "Claimed:" in page
        mine = c.get("/my/leads").text
        assert POOL_COMPANIES[0] in mine and f"/my/leads/{lead_id}/release" in mine
        assert "left</span>" in mine  # the SLA countdown of the fresh assignment
        res = _post(c, f"/my/leads/{lead_id}/release", "/my/leads", next="/my/leads")
        assert res.headers["location"] == "/my/leads?ok=released"
        lead = routing.get_lead(pull.svc, lead_id)
        assert (lead["status"], lead["queue"]) == ("queued", "inbound")

    def test_a_lost_race_shows_who_took_it(self, pull: PullWorld) -> None:
        bob, alice = pull.sign_in("bob@x.example"), pull.sign_in("alice@x.example")
        csrf = form_csrf(alice.get("/queues/inbound").text)
        _post(bob, "/queues/inbound/claim", "/queues/inbound", lead_id=str(pull.pool[1]))
        late = alice.post(
            "/queues/inbound/claim", data={"csrf": csrf, "lead_id": str(pull.pool[1])}
        )
        assert late.status_code == 409 and "was claimed by Bob" in late.text

    def test_claim_without_csrf_is_refused(self, pull: PullWorld) -> None:
        c = pull.sign_in("alice@x.example")
        res = c.post("/queues/inbound/claim-next", data={"csrf": "nope"})
        assert res.status_code == 403
        assert routing.get_lead(pull.svc, pull.pool[0])["status"] == "queued"


def fresh_lead(pull: PullWorld) -> dict[str, Any]:
    """A lead assigned under the SLA rulebook (the seed's came before it)."""
    lead = LeadIn(email="new@fr.example", company={"name": "Fresh SA", "country": "FR"})
    return routing.intake(pull.svc, lead)[0]


class TestActivities:
    def test_called_in_two_clicks_meets_the_sla(self, pull: PullWorld) -> None:
        lead = fresh_lead(pull)
        c = pull.sign_in(
            "alice@x.example" if lead["owner_rep_id"] == pull.alice else "bob@x.example"
        )
        assert [t["state"] for t in sla.timers(pull.svc, lead["id"])] == ["pending"]
        res = _post(
            c, f"/my/leads/{lead['id']}/activity", "/my/leads", type="called", next="/my/leads"
        )
        assert res.status_code == 303 and res.headers["location"] == "/my/leads?ok=logged"
        assert routing.get_lead(pull.svc, lead["id"])["status"] == "contacted"
        assert [t["state"] for t in sla.timers(pull.svc, lead["id"])] == ["met"]
        kinds = [d["kind"] for d in routing.get_decisions(pull.svc, lead["id"])]
        assert kinds[-1] == "status"  # the contact is a lifecycle decision

    def test_unknown_activity_type_is_refused(self, pull: PullWorld) -> None:
        c = pull.sign_in("alice@x.example")
        lead = routing.list_leads(pull.svc, owner=pull.alice, limit=1)["items"][0]
        res = _post(c, f"/my/leads/{lead['id']}/activity", "/my/leads", type="partied")
        assert res.status_code == 422 and "type must be one of" in res.text
        assert routing.get_lead(pull.svc, lead["id"])["status"] == "assigned"

    def test_a_rep_cannot_log_on_another_reps_lead(self, pull: PullWorld) -> None:
        c = pull.sign_in("alice@x.example")
        bobs = routing.list_leads(pull.svc, owner=pull.bob, limit=1)["items"][0]
        res = _post(c, f"/my/leads/{bobs['id']}/activity", "/my/leads", type="won")
        assert res.status_code == 404
        assert routing.get_lead(pull.svc, bobs["id"])["status"] == "assigned"


class TestTriage:
    def test_manager_assigns_with_a_reason(self, pull: PullWorld) -> None:
        c = pull.sign_in("manager@x.example")
        html = c.get("/triage").text
        assert "Nowhere Ltd" in html
        res = _post(
            c, f"/triage/{pull.triage}/assign", "/triage", rep_id=str(pull.bob),
            reason="speaks to US accounts",
        )  # fmt: skip
        assert res.status_code == 303
        lead = routing.get_lead(pull.svc, pull.triage)
        assert (lead["status"], lead["owner_rep_id"]) == ("assigned", pull.bob)
        last = routing.get_decisions(pull.svc, pull.triage)[-1]
        assert last["reason"].endswith(": speaks to US accounts")

    def test_without_a_reason_nothing_changes(self, pull: PullWorld) -> None:
        c = pull.sign_in("manager@x.example")
        res = _post(c, f"/triage/{pull.triage}/assign", "/triage", rep_id=str(pull.bob))
        assert res.status_code == 422 and "say why" in res.text
        assert routing.get_lead(pull.svc, pull.triage)["status"] == "queued"

    def test_reps_may_not_triage(self, pull: PullWorld) -> None:
        c = pull.sign_in("alice@x.example")
        assert c.get("/triage").status_code == 403
        csrf = form_csrf(c.get("/my/leads").text)
        res = c.post(
            f"/triage/{pull.triage}/assign",
            data={"csrf": csrf, "rep_id": str(pull.alice), "reason": "mine"},
        )
        assert res.status_code == 403
        assert routing.get_lead(pull.svc, pull.triage)["status"] == "queued"


class TestWhoMayPull:
    def test_a_rep_outside_the_queue_team_is_refused(self, pull: PullWorld) -> None:
        carl = org.create_rep(pull.svc, RepIn(name="Carl", email="carl@x.example"))["id"]
        users.create_user(
            pull.svc, email="carl@x.example", password=PASSWORD, role=Role.REP, rep_id=carl
        )
        c = pull.sign_in("carl@x.example")
        overview = c.get("/queues").text
        assert "you are not among the reps of queue" in overview
        assert 'href="/queues/inbound"' not in overview
        page = c.get("/queues/inbound")
        assert page.status_code == 403 and POOL_COMPANIES[0] not in page.text
        res = _post(c, "/queues/inbound/claim", "/queues", lead_id=str(pull.pool[0]))
        assert res.status_code == 403
        assert routing.get_lead(pull.svc, pull.pool[0])["status"] == "queued"

    def test_a_rep_may_not_release_another_reps_claim(self, pull: PullWorld) -> None:
        bob = pull.sign_in("bob@x.example")
        _post(bob, "/queues/inbound/claim", "/queues/inbound", lead_id=str(pull.pool[0]))
        alice = pull.sign_in("alice@x.example")
        res = _post(alice, f"/my/leads/{pull.pool[0]}/release", "/my/leads")
        assert res.status_code == 404
        lead = routing.get_lead(pull.svc, pull.pool[0])
        assert (lead["status"], lead["owner_rep_id"]) == ("assigned", pull.bob)

    def test_staff_supervise_a_blind_queue_without_claiming(self, pull: PullWorld) -> None:
        """Managers see every queue in full (to supervise) but pull nothing."""
        html = pull.sign_in("manager@x.example").get("/queues/vault").text
        assert BLIND_COMPANY in html
        assert 'button type="submit" class="claim"' not in html and "claim-next" not in html
