"""SLA breaches and minimum-claim-rate shortfalls: the metrics API and the dashboard
slots that draw them, over real HTTP."""

from __future__ import annotations

import httpx

from leadflow.pull_schemas import QueueIn
from leadflow.schemas import LeadIn
from leadflow.services import auth, claims, queues, routing, sla
from tests.web.pull.conftest import PullWorld


def _api(pull: PullWorld) -> httpx.Client:
    token = auth.create_token(pull.svc, auth.Role.MANAGER)[0]
    return httpx.Client(base_url=pull.url, timeout=10, headers={"Authorization": f"Bearer {token}"})


def test_sla_breach_is_counted_per_rep_and_shown(pull: PullWorld) -> None:
    lead = LeadIn(email="late@fr.example", company={"name": "Late SA", "country": "FR"})
    owner = routing.intake(pull.svc, lead)[0]["owner_rep_id"]
    on_time = LeadIn(email="quick@fr.example", company={"name": "Quick SA", "country": "FR"})
    quick = routing.intake(pull.svc, on_time)[0]
    pull.svc.clock.advance(minutes=30)
    c = pull.sign_in("alice@x.example" if quick["owner_rep_id"] == pull.alice else "bob@x.example")
    csrf = c.get("/my/leads").text.split('name="csrf" value="')[1].split('"')[0]
    c.post(f"/my/leads/{quick['id']}/activity", data={"csrf": csrf, "type": "emailed"})
    pull.svc.clock.advance(hours=2)
    assert sla.run_due_timers(pull.svc, pull.svc.clock.now()) == 1
    body = _api(pull).get("/api/v1/metrics/sla", params={"period": "24h"}).json()["sla"]
    assert (body["breached"], body["met"], body["breach_rate"]) == (1, 1, 0.5)
    late = next(r for r in body["reps"] if r["breached"])
    assert late["rep_id"] == owner and body["recent"][0]["rep_id"] == owner
    html = pull.sign_in("manager@x.example").get("/dashboard?period=24h").text
    assert 'id="kpi-sla-breached">1<' in html and "SLA breaches per rep" in html


def test_claim_rate_shortfall_over_whole_days(pull: PullWorld) -> None:
    spec = QueueIn(name="inbound", mode="pool", team="france", policies={"min_claims_per_day": 2})
    queues.put_queue(pull.svc, "inbound", spec)
    # The next whole day: Alice claims one lead, Bob none; then look from the day after.
    start = pull.svc.clock.now()
    pull.svc.clock.advance(days=1)
    alice = auth.Principal(auth.Role.REP, "Alice", rep_id=pull.alice)
    claims.claim(pull.svc, pull.pool[0], alice)
    pull.svc.clock.advance(days=1)
    now = pull.svc.clock.now()
    whole_days = (now.date() - start.date()).days - 1  # the creation day does not count
    body = _api(pull).get("/api/v1/metrics/claim_rates", params={"period": "7d"}).json()
    (inbound,) = body["claim_rates"]["queues"]
    reps = {r["name"]: r for r in inbound["reps"]}
    assert inbound["min_claims_per_day"] == 2
    assert reps["Alice"]["days"] == whole_days and reps["Alice"]["claims"] == 1
    assert reps["Alice"]["shortfall"] == 2 * whole_days - 1
    assert reps["Bob"]["shortfall"] == 2 * whole_days
    assert body["claim_rates"]["short_reps"] == ["Alice", "Bob"]
    html = pull.sign_in("manager@x.example").get("/dashboard?period=7d").text
    assert 'id="short-reps">Alice, Bob<' in html


def test_metrics_sections_are_for_staff_only(pull: PullWorld) -> None:
    token = auth.create_token(pull.svc, auth.Role.REP, rep_id=pull.alice)[0]
    rep = httpx.Client(base_url=pull.url, headers={"Authorization": f"Bearer {token}"})
    for section in ("sla", "claim_rates"):
        assert rep.get(f"/api/v1/metrics/{section}").status_code == 403
