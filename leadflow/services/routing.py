"""Intake and push routing: a lead, its decision and all counters in one transaction.

Lock order inside the transaction (the same everywhere, so writers never deadlock):
rotation rows (sorted by key), then rep load rows (sorted by id), both taken while the
decision is made; the lead, its decision and the counters are written only after that,
on rows the transaction already holds or creates.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from datetime import datetime
from typing import TYPE_CHECKING, Any

import anyio.to_thread
import orjson
from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from leadflow.domain.eligibility import local_time
from leadflow.domain.lifecycle import excluding
from leadflow.domain.matching import (
    FREE_MAIL_DOMAINS,
    lead_context,
    lead_domains,
    match_account,
    parent_domains,
)
from leadflow.domain.model import LeadStatus, Org, RepLoad
from leadflow.domain.routing import (
    Needs,
    Outcome,
    RoutingResult,
    Tested,
    assign_steps_reached,
    merge_needs,
    needs_by_rule,
    route,
)
from leadflow.domain.rulebook import Rulebook
from leadflow.errors import NotFound
from leadflow.notify.broker import broker
from leadflow.schemas import LeadIn
from leadflow.services import decision_metrics, group_commit, intake_writer, txcache
from leadflow.services.context import ORG_REVISION, RULEBOOK_VERSION, Services, read_meta
from leadflow.services.hooks import (
    after_decision_hooks,
    before_routing_hooks,
    preview_routing_hooks,
)
from leadflow.services.org import load_org
from leadflow.services.rotations import ensure_rows
from leadflow.services.rulebooks import compiled
from leadflow.store import convert, direct
from leadflow.store.direct import insert_row, update_row
from leadflow.store.models import (
    AccountDomainRow,
    AccountRow,
    DecisionRow,
    LeadRow,
    RepLoadRow,
    RotationRow,
)

if TYPE_CHECKING:
    from leadflow.services.intake_channel import IntakeChannel


def lead_document(data: LeadIn) -> dict[str, Any]:
    doc = data.model_dump(exclude_none=True)
    doc["company"] = {k: v for k, v in doc.get("company", {}).items() if v is not None}
    return doc


def build_context(s: Session, doc: dict[str, Any], org: Org, book: Rulebook) -> dict[str, Any]:
    """The lead as rules see it (see `leadflow.domain.matching.lead_context`)."""
    return lead_context(doc, org, _match_account(s, doc, book))


def _match_account(s: Session, doc: dict[str, Any], book: Rulebook) -> dict[str, Any]:
    free_mail = FREE_MAIL_DOMAINS | book.free_mail_domains
    candidates = [p for d in lead_domains(doc, free_mail) for p in parent_domains(d)]
    if not candidates:
        return {"matched": False}
    rows = direct.rows(s, _ACCOUNTS_BY_DOMAIN, {"domains": candidates})
    return match_account(doc, {r.domain: convert.account(r) for r in rows}, free_mail)


# Built once: every lead runs these, and building a statement costs more than running it.
_ACCOUNTS_BY_DOMAIN = (
    select(AccountDomainRow.domain, *AccountRow.__table__.c)
    .join(AccountRow, AccountRow.id == AccountDomainRow.account_id)
    .where(AccountDomainRow.domain.in_(bindparam("domains", expanding=True)))
)
_LEAD_BY_EXTERNAL_ID = select(LeadRow.id).where(LeadRow.external_id == bindparam("v")).limit(1)
_LEAD_BY_KEY = select(LeadRow.id).where(LeadRow.idempotency_key == bindparam("v")).limit(1)


@functools.lru_cache(maxsize=256)
def _period_keys(tz: str | None, now: datetime) -> tuple[str, str]:
    """(local day, ISO week) keys of the counters; one decision asks for every rep of a
    pool at the same instant, mostly in a few time zones."""
    local = local_time(tz, now)
    year, week, _ = local.isocalendar()
    return local.date().isoformat(), f"{year}-W{week:02d}"


def _load(row: RepLoadRow, org: Org, now: datetime) -> RepLoad:
    rep = org.reps.get(row.rep_id)
    return _load_in(row, _period_keys(rep.timezone if rep else None, now))


def _load_in(row: RepLoadRow, period: tuple[str, str]) -> RepLoad:
    day, week = period
    return RepLoad(
        open=row.open_count,
        today=row.day_count if row.day_key == day else 0,
        this_week=row.week_count if row.week_key == week else 0,
        last_assigned_at=row.last_assigned_at,
    )


def _loads(s: Session, rows: dict[int, RepLoadRow], org: Org, now: datetime) -> dict[int, RepLoad]:
    """The `RepLoad` of each row, built once per transaction on SQLite rather than once per
    lead: a group commit screens the same reps for lead after lead, and a value changes
    only when its rep is counted an assignment or released (both drop it, see
    `_forget_load`) or when the rep's local day or week turns (checked per lead)."""
    if not rows:
        return {}
    built = _known_rows(s, "rep_load_values")
    if built is None:
        return {rid: _load(row, org, now) for rid, row in rows.items()}
    reps = org.reps
    periods: dict[str | None, tuple[str, str]] = {}
    out: dict[int, RepLoad] = {}
    for rid, row in rows.items():
        rep = reps.get(rid)
        tz = rep.timezone if rep else None
        period = periods.get(tz)
        if period is None:
            period = periods[tz] = _period_keys(tz, now)
        held = built.get(rid)
        if held is None or held[0] != period:
            held = built[rid] = (period, _load_in(row, period))
        out[rid] = held[1]
    return out


