"""`decide` loads rotation and load rows rule by rule (SQLite, dry runs): its outcome must
equal a decision made with every row of every matching rule loaded up front."""

from __future__ import annotations

import yaml
from sqlalchemy import select

from bench.workload import leads, org_document, rulebook_document
from leadflow.domain.routing import needs, route
from leadflow.schemas import LeadIn
from leadflow.services import loader, routing, rulebooks
from leadflow.services.context import ORG_REVISION, RULEBOOK_VERSION, Services, read_meta
from leadflow.services.org import load_org
from leadflow.store.models import RepLoadRow, RotationRow


def _expected(svc: Services, body: dict[str, object]) -> tuple[str, int | None]:
    doc = routing.lead_document(LeadIn.model_validate(body))
    now = svc.clock.now()
    with svc.db.read() as s:
        meta = read_meta(s)
        org = load_org(svc, s, meta[ORG_REVISION], now)
        book = rulebooks.compiled(svc, s, meta[RULEBOOK_VERSION])
        ctx = routing.build_context(s, doc, org, book)
        need = needs(book, ctx, org, now)
        rows = s.scalars(select(RepLoadRow).where(RepLoadRow.rep_id.in_(need.rep_ids)))
        loads = {r.rep_id: routing._load(r, org, now) for r in rows}
        rotations = s.scalars(select(RotationRow).where(RotationRow.pool_key.in_(need.pool_keys)))
        states = {r.pool_key: {k: int(v) for k, v in r.state.items()} for r in rotations}
    out = route(book, ctx, org, loads, states, now).outcome
    return out.rule, out.rep_id


def test_rule_by_rule_loading_decides_like_loading_everything(svc: Services) -> None:
    """Tight caps make first rules run out of reps, so later rules and the fallback act."""
    document = org_document(30, accounts=10)
    for rep in document["reps"]:
        rep["capacity"] = {"max_open": 2}
        rep.pop("working_hours", None)
    loader.load(svc, loader.parse(yaml.safe_dump(document)))
    rulebooks.save(svc, yaml.safe_dump(rulebook_document()))
    rules_seen = set()
    for body in leads(70, seed=7):
        expected = _expected(svc, body)
        view, _ = routing.intake(svc, LeadIn.model_validate(body))
        decision = routing.get_decisions(svc, view["id"])[-1]
        assert (decision["rule"], decision["rep_id"]) == expected
        rules_seen.add(decision["rule"])
    assert "fallback" in rules_seen and len(rules_seen) >= 6
