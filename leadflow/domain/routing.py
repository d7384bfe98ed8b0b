"""Route one lead through a compiled rulebook: the first matching rule that can act wins.

Two pure steps, so the caller can load state between them inside one transaction:

1. `needs(...)` tells which reps' loads and which rotations the decision may touch;
2. `route(...)` decides, returning the outcome, the new rotation states and a trace.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from leadflow.domain.conditions import explain_result
from leadflow.domain.eligibility import Requirements, SkipReason, skip_reason
from leadflow.domain.model import LeadData, Org, Rep, RepLoad
from leadflow.domain.rulebook import (
    Action,
    Assign,
    Enqueue,
    Method,
    Offer,
    OfferMode,
    Rule,
    Rulebook,
)
from leadflow.domain.strategies import (
    Choice,
    RotationState,
    load_balanced,
    load_balanced_line,
    round_robin,
    round_robin_line,
    weighted,
)

UNASSIGNED_QUEUE = "unassigned"
"""Where a lead goes when even the fallback finds nobody: visible, never lost."""

FALLBACK = "fallback"
_IDLE = RepLoad()
_ANYONE = Requirements()
# Module names, not `Method.X`: an enum class attribute costs ~65 ns on Python 3.11.
_OWNER, _ROUND_ROBIN = Method.ACCOUNT_OWNER, Method.ROUND_ROBIN
_WEIGHTED, _LOAD_BALANCED = Method.WEIGHTED, Method.LOAD_BALANCED


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: str  # "assigned" | "queued" | "offered"
    rule: str
    rep_id: int | None = None
    queue: str | None = None
    method: str | None = None
    action: Action | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class RoutingResult:
    outcome: Outcome
    trace: dict[str, Any]
    state_updates: dict[str, dict[str, int]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Needs:
    rep_ids: frozenset[int]
    pool_keys: frozenset[str]


def needs(rulebook: Rulebook, lead: LeadData, org: Org, now: datetime) -> Needs:
    """Reps and rotations the decision may touch: those of every rule that matches."""
    return merge_needs(needs_by_rule(rulebook, lead, org, now))


def merge_needs(stages: Sequence[Needs]) -> Needs:
    return Needs(
        frozenset().union(*(n.rep_ids for n in stages)),
        frozenset().union(*(n.pool_keys for n in stages)),
    )


Tested = dict[int, tuple[bool, list[dict[str, Any]] | None]]
"""Rules already tested for one lead at one instant, by `id(rule)`: whether each applies and
its conditions explained (None: outside its active window). `needs_by_rule` fills it and
`route` reads it, so a rule's conditions are tested once per decision, not twice."""


def _tested(rule: Rule, lead: LeadData, now: datetime, memo: Tested | None) -> tuple[bool, Any]:
    if memo is not None:
        found = memo.get(id(rule))
        if found is not None:
            return found
    if rule.window is not None and not rule.window.is_open(now):
        found = (False, None)
    else:
        found = explain_result(rule.when, lead)
    if memo is not None:
        memo[id(rule)] = found
    return found


def needs_by_rule(
    rulebook: Rulebook,
    lead: LeadData,
    org: Org,
    now: datetime,
    *,
    first: bool = False,
    tested: Tested | None = None,
) -> list[Needs]:
    """What each assign rule that applies may touch, in evaluation order, the fallback last.

    `route` reaches these in order and stops at the first that acts, so a caller may load
    the first ones only and load the rest when `assign_steps_reached` says it went further.
    `first`: only the first stage, leaving the later rules' conditions untested (most leads
    are decided by the first rule that applies). `tested`: keep each rule's test (with its
    explanation) for the `route` call that follows.
    """
    stages: list[Needs] = []
    for rule in rulebook.rules:
        if tested is None:
            applies = _applies(rule, lead, now)
        else:
            applies = _tested(rule, lead, now, tested)[0]
        if not applies:
            continue
        if isinstance(rule.action, Assign):
            stages.append(_stage(rule.action, lead, org))
            if first:
                return stages
            continue
        if isinstance(rule.action, Offer):
            stages.append(offer_needs(rule.action, lead, org))
        break  # queue and offer actions always succeed: later rules are not reached
    if isinstance(rulebook.fallback, Offer):
        stages.append(offer_needs(rulebook.fallback, lead, org))
    if isinstance(rulebook.fallback, Assign):
        stages.append(_stage(rulebook.fallback, lead, org))
    return stages


def _stage(action: Assign, lead: LeadData, org: Org) -> Needs:
    return Needs(frozenset(r.id for r in _pool(action, lead, org)), frozenset([action.pool_key()]))


def assign_steps_reached(result: RoutingResult) -> int:
    """How many of `needs_by_rule`'s stages this decision evaluated."""
    return sum(
        1
        for st in result.trace["steps"]
        if st.get("matched") and st["action"] in ("assign", "offer")
    )