def _forget_load(s: Session, rep_id: int) -> None:
    """This rep's load row changed: its `RepLoad` is built again when next needed."""
    built = txcache.peek(s, "rep_load_values")
    if built:
        built.pop(rep_id, None)


def _lock_loads(s: Session, rep_ids: frozenset[int], lock: bool) -> dict[int, RepLoadRow]:
    if not rep_ids:
        return {}
    known = _known_rows(s, "rep_loads")
    missing = sorted(rep_ids - known.keys()) if known is not None else sorted(rep_ids)
    if missing:
        q = _LOADS_FOR_UPDATE if lock else _LOADS
        rows = {r.rep_id: r for r in s.scalars(q, {"ids": missing})}
        if known is None:
            return rows
        known.update(rows)
    return {rid: known[rid] for rid in rep_ids if rid in known}


def _lock_rotations(s: Session, keys: frozenset[str], lock: bool) -> dict[str, RotationRow]:
    if not keys:
        return {}
    known = _known_rows(s, "rotations")
    ordered = sorted(keys - known.keys()) if known is not None else sorted(keys)
    if ordered:
        q = _ROTATIONS_FOR_UPDATE if lock else _ROTATIONS
        rows = {r.pool_key: r for r in s.scalars(q, {"keys": ordered})}
        if lock and len(rows) < len(ordered):
            # Rows are created when a rulebook is activated; one missing (a database
            # activated before that) is created now, then every row is locked again in order.
            ensure_rows(s, (k for k in ordered if k not in rows))
            rows = {r.pool_key: r for r in s.scalars(q, {"keys": ordered})}
        if known is None:
            return rows
        known.update(rows)
    return {k: known[k] for k in keys if k in known}


_LOADS = (
    select(RepLoadRow)
    .where(RepLoadRow.rep_id.in_(bindparam("ids", expanding=True)))
    .order_by(RepLoadRow.rep_id)
)
_LOADS_FOR_UPDATE = _LOADS.with_for_update()
_ROTATIONS = (
    select(RotationRow)
    .where(RotationRow.pool_key.in_(bindparam("keys", expanding=True)))
    .order_by(RotationRow.pool_key)
)
_ROTATIONS_FOR_UPDATE = _ROTATIONS.with_for_update()


def _known_rows(s: Session, name: str) -> dict[Any, Any] | None:
    """Load and rotation rows this transaction already holds, on SQLite only.

    A group commit routes dozens of leads in one transaction, mostly through the same few
    teams: their rows are read once. SQLite's writer lock (BEGIN IMMEDIATE) means nobody
    else can change them meanwhile. On PostgreSQL every decision takes its row locks
    itself, so nothing is reused there. The map is dropped on any rollback (txcache)."""
    if s.get_bind().dialect.name != "sqlite":
        return None
    return txcache.cached(s, name, dict)


State = tuple[
    dict[str, RotationRow], dict[int, RepLoadRow], dict[str, dict[str, int]], dict[int, RepLoad]
]


