"""Dedup at intake: merge into the open lead, keep its owner, say so; never two leads
for one person even when both submissions arrive at once."""

from __future__ import annotations

import threading

import httpx

from leadflow.services import dedup, lifecycle, routing
from leadflow.services.context import Services
from tests.integration.lifecycle.conftest import activate, add_lead, make_org

DEDUP = {"dedup": {"enabled": True}}


def _touches(svc: Services, lead_id: int) -> list[dict[str, object]]:
    with svc.db.read() as s:
        return dedup.touches(s, lead_id)


class TestDedup:
    def test_same_email_other_case_and_plus_tag_is_merged(self, svc: Services) -> None:
        """The second submission becomes a touch on the first lead; the owner keeps it."""
        make_org(svc)
        activate(svc, DEDUP)
        first = add_lead(svc, email="jane@acme.com", first_name="Jane")
        second = add_lead(svc, email="JANE+webinar@Acme.com", source="webinar")
        assert second["id"] == first["id"]
        assert second["owner_rep_id"] == first["owner_rep_id"]
        assert len(routing.list_leads(svc)["items"]) == 1
        touches = _touches(svc, first["id"])
        assert len(touches) == 1 and touches[0]["data"]["source"] == "webinar"
        last = routing.get_decisions(svc, first["id"])[-1]
        assert last["kind"] == "merge"
        assert "duplicate of open lead" in last["reason"] and "same email" in last["reason"]

    def test_plus_tags_are_distinct_when_configured(self, svc: Services) -> None:
        make_org(svc)
        activate(svc, {"dedup": {"enabled": True, "strip_plus_addressing": False}})
        a = add_lead(svc, email="jane@acme.com")
        b = add_lead(svc, email="jane+2@acme.com")
        assert a["id"] != b["id"]

    def test_same_phone_in_other_formats_is_merged(self, svc: Services) -> None:
        make_org(svc)
        activate(svc, DEDUP)
        a = add_lead(svc, phone="+33 1 42 68 53 00")
        b = add_lead(svc, phone="01.42.68.53.00", company={"country": "FR"})
        c = add_lead(svc, phone="0033142685300")
        assert a["id"] == b["id"] == c["id"]
        assert len(_touches(svc, a["id"])) == 2

    def test_closed_lead_does_not_absorb_a_new_request(self, svc: Services) -> None:
        """A lost lead asking again is a new lead (new intent), and it owns the key now."""
        make_org(svc)
        activate(svc, DEDUP)
        a = add_lead(svc, email="jane@acme.com")
        lifecycle.change_status(svc, a["id"], "lost", "no budget")
        b = add_lead(svc, email="jane@acme.com")
        c = add_lead(svc, email="jane@acme.com")
        assert b["id"] != a["id"] and c["id"] == b["id"]

    def test_company_domain_key_when_configured(self, svc: Services) -> None:
        make_org(svc)
        activate(svc, {"dedup": {"enabled": True, "keys": ["email", "domain"]}})
        a = add_lead(svc, email="jane@acme.com")
        b = add_lead(svc, email="bob@acme.com")
        c = add_lead(svc, email="x@gmail.com")
        d = add_lead(svc, email="y@gmail.com")
        assert a["id"] == b["id"]
        assert c["id"] != d["id"]  # a free-mail domain is nobody's company

    def test_dedup_is_off_unless_the_rulebook_turns_it_on(self, svc: Services) -> None:
        """Off by default: sending the same person twice makes two leads, as before."""
        make_org(svc)
        activate(svc)
        assert add_lead(svc, email="j@acme.com")["id"] != add_lead(svc, email="j@acme.com")["id"]

    def test_concurrent_duplicates_make_one_lead(self, svc: Services) -> None:
        """Eight threads submit the same person at once: one lead, seven touches."""
        make_org(svc)
        activate(svc, DEDUP)
        barrier = threading.Barrier(8)
        ids: list[int] = []
        errors: list[BaseException] = []

        def submit(n: int) -> None:
            try:
                barrier.wait(timeout=10)
                ids.append(add_lead(svc, email=f"Jane+{n}@acme.com")["id"])
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=submit, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert not errors, errors
        assert len(set(ids)) == 1
        assert len(routing.list_leads(svc)["items"]) == 1
        assert len(_touches(svc, ids[0])) == 7

    def test_duplicate_over_http_answers_200_with_the_lead(
        self, svc: Services, api: httpx.Client
    ) -> None:
        make_org(svc)
        activate(svc, DEDUP)
        body = {"email": "jane@acme.com", "company": {"country": "FR"}}
        r1 = api.post("/api/v1/leads", json=body)
        r2 = api.post("/api/v1/leads", json={**body, "email": "JANE@acme.com"})
        assert (r1.status_code, r2.status_code) == (201, 200)
        assert r1.json()["id"] == r2.json()["id"]
