"""Offers: a lead is offered to reps and the first to accept owns it.

Lifecycle of one campaign (one per offered lead):

    routing decides "offered" ──► after_decision: rank/rotate eligible reps, first wave
    wave pending ──accept──► lead assigned (other pending offers withdrawn, reps told)
                 ──decline / timeout (worker)──► next wave ──…──► `then` action
    nobody eligible, or max_rounds done ──► `then` (queue, triage, assign, …)

Every transition locks the campaign row first (SELECT … FOR UPDATE), so an accept, a
decline and a timeout of the same lead are serialised on PostgreSQL; SQLite serialises
whole write transactions. The accept itself is one conditional UPDATE
(`status = 'open'` → `'accepted'`): of 20 simultaneous accepts exactly one matches.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from leadflow.domain.eligibility import Requirements, SkipReason, skip_reason
from leadflow.domain.model import LeadStatus, Org, Rep, RepLoad
from leadflow.domain.offers import Progress, Wave, next_wave, rotating_order
from leadflow.domain.performance import Weights, rank
from leadflow.domain.routing import (
    UNASSIGNED_QUEUE,
    Needs,
    Outcome,
    RoutingResult,
    act_alone,
    action_needs,
    offer_candidates,
    offer_pool,
)
from leadflow.domain.rulebook import Action, Enqueue, Offer, OfferMode
from leadflow.errors import Conflict, NotFound
from leadflow.services.context import ORG_REVISION, Services, read_meta
from leadflow.services.events import lead_summary
from leadflow.services.invariants import Violation
from leadflow.services.notifications import (
    is_hot,
    notify_rep,
    notify_reps,
    publish,
    publish_all,
)
from leadflow.services.offer_scoring import rep_stats
from leadflow.services.offer_views import offer_view
from leadflow.services.org import load_org
from leadflow.services.routing import apply_result, load_state
from leadflow.services.rulebooks import compiled
from leadflow.store.models import AccountRow, DecisionRow, LeadRow
from leadflow.store.offers_models import OfferCampaignRow, OfferRow

OPEN, ACCEPTED, FALLBACK = "open", "accepted", "fallback"
PENDING, DECLINED, EXPIRED, WITHDRAWN = "pending", "declined", "expired", "withdrawn"
_DEPTH = "leadflow.offer_depth"  # session note: a `then` offer nested in another offer
CAPACITY = frozenset(
    {SkipReason.AT_CAPACITY_OPEN, SkipReason.AT_CAPACITY_DAY, SkipReason.AT_CAPACITY_WEEK}
)


# ---------------------------------------------------------------- starting


def after_decision(
    s: Session,
    lead: LeadRow,
    decision: DecisionRow,
    result: RoutingResult,
    org: Org,
    now: datetime,
) -> None:
    """Routing said "offered": open the campaign and send its first wave (same transaction)."""
    out = result.outcome
    if out.kind != "offered" or not isinstance(out.action, Offer):
        return
    _start(s, lead, decision, out.rule, out.action, int(s.info.get(_DEPTH, 0)), org, now)


def _start(
    s: Session,
    lead: LeadRow,
    decision: DecisionRow,
    rule: str,
    action: Offer,
    depth: int,
    org: Org,
    now: datetime,
) -> None:
    mode = OfferMode(action.mode)
    trace: dict[str, Any] = {
        "mode": mode.value,
        "timeout_s": action.timeout_seconds,
        "max_rounds": action.max_rounds,
        "size": action.size,
    }
    pool = offer_pool(action, org)
    eligible = offer_candidates(pool, _loads(s, pool, org, now), now, trace)
    ordered = _order(s, action, mode, eligible, org, now, trace)
    campaign = OfferCampaignRow(
        lead_id=lead.id,
        decision_id=decision.id,
        rule=rule,
        mode=mode.value,
        status=OPEN,
        spec={
            "timeout_seconds": action.timeout_seconds,
            "max_rounds": action.max_rounds,
            "size": action.size,
            "depth": depth,
            "rulebook_version": decision.rulebook_version,
        },
        rep_order=[r.id for r in ordered],
        round_no=1,
        cursor=0,
        created_at=now,
    )
    s.add(campaign)
    s.flush()
    wave = next_wave(_progress(campaign), {r.id for r in ordered})
    trace.update(order=campaign.rep_order, campaign_id=campaign.id, first_wave=list(wave.reps))
    decision.trace = {**decision.trace, "offer": trace}  # a new dict: JSON columns need it
    if wave.reps:
        _send(s, campaign, wave, lead, now)
    else:
        _fallback(s, campaign, lead, org, action.then, "nobody eligible for the offer", now)


def _order(
    s: Session,
    action: Offer,
    mode: OfferMode,
    eligible: list[Rep],
    org: Org,
    now: datetime,
    trace: dict[str, Any],
) -> list[Rep]:
    if not eligible:
        return []
    if mode is OfferMode.ROTATING:
        key = action.pool_key()
        rotations, _, states, _ = load_state(
            s, Needs(frozenset(), frozenset([key])), org, now, lock=True
        )
        ordered, state = rotating_order(eligible, states.get(key, {}))
        rotations[key].state = state
        rotations[key].updated_at = now
        trace["rotation"] = {"pool_key": key, "turn": state.get("_seq")}
        return ordered
    p = dict(action.params)
    weights = Weights(
        conversion=float(p.get("conversion", 0.6)),
        acceptance=float(p.get("acceptance", 0.25)),
        speed=float(p.get("speed", 0.15)),
        prior=float(p.get("prior", 5.0)),
    )
    stats = rep_stats(s, [r.id for r in eligible], now, int(p.get("window_days", 90)))
    scores = rank([r.id for r in eligible], stats, weights, float(action.timeout_seconds))
    trace["ranking"] = [sc.as_trace() for sc in scores]
    trace["weights"] = p
    by_id = {r.id: r for r in eligible}
    return [by_id[sc.rep_id] for sc in scores]


def _loads(s: Session, pool: list[Rep], org: Org, now: datetime) -> dict[int, RepLoad]:
    """Current loads for screening; not locked (offering changes no counter)."""
    need = Needs(frozenset(r.id for r in pool), frozenset())
    return load_state(s, need, org, now, lock=False)[3]


def _progress(c: OfferCampaignRow) -> Progress:
    return Progress(
        OfferMode(c.mode),
        tuple(int(r) for r in c.rep_order),
        int(c.spec["max_rounds"]),
        c.spec.get("size"),
        c.round_no,
        c.cursor,
    )


def _send(s: Session, c: OfferCampaignRow, wave: Wave, lead: LeadRow, now: datetime) -> None:
    c.round_no, c.cursor = wave.progress.round, wave.progress.cursor
    expires = now + timedelta(seconds=int(c.spec["timeout_seconds"]))
    sent = [
        OfferRow(
            campaign_id=c.id,
            lead_id=lead.id,
            rep_id=rep_id,
            round_no=c.round_no,
            status=PENDING,
            created_at=now,
            expires_at=expires,
            reason="",
        )
        for rep_id in wave.reps
    ]
    s.add_all(sent)
    s.flush()  # one batch: a broadcast to 50 reps stays one round trip
    payloads = {o.rep_id: _payload(o, c, lead) for o in sent}
    notify_reps(s, "offer.made", payloads, now, hot=is_hot(lead.score))
    publish_all(s, "offer.made", list(payloads.values()), now)


def _payload(offer: OfferRow, c: OfferCampaignRow, lead: LeadRow) -> dict[str, Any]:
    return {
        "offer_id": offer.id,
        "rep_id": offer.rep_id,
        "mode": c.mode,
        "round": offer.round_no,
        "expires_at": offer.expires_at.isoformat(),
        "lead": lead_summary(lead),
    }


# ---------------------------------------------------------------- ending without an owner


def _fallback(
    s: Session,
    c: OfferCampaignRow,
    lead: LeadRow,
    org: Org,
    then: Action | None,
    why: str,
    now: datetime,
) -> None:
    """Apply the offer's `then` action (default: the `unassigned` queue)."""
    c.status, c.closed_at = FALLBACK, now
    action = then or Enqueue(UNASSIGNED_QUEUE)
    ctx = _lead_context(s, lead)
    need = action_needs(action, ctx, org)
    rotations, load_rows, states, loads = load_state(s, need, org, now, lock=True)
    result = act_alone(
        c.rule, action, ctx, org, loads, states, now, why, c.spec.get("rulebook_version")
    )
    s.info[_DEPTH] = int(c.spec.get("depth", 0)) + 1
    try:
        apply_result(s, lead, result, org, load_rows, rotations, now, 0, "offer_fallback", "system")
    finally:
        s.info.pop(_DEPTH, None)