def load_state(s: Session, need: Needs, org: Org, now: datetime, *, lock: bool) -> State:
    """Rotation and load rows a decision needs (locked when `lock`), and their values."""
    rotations = _lock_rotations(s, need.pool_keys, lock)
    load_rows = _lock_loads(s, need.rep_ids, lock)
    loads = _loads(s, load_rows, org, now)
    states = {k: {kk: int(v) for kk, v in r.state.items()} for k, r in rotations.items()}
    return rotations, load_rows, states, loads


def decide(
    svc: Services,
    s: Session,
    doc: dict[str, Any],
    now: datetime,
    *,
    lock: bool,
    exclude: frozenset[int] = frozenset(),
    book: Rulebook | None = None,
) -> tuple[RoutingResult, dict[str, Any], Org, dict[int, RepLoadRow], dict[str, RotationRow], int]:
    """Load what the decision needs (locking it when `lock`), then decide. Writes nothing.

    `exclude`: reps that may not get the lead (its previous owners, on reassignment).
    `book` replaces the active rulebook (a draft being dry-run in the editor)."""
    started = time.perf_counter_ns()
    meta = read_meta(s)
    org = excluding(load_org(svc, s, meta.get(ORG_REVISION, 0), now), exclude)
    if book is None:
        book = compiled(svc, s, meta.get(RULEBOOK_VERSION, 0))
    ctx = build_context(s, doc, org, book)
    # SQLite serialises writers (BEGIN IMMEDIATE) and an unlocked read locks nothing, so
    # there the state can be loaded rule by rule without any risk of deadlock.
    staged = not lock or svc.db.is_sqlite
    result, load_rows, rotations = route_with(s, book, ctx, org, now, lock=lock, staged=staged)
    elapsed_us = (time.perf_counter_ns() - started) // 1000
    return result, ctx, org, load_rows, rotations, elapsed_us


def route_with(
    s: Session,
    book: Rulebook,
    ctx: dict[str, Any],
    org: Org,
    now: datetime,
    *,
    lock: bool,
    staged: bool = False,
) -> tuple[RoutingResult, dict[int, RepLoadRow], dict[str, RotationRow]]:
    """Route `ctx` through any rulebook (the active one, or one a feature builds, e.g. a
    queue's auto-assignment), loading and locking the loads and rotations it needs.

    Most leads are decided by the first rule that applies, so when `staged` only that
    rule's state is loaded first, and the rest only if the decision went further (then it
    decides again: `route` is pure). PostgreSQL row locks are taken once, in order."""
    tested: Tested = {}  # each rule's conditions tested once, for both calls below
    stages = needs_by_rule(book, ctx, org, now, first=staged, tested=tested)
    rotations: dict[str, RotationRow] = {}
    load_rows: dict[int, RepLoadRow] = {}
    loads: dict[int, RepLoad] = {}
    states: dict[str, dict[str, int]] = {}
    while True:
        need = merge_needs(stages)
        fresh_rotations = _lock_rotations(s, need.pool_keys - rotations.keys(), lock)
        fresh_loads = _lock_loads(s, need.rep_ids - load_rows.keys(), lock)
        rotations.update(fresh_rotations)
        load_rows.update(fresh_loads)
        loads.update(_loads(s, fresh_loads, org, now))
        states.update(
            {k: {kk: int(v) for kk, v in r.state.items()} for k, r in fresh_rotations.items()}
        )
        result = route(book, ctx, org, loads, states, now, tested=tested)
        if not staged or assign_steps_reached(result) <= len(stages):
            return result, load_rows, rotations
        stages, staged = needs_by_rule(book, ctx, org, now, tested=tested), False  # all


def lock_loads(s: Session, rep_ids: frozenset[int]) -> dict[int, RepLoadRow]:
    """Lock these reps' load rows (in id order, like every writer) for a decision."""
    return _lock_loads(s, rep_ids, True)


def current_load(row: RepLoadRow, org: Org, now: datetime) -> RepLoad:
    return _load(row, org, now)


def intake(
    svc: Services, data: LeadIn, *, idempotency_key: str | None = None, actor: str = "api"
) -> tuple[dict[str, Any], bool]:
    """Store and route one lead. Returns (lead view, created?); a repeat returns the first."""
    try:
        if svc.db.is_sqlite:
            return _submit(svc, data, idempotency_key, actor).result()
        now = svc.clock.now()
        with svc.db.write() as s:
            return _intake_in(
                s, svc, lead_document(data), data.external_id, idempotency_key, actor, now
            )
    except IntegrityError as exc:
        return _raced(svc, data, idempotency_key, exc)