def route(
    rulebook: Rulebook,
    lead: LeadData,
    org: Org,
    loads: Mapping[int, RepLoad],
    states: Mapping[str, RotationState],
    now: datetime,
    *,
    trace: bool = True,
    tested: Tested | None = None,
) -> RoutingResult:
    """Decide; with `trace=False` (the simulator) skip the per-condition and per-candidate
    explanations, which cost more than the decision itself on large pools. `tested`: the
    rule tests `needs_by_rule` kept for this lead and instant."""
    steps: list[dict[str, Any]] = []
    for rule in rulebook.rules:
        if not trace:  # the same tests, without recording them
            if _applies(rule, lead, now):
                step: dict[str, Any] = {}
                outcome, updates = _act(
                    rule.name, rule.action, lead, org, loads, states, now, step, trace
                )
                if outcome is not None:
                    return RoutingResult(outcome, _trace(steps, outcome, rulebook, trace), updates)
            continue
        step = {"rule": rule.name, "action": rule.action.kind}
        steps.append(step)
        applies, explained = _tested(rule, lead, now, tested)
        if explained is None:
            step.update(matched=False, result="outside the rule's active window")
            continue
        step["conditions"] = explained
        if not applies:
            step.update(matched=False, result="conditions not met")
            continue
        step["matched"] = True
        outcome, updates = _act(rule.name, rule.action, lead, org, loads, states, now, step, trace)
        if outcome is not None:
            return RoutingResult(outcome, _trace(steps, outcome, rulebook, trace), updates)
    step = {"rule": FALLBACK, "action": rulebook.fallback.kind, "matched": True}
    steps.append(step)
    outcome, updates = _act(FALLBACK, rulebook.fallback, lead, org, loads, states, now, step, trace)
    if outcome is None:
        outcome = Outcome(
            "queued",
            FALLBACK,
            queue=UNASSIGNED_QUEUE,
            reason="the fallback found no eligible rep; held for a manager",
        )
        step["result"] = outcome.reason
    return RoutingResult(outcome, _trace(steps, outcome, rulebook, trace), updates)


def _trace(
    steps: list[dict[str, Any]], outcome: Outcome, rulebook: Rulebook, full: bool = True
) -> dict[str, Any]:
    if not full:
        return {"rulebook_version": rulebook.version}
    return {"rulebook_version": rulebook.version, "steps": steps, "outcome": _view(outcome)}


def _view(outcome: Outcome) -> dict[str, Any]:
    return {
        "kind": outcome.kind,
        "rule": outcome.rule,
        "rep_id": outcome.rep_id,
        "queue": outcome.queue,
        "method": outcome.method,
        "reason": outcome.reason,
    }


# ---------------------------------------------------------------- one action, no rules


def action_needs(action: Action, lead: LeadData, org: Org) -> Needs:
    """Reps and rotations that applying `action` alone may touch."""
    if isinstance(action, Assign):
        pool = frozenset(r.id for r in _pool(action, lead, org))
        return Needs(pool, frozenset([action.pool_key()]))
    return Needs(frozenset(), frozenset())


def offer_needs(action: Offer, lead: LeadData, org: Org) -> Needs:
    """What an offer may lock later in the same transaction (its rotation, and the pools
    of its `then` chain when nobody is eligible), so intake locks it upfront, in order."""
    rep_ids: set[int] = set()
    keys: set[str] = set()
    current: Action | None = action
    while isinstance(current, Offer):
        if current.mode == OfferMode.ROTATING:
            keys.add(current.pool_key())
        current = current.then
    if current is not None:
        extra = action_needs(current, lead, org)
        rep_ids.update(extra.rep_ids)
        keys.update(extra.pool_keys)
    return Needs(frozenset(rep_ids), frozenset(keys))


def act_alone(
    rule_name: str,
    action: Action,
    lead: LeadData,
    org: Org,
    loads: Mapping[int, RepLoad],
    states: Mapping[str, RotationState],
    now: datetime,
    why: str,
    rulebook_version: int | None,
) -> RoutingResult:
    """Apply one action outside rule matching (an offer's `then`); never nowhere."""
    step: dict[str, Any] = {"rule": rule_name, "action": action.kind, "matched": True, "why": why}
    outcome, updates = _act(rule_name, action, lead, org, loads, states, now, step)
    if outcome is None:
        outcome = Outcome(
            "queued",
            rule_name,
            queue=UNASSIGNED_QUEUE,
            reason=f"{why}; the `then` action found no eligible rep; held for a manager",
        )
        step["result"] = outcome.reason
    trace = {"rulebook_version": rulebook_version, "steps": [step], "outcome": _view(outcome)}
    return RoutingResult(outcome, trace, updates)