def _lead_context(s: Session, lead: LeadRow) -> dict[str, Any]:
    """The lead as rules see it, rebuilt from what intake stored."""
    ctx = dict(lead.data)
    ctx["territory"] = {"matched": bool(lead.territory), "name": lead.territory}
    account = s.get(AccountRow, lead.account_id) if lead.account_id else None
    ctx["account"] = (
        {
            "matched": True,
            "id": account.id,
            "name": account.name,
            "strategic": account.strategic,
            "owner_rep_id": account.owner_rep_id,
            "team": account.team,
        }
        if account
        else {"matched": False}
    )
    return ctx


def _then_action(svc: Services, s: Session, c: OfferCampaignRow) -> Action | None:
    """The campaign's `then`, from the rulebook version that started it."""
    book = compiled(svc, s, int(c.spec.get("rulebook_version") or 0))
    rule = next((r for r in book.rules if r.name == c.rule), None)
    action: Action | None = rule.action if rule else book.fallback
    for _ in range(int(c.spec.get("depth", 0))):
        action = action.then if isinstance(action, Offer) else None
    return action.then if isinstance(action, Offer) else None


# ---------------------------------------------------------------- moving on


def _org(svc: Services, s: Session, now: datetime) -> Org:
    return load_org(svc, s, read_meta(s).get(ORG_REVISION, 0), now)