async def intake_async(
    svc: Services, data: LeadIn, *, idempotency_key: str | None = None, actor: str = "api"
) -> tuple[dict[str, Any], bool]:
    """`intake` for an event loop. On SQLite the request waits for its group commit
    without holding a thread (the API's hottest path); elsewhere it runs in a worker
    thread, as a plain database transaction."""
    if not svc.db.is_sqlite:
        call = functools.partial(intake, svc, data, idempotency_key=idempotency_key, actor=actor)
        return await anyio.to_thread.run_sync(call)
    channel = svc.extras.get("intake_channel")
    if channel is not None:
        answered = await _by_writer(channel, svc, data, idempotency_key, actor)
        if answered is not None:
            return answered
    try:
        return await asyncio.wrap_future(_submit(svc, data, idempotency_key, actor))
    except IntegrityError as exc:
        return await anyio.to_thread.run_sync(_raced, svc, data, idempotency_key, exc)


async def _by_writer(
    channel: IntakeChannel, svc: Services, data: LeadIn, key: str | None, actor: str
) -> tuple[dict[str, Any], bool] | None:
    """The intake writer process's answer; None when this process must route the lead
    itself (no writer reachable, or the writer stored nothing because the lead failed:
    run here, the failure reaches the client as itself)."""
    doc, now = lead_document(data), svc.clock.now()
    answer = await channel.submit(doc, data.external_id, key, actor, now)
    if answer is None:
        return None
    kind, payload = answer
    if kind in (intake_writer.CREATED, intake_writer.EXISTING):
        answer = orjson.loads(payload)
        decision_metrics.count(answer["decisions"])
        if answer["wake"]:
            broker.notify()  # committed by the writer: this process's streams read it now
        return answer["view"], kind == intake_writer.CREATED
    if kind == intake_writer.RACED:
        found = await anyio.to_thread.run_sync(_find_existing, svc, data.external_id, key)
        if found is not None:
            return found, False
    return None


def intake_many(
    svc: Services, leads: Iterable[tuple[LeadIn, str | None]], *, actor: str
) -> Iterator[tuple[dict[str, Any], bool]]:
    """`intake` for many (lead, idempotency key) pairs, answered in order. On SQLite they
    are all queued at once, so they share group commits instead of paying one commit each
    (a CSV import); each is still routed and committed exactly like a single intake."""
    if not svc.db.is_sqlite:
        for data, key in leads:
            yield intake(svc, data, idempotency_key=key, actor=actor)
        return
    queued = [(data, key, _submit(svc, data, key, actor)) for data, key in leads]
    for data, key, future in queued:
        try:
            yield future.result()
        except IntegrityError as exc:
            yield _raced(svc, data, key, exc)


def _submit(
    svc: Services, data: LeadIn, key: str | None, actor: str
) -> Future[tuple[dict[str, Any], bool]]:
    """Queue the lead for the next group commit (SQLite: one writer at a time anyway)."""
    external_id, now = data.external_id, svc.clock.now()
    # A batch may run twice (see group_commit): each run works on a document of its own.
    return group_commit.committer(svc.extras, svc.db).submit(
        lambda s: _intake_in(s, svc, lead_document(data), external_id, key, actor, now)
    )


def _raced(
    svc: Services, data: LeadIn, key: str | None, error: IntegrityError
) -> tuple[dict[str, Any], bool]:
    """A concurrent request with the same external id / key won the race: answer with it."""
    existing = _find_existing(svc, data.external_id, key)
    if existing is None:
        raise error
    return existing, False


def _find_existing(
    svc: Services, external_id: str | None, key: str | None
) -> dict[str, Any] | None:
    with svc.db.read() as s:
        row = _existing(s, external_id, key)
        return lead_view(row) if row else None


def _existing(s: Session, external_id: str | None, key: str | None) -> LeadRow | None:
    """The lead already stored under this external id (first) or idempotency key."""
    # Almost every intake finds nothing: a narrow query, the row loaded only on a hit.
    # (The connection sees this transaction's earlier leads: each is flushed at insert.)
    for stmt, value in ((_LEAD_BY_EXTERNAL_ID, external_id), (_LEAD_BY_KEY, key)):
        if value:
            found = direct.scalar(s, stmt, {"v": value})
            if found is not None:
                return s.get(LeadRow, found)
    return None


