"""Metrics computed from real leads and decisions, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from leadflow.errors import ValidationError
from leadflow.pull_schemas import QueueIn
from leadflow.schemas import LeadIn, RepIn, TeamIn
from leadflow.services import metrics, org, queues, routing, rulebooks
from leadflow.services.context import Services
from leadflow.store.models import DecisionRow, LeadRow
from leadflow.testing import FrozenClock

RULEBOOK = """
rules:
  - name: france
    when: {company.country: FR}
    assign: {team: france, method: round_robin}
  - name: pool
    when: {company.country: DE}
    queue: {name: de-pool}
fallback:
  queue: unassigned
"""


def _org(svc: Services) -> list[int]:
    org.create_team(svc, TeamIn(name="france"))
    org.create_team(svc, TeamIn(name="other"))
    ids = [
        org.create_rep(svc, RepIn(name=n, email=f"{n.lower()}@x.example", teams=["france"]))["id"]
        for n in ("Alice", "Bob", "Chloe")
    ]
    org.create_rep(svc, RepIn(name="Zed", email="zed@x.example", teams=["other"]))
    queues.create_queue(svc, QueueIn(name="de-pool", mode="pool"))  # rulebooks name real queues
    rulebooks.save(svc, RULEBOOK)
    return ids


def _lead(svc: Services, country: str, **extra: object) -> dict[str, object]:
    view, _ = routing.intake(svc, LeadIn(company={"country": country}, **extra))  # type: ignore[arg-type]
    return view


def _add_decision(svc: Services, lead_id: int, kind: str, outcome: str, **kw: object) -> None:
    with svc.db.write() as s:
        s.add(
            DecisionRow(
                lead_id=lead_id,
                kind=kind,
                outcome=outcome,
                trace={},
                created_at=svc.clock.now(),
                **kw,
            )
        )


class TestReport:
    def test_distribution_counts_value_and_fairness(self, svc: Services) -> None:
        """Four FR leads over three reps by round robin: counts 2/1/1, Gini 1/6 hand-computed."""
        _org(svc)
        for value in (100, 200, 300, 400):
            _lead(svc, "FR", value=value)
        data = metrics.report(svc, metrics.scope(svc.clock.now(), team="france"))
        rows = {r["name"]: r for r in data["distribution"]["reps"]}
        assert sorted(r["leads"] for r in rows.values()) == [1, 1, 2]
        assert sum(r["value"] for r in rows.values()) == 1000
        # [1, 1, 2]: pairwise |diff| sum = 4, / (2 * 9 * 4/3) = 1/6
        assert data["distribution"]["count"]["gini"] == pytest.approx(1 / 6)
        assert "Zed" not in rows

    def test_routing_errors_queues_and_alert(self, svc: Services, clock: FrozenClock) -> None:
        """Two of four leads fall to the fallback: 50 % errors raises the routing alert."""
        _org(svc)
        _lead(svc, "FR")
        _lead(svc, "DE")
        _lead(svc, "US")
        _lead(svc, "US")
        clock.advance(minutes=10)
        data = metrics.report(svc, metrics.scope(clock.now()))
        assert data["routing"]["error_rate"] == 0.5
        assert data["routing"]["outcomes"] == {"assigned": 1, "queued": 3}
        assert [a["key"] for a in data["alerts"]] == ["routing_errors"]
        queues = {q["queue"]: q for q in data["queues"]}
        assert queues["unassigned"]["count"] == 2
        assert queues["de-pool"]["oldest_seconds"] == 600

    def test_period_excludes_older_leads(self, svc: Services, clock: FrozenClock) -> None:
        """A lead from 2 days ago is outside the last 24 h."""
        _org(svc)
        _lead(svc, "FR")
        clock.advance(days=2)
        _lead(svc, "FR")
        data = metrics.report(svc, metrics.scope(clock.now(), period="24h"))
        assert data["routing"]["leads"] == 1

    def test_first_contact_latency_and_conversion(self, svc: Services, clock: FrozenClock) -> None:
        """Contacts after 2 and 10 minutes: p50 6 min, 50 % within 5 min; one won of two."""
        _org(svc)
        a = _lead(svc, "FR", source="webinar", score=90)
        b = _lead(svc, "FR", source="webinar")
        data = metrics.report(svc, metrics.scope(clock.now()))
        assert data["latency"]["first_contact"]["available"] is False
        clock.advance(minutes=2)
        _add_decision(svc, int(a["id"]), "status", "contacted")
        clock.advance(minutes=8)
        _add_decision(svc, int(b["id"]), "status", "contacted")
        with svc.db.write() as s:
            s.get(LeadRow, a["id"]).status = "won"  # type: ignore[union-attr]
        data = metrics.report(svc, metrics.scope(clock.now()))
        contact = data["latency"]["first_contact"]
        assert contact["p50_seconds"] == 360 and contact["within_5min"] == 0.5
        [webinar] = data["conversion"]["by_source"]
        assert (webinar["leads"], webinar["won"], webinar["conversion"]) == (2, 1, 0.5)
        assert data["conversion"]["by_method"][0]["key"] == "round_robin"

    def test_hot_lead_not_contacted_in_an_hour_alerts(
        self, svc: Services, clock: FrozenClock
    ) -> None:
        """A lead scored 90, assigned and untouched for 61 minutes → first-response alert."""
        _org(svc)
        _lead(svc, "FR", score=90)
        clock.advance(minutes=61)
        data = metrics.report(svc, metrics.scope(clock.now()))
        assert [a["key"] for a in data["alerts"]] == ["first_response"]

    def test_claims_and_cherry_picking(self, svc: Services) -> None:
        """Bob claims the 80 of pool [20, 80]: index (80 - 50) / 30 = 1."""
        ids = _org(svc)
        low = _lead(svc, "DE", score=20)
        high = _lead(svc, "DE", score=80)
        _add_decision(svc, int(high["id"]), "claim", "assigned", rep_id=ids[1])
        data = metrics.report(svc, metrics.scope(svc.clock.now()))
        [bob] = data["claims"]["reps"]
        assert bob["name"] == "Bob" and bob["cherry_picking_index"] == pytest.approx(1.0)
        assert bob["score_histogram"] == [0, 0, 0, 0, 1]
        assert low["status"] == "queued"

    def test_thresholds_are_stored_and_validated(self, svc: Services) -> None:
        """A manager sets 60 % error threshold; a bad value names the field, stores nothing."""
        _org(svc)
        metrics.set_thresholds(svc, {"error_rate": 0.6}, actor="t")
        assert metrics.get_thresholds(svc)["error_rate"] == 0.6
        with pytest.raises(ValidationError) as exc:
            metrics.set_thresholds(svc, {"latency_p95_seconds": -1}, actor="t")
        assert exc.value.field == "latency_p95_seconds"
        assert metrics.get_thresholds(svc)["latency_p95_seconds"] == 60

    def test_csv_sections(self, svc: Services) -> None:
        """The per-rep CSV has a header and one line per rep; unknown sections are refused."""
        _org(svc)
        _lead(svc, "FR")
        data = metrics.report(svc, metrics.scope(svc.clock.now()))
        lines = metrics.to_csv(data, "reps").strip().splitlines()
        assert lines[0].startswith("rep_id,name,leads") and len(lines) == 5
        assert "leads_per_rep_gini" in metrics.to_csv(data, "summary")
        with pytest.raises(ValidationError):
            metrics.to_csv(data, "nope")


class TestScope:
    def test_bad_period_and_bounds(self, clock: FrozenClock) -> None:
        """Unknown periods, reversed or naive bounds are 422s naming the field."""
        now = clock.now()
        with pytest.raises(ValidationError, match="unknown period"):
            metrics.scope(now, period="1y")
        with pytest.raises(ValidationError) as exc:
            metrics.scope(now, since=now, until=now - timedelta(hours=1))
        assert exc.value.field == "since"
        with pytest.raises(ValidationError) as exc:
            metrics.scope(now, since=now.replace(tzinfo=None))
        assert exc.value.field == "since"