def _advance(svc: Services, s: Session, c: OfferCampaignRow, now: datetime) -> None:
    """After a decline or a timeout: wait for the rest of the wave, or send the next one."""
    offers = list(s.scalars(select(OfferRow).where(OfferRow.campaign_id == c.id)))
    if c.status != OPEN or any(o.status == PENDING for o in offers):
        return
    org = _org(svc, s, now)
    lead = s.get(LeadRow, c.lead_id)
    assert lead is not None
    declined = {o.rep_id for o in offers if o.status == DECLINED}
    pool = [org.reps[r] for r in c.rep_order if r in org.reps and r not in declined]
    step: dict[str, Any] = {}
    available = {r.id for r in offer_candidates(pool, _loads(s, pool, org, now), now, step)}
    wave = next_wave(_progress(c), available)
    if wave.reps:
        _send(s, c, wave, lead, now)
        return
    rounds = int(c.spec["max_rounds"])
    why = f"no accept after {rounds} round{'s' if rounds > 1 else ''}"
    if not available:
        why = "nobody left to offer to"
    _fallback(s, c, lead, org, _then_action(svc, s, c), why, now)


def _lock_campaign(
    s: Session, campaign_id: int, *, skip_locked: bool = False
) -> OfferCampaignRow | None:
    q = (
        select(OfferCampaignRow)
        .where(OfferCampaignRow.id == campaign_id)
        .with_for_update(skip_locked=skip_locked)
        .execution_options(populate_existing=True)
    )
    return s.scalar(q)


def _own_offer(s: Session, offer_id: int, rep_id: int) -> tuple[OfferRow, OfferCampaignRow]:
    offer = s.get(OfferRow, offer_id)
    if offer is None or offer.rep_id != rep_id:
        # Another rep's offer does not exist as far as this rep can tell.
        raise NotFound(f"offer {offer_id} not found")
    campaign = _lock_campaign(s, offer.campaign_id)
    assert campaign is not None
    s.refresh(offer)  # read again now that the campaign lock orders us after other writers
    return offer, campaign


def accept(svc: Services, offer_id: int, rep_id: int) -> dict[str, Any]:
    now = svc.clock.now()
    with svc.db.write() as s:
        offer, c = _own_offer(s, offer_id, rep_id)
        if c.status == ACCEPTED:
            if c.winner_rep_id == rep_id:
                return offer_view(offer)  # a retried accept by the winner: same answer
            raise Conflict("already taken: another rep accepted this lead first")
        if c.status == FALLBACK:
            raise Conflict("this offer is closed: the lead was passed on to its fallback")
        if offer.status != PENDING:
            raise Conflict(f"this offer is already {offer.status}")
        if offer.expires_at <= now:
            raise Conflict("this offer expired")
        lead = s.get(LeadRow, c.lead_id)
        if lead is None or lead.status != LeadStatus.OFFERED:  # moved on by someone else
            raise Conflict("this lead is no longer on offer")
        org = _org(svc, s, now)
        _, load_rows, _, loads = load_state(
            s, Needs(frozenset([rep_id]), frozenset()), org, now, lock=True
        )
        rep = org.reps.get(rep_id)
        reason = skip_reason(rep, loads[rep_id], Requirements(), now) if rep else None
        if reason in CAPACITY:
            raise Conflict(f"you cannot take another lead now ({reason}); decline instead")
        won = cast(
            CursorResult[Any],
            s.execute(
                update(OfferCampaignRow)
                .where(OfferCampaignRow.id == c.id, OfferCampaignRow.status == OPEN)
                .values(status=ACCEPTED, winner_rep_id=rep_id, closed_at=now)
            ),
        ).rowcount
        if won != 1:  # unreachable while the campaign lock holds; kept as the last word
            raise Conflict("already taken: another rep accepted this lead first")
        offer.status, offer.responded_at = ACCEPTED, now
        _withdraw_others(s, c, offer, lead, now)
        outcome = Outcome(
            "assigned",
            c.rule,
            rep_id=rep_id,
            method=f"offer:{c.mode}",
            reason=f"accepted the offer (round {offer.round_no})",
        )
        trace = {
            "offer": {"campaign_id": c.id, "offer_id": offer.id, "round": offer.round_no},
            "outcome": {"kind": "assigned", "rep_id": rep_id, "rule": c.rule},
            "rulebook_version": c.spec.get("rulebook_version"),
        }
        apply_result(
            s,
            lead,
            RoutingResult(outcome, trace),
            org,
            load_rows,
            {},
            now,
            0,
            "offer_accept",
            f"rep:{rep_id}",
        )
        publish(s, "offer.accepted", _payload(offer, c, lead), now)
        return offer_view(offer)