def _intake_in(
    s: Session,
    svc: Services,
    doc: dict[str, Any],
    external_id: str | None,
    key: str | None,
    actor: str,
    now: datetime,
) -> tuple[dict[str, Any], bool]:
    """The intake's work inside the caller's write transaction."""
    existing = _existing(s, external_id, key) if (external_id or key) else None
    if existing is not None:
        return lead_view(existing), False
    for hook in before_routing_hooks():
        short = hook(s, doc, now)
        if short and short.get("merged_into") is not None:
            merged = s.get(LeadRow, short["merged_into"])
            if merged is not None:
                return lead_view(merged), False
    notes = doc.pop("_trace", None)
    result, ctx, org, load_rows, rotations, elapsed_us = decide(svc, s, doc, now, lock=True)
    if notes:
        result.trace["before_routing"] = notes
    # Stored with its outcome already: one INSERT, and apply_result finds nothing to change.
    lead = insert_row(
        s,
        LeadRow,
        external_id=external_id,
        idempotency_key=key,
        account_id=ctx["account"].get("id"),
        territory=ctx["territory"].get("name"),
        email=doc.get("email"),
        phone=doc.get("phone"),
        score=doc.get("score"),
        data=doc,
        created_at=now,
        **_outcome_fields(result.outcome, now),
    )
    apply_result(s, lead, result, org, load_rows, rotations, now, elapsed_us, "route", actor)
    return lead_view(lead), True


def apply_result(
    s: Session,
    lead: LeadRow,
    result: RoutingResult,
    org: Org,
    load_rows: dict[int, RepLoadRow],
    rotations: dict[str, RotationRow],
    now: datetime,
    elapsed_us: int,
    kind: str,
    actor: str,
) -> DecisionRow:
    """Persist the outcome, the counters and the decision record (caller's transaction)."""
    out = result.outcome
    for key, state in result.state_updates.items():
        update_row(s, rotations[key], state=state, updated_at=now)
    if out.kind == "assigned":
        assert out.rep_id is not None
        _count_assignment(s, load_rows[out.rep_id], org, now)
    for field, value in _outcome_fields(out, now).items():
        if getattr(lead, field) != value:  # a lead stored with its outcome stays clean
            setattr(lead, field, value)
    trace = dict(result.trace)
    trace["decide_us"] = elapsed_us
    decision = insert_row(
        s,
        DecisionRow,
        lead_id=lead.id,
        kind=kind,
        outcome=out.kind,
        rule=out.rule,
        method=out.method,
        rep_id=out.rep_id,
        queue=out.queue,
        reason=out.reason,
        rulebook_version=trace.get("rulebook_version"),
        trace=trace,
        duration_us=elapsed_us,
        actor=actor,
        created_at=now,
    )
    # A plain UPDATE, the object told it is saved: no unit-of-work pass for one column.
    direct.execute(s, _SET_LAST_DECISION, {"lead": lead.id, "decision": decision.id})
    set_committed_value(lead, "last_decision_id", decision.id)
    for hook in after_decision_hooks():
        hook(s, lead, decision, result, org, now)
    return decision


def _outcome_fields(out: Outcome, now: datetime) -> dict[str, Any]:
    """The lead columns an outcome sets."""
    if out.kind == "assigned":
        fields = {"status": LeadStatus.ASSIGNED, "owner_rep_id": out.rep_id, "queue": None,
                  "assigned_at": now}  # fmt: skip
    elif out.kind == "queued":
        fields = {"status": LeadStatus.QUEUED, "owner_rep_id": None, "queue": out.queue}
    else:
        fields = {"status": LeadStatus.OFFERED, "owner_rep_id": None}
    return fields | {"rule": out.rule, "updated_at": now}


_SET_LAST_DECISION = (
    update(LeadRow.__table__)
    .where(LeadRow.__table__.c.id == bindparam("lead"))
    .values(last_decision_id=bindparam("decision"))
)


def _count_assignment(s: Session, row: RepLoadRow, org: Org, now: datetime) -> None:
    rep = org.reps.get(row.rep_id)
    day, week = _period_keys(rep.timezone if rep else None, now)
    _forget_load(s, row.rep_id)
    update_row(
        s,
        row,
        open_count=row.open_count + 1,
        day_count=row.day_count + 1 if row.day_key == day else 1,
        day_key=day,
        week_count=row.week_count + 1 if row.week_key == week else 1,
        week_key=week,
        last_assigned_at=now,
    )