def offer_pool(action: Offer, org: Org) -> list[Rep]:
    if action.team:
        return org.team_members(action.team)
    reps = [org.rep_by_email(e) for e in action.reps]
    return [r for r in reps if r is not None]


def offer_candidates(
    pool: Sequence[Rep], loads: Mapping[int, RepLoad], now: datetime, step: dict[str, Any]
) -> list[Rep]:
    """An offer's pool screened like any assignment's; the reasons go in `step`."""
    return _screen(pool, loads, Requirements(), now, step)


def _applies(rule: Rule, lead: LeadData, now: datetime) -> bool:
    if rule.window is not None and not rule.window.is_open(now):
        return False
    return rule.when.evaluate(lead)


def _act(
    rule_name: str,
    action: Action,
    lead: LeadData,
    org: Org,
    loads: Mapping[int, RepLoad],
    states: Mapping[str, RotationState],
    now: datetime,
    step: dict[str, Any],
    trace: bool = True,
) -> tuple[Outcome | None, dict[str, dict[str, int]]]:
    if isinstance(action, Enqueue):
        step["result"] = f"queued in {action.queue!r}"
        return Outcome("queued", rule_name, queue=action.queue, action=action), {}
    if isinstance(action, Offer):
        step["result"] = f"offered ({action.mode})"
        return Outcome("offered", rule_name, method=action.mode, action=action), {}
    return _assign(rule_name, action, lead, org, loads, states, now, step, trace)


def _assign(
    rule_name: str,
    action: Assign,
    lead: LeadData,
    org: Org,
    loads: Mapping[int, RepLoad],
    states: Mapping[str, RotationState],
    now: datetime,
    step: dict[str, Any],
    trace: bool = True,
) -> tuple[Outcome | None, dict[str, dict[str, int]]]:
    step["method"] = str(action.method)
    if action.method is _OWNER:
        return _account_owner(rule_name, action, lead, org, loads, now, step)

    req, missing = _requirements(action, lead)
    if missing:
        step["result"] = missing
        return None, {}
    pool = _pool(action, lead, org)
    key = action.pool_key()
    state = states.get(key, {})
    if trace or action.method not in _LINES:
        eligible = _screen(pool, loads, req, now, step, trace)
    else:
        # No trace wanted: screen reps in the order the method serves them and stop at
        # the first eligible one, which is the method's choice among all eligible reps.
        line = _LINES[action.method]
        eligible = _first_eligible(pool, lambda: line(pool, loads, state), loads, req, now)
    if not eligible:
        step["result"] = "no eligible rep" if pool else "the pool has no reps"
        return None, {}
    choice = _choose(action, eligible, loads, state, org)
    step["result"] = f"assigned to {choice.rep.name} ({choice.why})"
    updates = {key: choice.state} if choice.state else {}
    outcome = Outcome(
        "assigned", rule_name, rep_id=choice.rep.id, method=str(action.method), reason=choice.why
    )
    return outcome, updates


def _choose(
    action: Assign,
    eligible: Sequence[Rep],
    loads: Mapping[int, RepLoad],
    state: RotationState,
    org: Org,
) -> Choice:
    if action.method is _ROUND_ROBIN:
        return round_robin(eligible, state)
    if action.method is _WEIGHTED:
        overrides = {}
        for email, w in action.weights.items():
            rep = org.rep_by_email(email)
            if rep is not None:
                overrides[rep.id] = w
        return weighted(eligible, state, overrides)
    if action.method is _LOAD_BALANCED:
        return load_balanced(eligible, loads)
    # direct: the pool is the one named rep
    return Choice(eligible[0], {}, "named rep")


def _requirements(action: Assign, lead: LeadData) -> tuple[Requirements, str]:
    territory = None
    if action.territory == "matched":
        matched = (lead.get("territory") or {}).get("name")
        if not matched:
            return Requirements(), "the lead matches no territory"
        territory = str(matched)
    elif action.territory:
        territory = action.territory
    language = None
    if action.match_language:
        language = lead.get("language") or None
    if not (action.skills or language or territory):
        return _ANYONE, ""  # shared: a frozen value, built once rather than per decision
    return Requirements(action.skills, language, territory), ""


def _pool(action: Assign, lead: LeadData, org: Org) -> list[Rep]:
    if action.method is _OWNER:
        owner_id = (lead.get("account") or {}).get("owner_rep_id")
        rep = org.reps.get(owner_id) if owner_id is not None else None
        pool = [rep] if rep else []
        manager = _manager_for(lead, rep, org)
        if manager is not None and manager not in pool:
            pool.append(manager)
        return pool
    if action.team:
        return org.team_members(action.team)
    reps = [org.rep_by_email(e) for e in action.reps]
    return [r for r in reps if r is not None]