def _withdraw_others(
    s: Session, c: OfferCampaignRow, winner: OfferRow, lead: LeadRow, now: datetime
) -> None:
    others = s.scalars(
        select(OfferRow).where(
            OfferRow.campaign_id == c.id, OfferRow.status == PENDING, OfferRow.id != winner.id
        )
    )
    for o in others:
        o.status, o.reason = WITHDRAWN, "taken by another rep"
        payload = {**_payload(o, c, lead), "reason": "taken by another rep"}
        notify_rep(s, o.rep_id, "offer.withdrawn", payload, now, hot=False)


def decline(svc: Services, offer_id: int, rep_id: int, reason: str = "") -> dict[str, Any]:
    now = svc.clock.now()
    with svc.db.write() as s:
        offer, c = _own_offer(s, offer_id, rep_id)
        if offer.status != PENDING or c.status != OPEN:
            state = offer.status if offer.status != PENDING else f"closed ({c.status})"
            raise Conflict(f"this offer is already {state}")
        offer.status, offer.responded_at, offer.reason = DECLINED, now, reason
        _advance(svc, s, c, now)
        return offer_view(offer)


def run_due_timers(svc: Services, now: datetime, limit: int) -> int:
    """Expire due offers and move their campaigns on; one transaction per campaign."""
    with svc.db.read() as s:
        due = list(
            s.scalars(
                select(OfferRow.campaign_id)
                .where(OfferRow.status == PENDING, OfferRow.expires_at <= now)
                .order_by(OfferRow.expires_at)
                .limit(limit)
            )
        )
    done = 0
    for campaign_id in dict.fromkeys(due):
        with svc.db.write() as s:
            # Another worker holding this campaign handles it: skip rather than wait.
            c = _lock_campaign(s, campaign_id, skip_locked=not svc.db.is_sqlite)
            if c is None:
                continue
            done += _expire(svc, s, c, now)
    return done


def _expire(svc: Services, s: Session, c: OfferCampaignRow, now: datetime) -> int:
    offers = list(
        s.scalars(
            select(OfferRow).where(
                OfferRow.campaign_id == c.id, OfferRow.status == PENDING, OfferRow.expires_at <= now
            )
        )
    )
    if not offers:
        return 0  # already handled (by an accept, a decline or another worker)
    lead = s.get(LeadRow, c.lead_id)
    assert lead is not None
    for o in offers:
        o.status, o.reason = EXPIRED, "no answer in time"
        payload = _payload(o, c, lead)
        notify_rep(s, o.rep_id, "offer.expired", payload, now, hot=False)
        publish(s, "offer.expired", payload, now)
    _advance(svc, s, c, now)
    return len(offers)


# ---------------------------------------------------------------- `leadflow check`


def check_invariants(s: Session, now: datetime) -> Iterator[Violation]:
    """Offers: a lead in `offered` always has an open campaign moving it on (else it
    would wait for ever: no rep is asked, no timer falls due)."""
    stuck = select(LeadRow.id).where(
        LeadRow.status == LeadStatus.OFFERED,
        ~select(OfferCampaignRow.id)
        .where(OfferCampaignRow.lead_id == LeadRow.id, OfferCampaignRow.status == "open")
        .exists(),
    )
    for lead_id in s.scalars(stuck.order_by(LeadRow.id)):
        yield Violation("offer stuck", f"lead {lead_id}", "offered, but no open offer campaign")