def release_open(s: Session, rep_id: int) -> None:
    """A lead stopped counting against its owner's open capacity (closed, reassigned)."""
    s.execute(
        update(RepLoadRow)
        .where(RepLoadRow.rep_id == rep_id, RepLoadRow.open_count > 0)
        .values(open_count=RepLoadRow.open_count - 1)
    )
    # A row this transaction already loaded must not keep the old count.
    held = s.identity_map.get(s.identity_key(RepLoadRow, rep_id))
    if held is not None:
        s.expire(held, ["open_count"])
    _forget_load(s, rep_id)


def dry_run(svc: Services, data: LeadIn, *, book: Rulebook | None = None) -> dict[str, Any]:
    """Where would this lead go, and why? Nothing is stored or locked. `book`: a draft
    rulebook to try instead of the active one."""
    doc = lead_document(data)
    now = svc.clock.now()
    with svc.db.read() as s:
        for hook in preview_routing_hooks():
            hook(s, doc, now)
        notes = doc.pop("_trace", None)
        result, ctx, org, _, _, elapsed_us = decide(svc, s, doc, now, lock=False, book=book)
        if notes:
            result.trace["before_routing"] = notes
    out = result.outcome
    owner = org.reps.get(out.rep_id) if out.rep_id is not None else None
    return {
        "outcome": out.kind,
        "rule": out.rule,
        "method": out.method,
        "owner_rep_id": out.rep_id,
        "owner_name": owner.name if owner else None,
        "queue": out.queue,
        "reason": out.reason,
        "lead": ctx,
        "trace": result.trace,
        "duration_us": elapsed_us,
    }


# ---------------------------------------------------------------- reading


def lead_view(row: LeadRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "external_id": row.external_id,
        "status": row.status,
        "owner_rep_id": row.owner_rep_id,
        "queue": row.queue,
        "decision_id": row.last_decision_id,
        "rule": row.rule,
        "account_id": row.account_id,
        "territory": row.territory,
        "created_at": row.created_at,
        "assigned_at": row.assigned_at,
        "updated_at": row.updated_at,
        **{k: v for k, v in row.data.items() if k != "external_id"},
    }


def decision_view(row: DecisionRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "lead_id": row.lead_id,
        "kind": row.kind,
        "outcome": row.outcome,
        "rule": row.rule,
        "method": row.method,
        "rep_id": row.rep_id,
        "queue": row.queue,
        "reason": row.reason,
        "rulebook_version": row.rulebook_version,
        "duration_us": row.duration_us,
        "actor": row.actor,
        "created_at": row.created_at,
        "trace": row.trace,
    }


def get_lead(svc: Services, lead_id: int) -> dict[str, Any]:
    with svc.db.read() as s:
        row = s.get(LeadRow, lead_id)
        if row is None:
            raise NotFound(f"lead {lead_id} not found")
        return lead_view(row)


def get_decisions(svc: Services, lead_id: int) -> list[dict[str, Any]]:
    with svc.db.read() as s:
        if s.get(LeadRow, lead_id) is None:
            raise NotFound(f"lead {lead_id} not found")
        rows = s.scalars(
            select(DecisionRow).where(DecisionRow.lead_id == lead_id).order_by(DecisionRow.id)
        )
        return [decision_view(r) for r in rows]


def list_leads(
    svc: Services,
    *,
    owner: int | None = None,
    status: str | None = None,
    queue: str | None = None,
    territory: str | None = None,
    before: int | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    """Newest first; pass `next` back as `before` for the following page (keyset paging)."""
    q = select(LeadRow).order_by(LeadRow.id.desc()).limit(limit + 1)
    if owner is not None:
        q = q.where(LeadRow.owner_rep_id == owner)
    if status:
        q = q.where(LeadRow.status == status)
    if queue:
        q = q.where(LeadRow.queue == queue)
    if territory:
        q = q.where(LeadRow.territory == territory)
    if before is not None:
        q = q.where(LeadRow.id < before)
    with svc.db.read() as s:
        rows = list(s.scalars(q))
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "items": [lead_view(r) for r in rows],
        "next": rows[-1].id if more and rows else None,
    }