def _screen(
    pool: Sequence[Rep],
    loads: Mapping[int, RepLoad],
    req: Requirements,
    now: datetime,
    step: dict[str, Any],
    trace: bool = True,
) -> list[Rep]:
    idle = _IDLE
    if not trace:
        return [r for r in pool if skip_reason(r, loads.get(r.id, idle), req, now) is None]
    candidates = []
    eligible = []
    for rep in pool:
        reason = skip_reason(rep, loads.get(rep.id, idle), req, now)
        candidates.append(
            {"rep_id": rep.id, "name": rep.name, "eligible": reason is None, "skipped": reason}
        )
        if reason is None:
            eligible.append(rep)
    step["candidates"] = candidates
    return eligible


def _first_eligible(
    pool: Sequence[Rep],
    line: Callable[[], list[int]],
    loads: Mapping[int, RepLoad],
    req: Requirements,
    now: datetime,
) -> list[Rep]:
    """The method's choice as a one-rep list, or [] if nobody in the pool is eligible."""
    idle = _IDLE
    # First in pool order: when nobody is eligible (outside everyone's hours, caps full),
    # the whole pool is screened once and no line is computed.
    first = -1
    for i, rep in enumerate(pool):
        if skip_reason(rep, loads.get(rep.id, idle), req, now) is None:
            first = i
            break
    if first < 0:
        return []
    # Reps before `first` are known ineligible and `first` eligible: walk the line,
    # screening only reps not seen yet, until the first eligible one.
    for i in line():
        if i == first:
            return [pool[i]]
        if i > first and skip_reason(pool[i], loads.get(pool[i].id, idle), req, now) is None:
            return [pool[i]]
    raise AssertionError("unreachable: the line is a permutation of the pool")


_LINES: dict[Method, Callable[[Sequence[Rep], Mapping[int, RepLoad], RotationState], list[int]]]
_LINES = {
    _ROUND_ROBIN: lambda pool, loads, state: round_robin_line(pool, state),
    _LOAD_BALANCED: lambda pool, loads, state: load_balanced_line(pool, loads),
}
"""Methods whose choice among any eligible subset of the pool is the subset's first rep
in a line that does not depend on eligibility. Weighted is not one: every eligible rep's
score grows on each pick, so it needs them all."""


def _manager_for(lead: LeadData, owner: Rep | None, org: Org) -> Rep | None:
    account = lead.get("account") or {}
    team_names = [account["team"]] if account.get("team") else []
    if owner is not None:
        team_names += sorted(owner.teams)
    for name in team_names:
        team = org.teams.get(name)
        if team is not None and team.manager_rep_id is not None:
            manager = org.reps.get(team.manager_rep_id)
            if manager is not None and (owner is None or manager.id != owner.id):
                return manager
    return None


def _account_owner(
    rule_name: str,
    action: Assign,
    lead: LeadData,
    org: Org,
    loads: Mapping[int, RepLoad],
    now: datetime,
    step: dict[str, Any],
) -> tuple[Outcome | None, dict[str, dict[str, int]]]:
    account = lead.get("account") or {}
    if not account.get("matched"):
        step["result"] = "no matching account"
        return None, {}
    req, _ = _requirements(action, lead)
    owner_id = account.get("owner_rep_id")
    owner = org.reps.get(owner_id) if owner_id is not None else None
    if owner is not None:
        reason = skip_reason(owner, loads.get(owner.id, RepLoad()), req, now)
        step["candidates"] = [
            {"rep_id": owner.id, "name": owner.name, "eligible": reason is None, "skipped": reason}
        ]
        if reason is None:
            step["result"] = f"assigned to account owner {owner.name}"
            return Outcome(
                "assigned",
                rule_name,
                rep_id=owner.id,
                method=str(action.method),
                reason=f"owner of account {account.get('name')!r}",
            ), {}
        if reason is not SkipReason.INACTIVE:
            step["result"] = f"account owner {owner.name} skipped: {reason}"
            return None, {}
    # The owner left (inactive or deleted): the team's manager takes the account's lead.
    manager = _manager_for(lead, owner, org)
    why = "account owner inactive" if owner is not None else "account has no owner"
    if manager is None:
        step["result"] = f"{why} and no team manager to hand over to"
        return None, {}
    reason = skip_reason(manager, loads.get(manager.id, RepLoad()), Requirements(), now)
    step.setdefault("candidates", []).append(
        {"rep_id": manager.id, "name": manager.name, "eligible": reason is None, "skipped": reason}
    )
    if reason is not None:
        step["result"] = f"{why}; manager {manager.name} skipped: {reason}"
        return None, {}
    step["result"] = f"{why}: assigned to team manager {manager.name}"
    return Outcome(
        "assigned",
        rule_name,
        rep_id=manager.id,
        method=str(action.method),
        reason=f"{why} → team manager",
    ), {}
