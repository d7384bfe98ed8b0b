"""A decision trace as a timeline a manager can read: which rules were tried and why
they did or did not match, who was considered, why the winner won and why each
other rep was passed over ("why Alice, and why not Bob")."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from leadflow.domain.eligibility import SkipReason

SKIP_TEXT: dict[str, str] = {
    SkipReason.INACTIVE: "is inactive (left the team or disabled)",
    SkipReason.AWAY: "was set to away",
    SkipReason.OFFLINE: "was offline",
    SkipReason.OUT_OF_OFFICE: "was out of office",
    SkipReason.OUTSIDE_HOURS: "was outside working hours",
    SkipReason.AT_CAPACITY_OPEN: "had reached the maximum of open leads",
    SkipReason.AT_CAPACITY_DAY: "had reached the daily cap",
    SkipReason.AT_CAPACITY_WEEK: "had reached the weekly cap",
    SkipReason.MISSING_SKILL: "lacks a required skill",
    SkipReason.MISSING_LANGUAGE: "does not speak the lead's language",
    SkipReason.NOT_IN_TERRITORY: "does not cover the territory",
}
OPS = {
    "eq": "=",
    "ne": "≠",
    "gt": ">",
    "gte": "≥",
    "lt": "<",
    "lte": "≤",
    "in": "in",
    "not_in": "not in",
    "contains": "contains",
    "exists": "exists",
    "matches": "matches",
    "between": "between",
    "starts_with": "starts with",
}


@dataclass
class Candidate:
    name: str
    verdict: str  # chosen | passed | skipped
    why: str


@dataclass
class Step:
    rule: str
    matched: bool | None
    result: str
    conditions: list[dict[str, Any]] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)
    decisive: bool = False


@dataclass
class Event:
    id: int
    at: Any
    kind: str
    outcome: str
    headline: str
    actor: str
    reason: str
    steps: list[Step]
    extra: list[tuple[str, str]] = field(default_factory=list)


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _condition(c: dict[str, Any]) -> dict[str, Any]:
    op = OPS.get(str(c.get("op")), str(c.get("op")))
    return {
        "text": f"{c.get('field')} {op} {_show(c.get('value'))}",
        "actual": "missing" if c.get("actual") is None else _show(c.get("actual")),
        "ok": bool(c.get("result")),
    }


def _candidates(raw: list[dict[str, Any]], winner: int | None, reason: str) -> list[Candidate]:
    winner_name = next((c["name"] for c in raw if c.get("rep_id") == winner), None)
    out = []
    for c in raw:
        name = str(c.get("name") or f"rep {c.get('rep_id')}")
        if winner is not None and c.get("rep_id") == winner:
            out.append(Candidate(name, "chosen", reason or "chosen by the rule's method"))
        elif c.get("eligible"):
            because = f"eligible, but {winner_name} was chosen" if winner_name else "eligible"
            out.append(Candidate(name, "passed", because + (f" ({reason})" if reason else "")))
        else:
            skipped = str(c.get("skipped") or "")
            out.append(Candidate(name, "skipped", SKIP_TEXT.get(skipped, skipped or "skipped")))
    order = {"chosen": 0, "passed": 1, "skipped": 2}
    return sorted(out, key=lambda c: order[c.verdict])  # the winner first, then the others


def _headline(d: dict[str, Any], names: dict[int, str]) -> str:
    rule = f" by rule “{d['rule']}”" if d.get("rule") else ""
    method = f" ({str(d['method']).replace('_', ' ')})" if d.get("method") else ""
    if d["outcome"] == "assigned" and d.get("rep_id") is not None:
        who = names.get(d["rep_id"], f"rep {d['rep_id']}")
        return f"Assigned to {who}{rule}{method}"
    if d["outcome"] == "queued":
        return f"Queued in “{d.get('queue')}”{rule}"
    if d["outcome"] == "offered":
        return f"Offered{method}{rule}"
    return f"{d['kind'].replace('_', ' ').capitalize()}: {d['outcome']}{rule}"


def _extra(trace: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    if trace.get("rulebook_version") is not None:
        out.append(("rulebook version", str(trace["rulebook_version"])))
    if isinstance(trace.get("decide_us"), int):
        out.append(("decided in", f"{trace['decide_us'] / 1000:.1f} ms"))
    for key, value in trace.items():
        if key not in ("steps", "outcome", "rulebook_version", "decide_us") and value:
            out.append((key.replace("_", " "), _show(value)))
    return out


def timeline(decisions: list[dict[str, Any]], names: dict[int, str]) -> list[Event]:
    events = []
    for d in decisions:
        trace = d.get("trace") or {}
        steps = []
        raw_steps = trace.get("steps") or []
        for i, s in enumerate(raw_steps):
            decisive = i == len(raw_steps) - 1 and d["outcome"] in ("assigned", "queued", "offered")
            steps.append(
                Step(
                    rule=str(s.get("rule")),
                    matched=s.get("matched"),
                    result=str(s.get("result") or ""),
                    conditions=[_condition(c) for c in s.get("conditions") or []],
                    candidates=_candidates(
                        s.get("candidates") or [],
                        d.get("rep_id") if decisive else None,
                        d.get("reason") or "",
                    ),
                    decisive=decisive,
                )
            )
        events.append(
            Event(
                d["id"],
                d["created_at"],
                d["kind"],
                d["outcome"],
                _headline(d, names),
                d.get("actor") or "system",
                d.get("reason") or "",
                steps,
                _extra(trace),
            )
        )
    return events
