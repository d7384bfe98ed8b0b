"""Validate a rulebook document and compile it into the immutable domain `Rulebook`.

Every error names the rule and the field at fault, so the author knows what to change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import time
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic import ValidationError as PydanticError

from leadflow import yamltext
from leadflow.domain.model import WEEKDAYS, TimeRange
from leadflow.domain.rulebook import (
    Action,
    ActiveWindow,
    Assign,
    Enqueue,
    Method,
    Offer,
    OfferMode,
    Rule,
    Rulebook,
)
from leadflow.errors import RulebookError
from leadflow.rules.conditions import ConditionError, parse_condition
from leadflow.rules.lifecycle import LifecycleSpec

MAX_RULES = 500
MAX_DOCUMENT_BYTES = 1_000_000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AssignSpec(_Strict):
    method: Method
    team: str | None = None
    reps: list[str] = Field(default_factory=list, max_length=1000)
    rep: str | None = None
    territory: str | None = None
    skills: list[str] = Field(default_factory=list, max_length=50)
    match_language: bool = False
    weights: dict[str, int] = Field(default_factory=dict)

    @field_validator("weights")
    @classmethod
    def _positive(cls, v: dict[str, int]) -> dict[str, int]:
        for email, w in v.items():
            if w < 1:
                raise ValueError(f"weight of {email} must be at least 1")
        return v


class QueueSpec(_Strict):
    name: str = Field(min_length=1, max_length=100)


class ScoreSpec(_Strict):
    """Weights of the performance score (cascade and broadcast rank reps by it)."""

    conversion: float = Field(default=0.6, ge=0, le=100)
    acceptance: float = Field(default=0.25, ge=0, le=100)
    speed: float = Field(default=0.15, ge=0, le=100)
    prior: float = Field(default=5.0, ge=0, le=1000)
    window_days: int = Field(default=90, ge=1, le=3650)


class OfferSpec(_Strict):
    mode: Literal["cascade", "broadcast", "rotating"]
    team: str | None = None
    reps: list[str] = Field(default_factory=list, max_length=1000)
    timeout: str | int = "2m"
    max_rounds: int = Field(default=1, ge=1, le=20)
    size: int | None = Field(default=None, ge=1, le=100)
    then: ActionSpec | None = None
    score: ScoreSpec = Field(default_factory=ScoreSpec)


MIN_OFFER_TIMEOUT = 5
MAX_OFFER_TIMEOUT = 86_400
_UNITS = {"s": 1, "m": 60, "h": 3600}


def parse_duration(value: str | int) -> int:
    """'90s', '2m', '1h' or a number of seconds → seconds; ValueError says what to write."""
    if isinstance(value, int):
        seconds = value
    else:
        text = value.strip().lower()
        unit = text[-1:] if text[-1:] in _UNITS else "s"
        number = text[:-1] if text[-1:] in _UNITS else text
        if not number.strip().isdigit():
            raise ValueError(f"{value!r} is not a duration like 90s, 2m or 1h")
        seconds = int(number) * _UNITS[unit]
    if not MIN_OFFER_TIMEOUT <= seconds <= MAX_OFFER_TIMEOUT:
        raise ValueError(f"must be between {MIN_OFFER_TIMEOUT}s and 24h (got {seconds}s)")
    return seconds


class WindowSpec(_Strict):
    days: list[str] = Field(default_factory=list)
    hours: str | None = None
    timezone: str = "UTC"


class ActionSpec(_Strict):
    assign: AssignSpec | None = None
    queue: QueueSpec | str | None = None
    offer: OfferSpec | None = None


OfferSpec.model_rebuild()  # `then` is itself an action


class RuleSpec(ActionSpec):
    name: str = Field(min_length=1, max_length=120)
    description: str = Field(default="", max_length=2000)
    when: dict[str, Any] | None = None
    active: WindowSpec | None = None


class RulebookSpec(_Strict):
    rules: list[RuleSpec] = Field(default_factory=list, max_length=MAX_RULES)
    fallback: ActionSpec
    free_mail_domains: list[str] = Field(default_factory=list)
    description: str = ""
    lifecycle: LifecycleSpec | None = None  # dedup, enrichment, scoring, SLAs (lifecycle.md)


@dataclass(frozen=True)
class OrgRefs:
    """Names a rulebook may refer to; a reference to anything else is an error."""

    teams: frozenset[str] = frozenset()
    rep_emails: frozenset[str] = frozenset()
    territories: frozenset[str] = frozenset()
    queues: frozenset[str] | None = None  # None: any queue name is accepted
    check: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


def parse_document(text: str | bytes) -> dict[str, Any]:
    """YAML or JSON text → mapping (JSON is YAML, but JSON errors read better as JSON)."""
    if len(text) > MAX_DOCUMENT_BYTES:
        raise RulebookError(f"document larger than {MAX_DOCUMENT_BYTES} bytes")
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise RulebookError("document is not UTF-8 text") from exc
    stripped = text.lstrip()
    try:
        # YAML 1.2 booleans: `in: [NO, SE]` means Norway and Sweden, not [false, "SE"].
        doc = json.loads(text) if stripped.startswith("{") else yamltext.load(text)
    except (json.JSONDecodeError, yamltext.YAMLError) as exc:
        raise RulebookError(f"not valid YAML/JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise RulebookError("a rulebook is a mapping with `rules` and `fallback`")
    return doc


def compile_rulebook(doc: dict[str, Any], refs: OrgRefs, version: int = 0) -> Rulebook:
    try:
        spec = RulebookSpec.model_validate(doc)
    except PydanticError as exc:
        raise _from_pydantic(exc, doc) from None
    names: set[str] = set()
    rules = []
    for rule in spec.rules:
        if rule.name in names:
            raise RulebookError(
                "duplicate rule name; names must be unique", rule=rule.name, field="name"
            )
        names.add(rule.name)
        rules.append(_rule(rule, refs))
    fallback = _action(spec.fallback, "fallback", refs)
    free_mail = frozenset(d.lower() for d in spec.free_mail_domains)
    return Rulebook(tuple(rules), fallback, version, free_mail)


def _rule(spec: RuleSpec, refs: OrgRefs) -> Rule:
    when = None
    if spec.when is not None:
        try:
            when = parse_condition(spec.when)
        except ConditionError as exc:
            raise RulebookError(exc.message, rule=spec.name, field=exc.path) from None
    window = _window(spec.active, spec.name) if spec.active else None
    action = _action(spec, spec.name, refs)
    if when is None:
        return Rule(spec.name, action, window=window, description=spec.description)
    return Rule(spec.name, action, when, window, spec.description)


def _action(spec: ActionSpec, rule: str, refs: OrgRefs) -> Action:
    given = [k for k in ("assign", "queue", "offer") if getattr(spec, k) is not None]
    if len(given) != 1:
        raise RulebookError(
            "give exactly one action: assign, queue or offer"
            + (f" (found {', '.join(given)})" if given else ""),
            rule=rule,
            field="action",
        )
    if spec.assign is not None:
        return _assign(spec.assign, rule, refs)
    if spec.queue is not None:
        name = spec.queue if isinstance(spec.queue, str) else spec.queue.name
        if refs.check and refs.queues is not None and name not in refs.queues:
            raise RulebookError(f"unknown queue {name!r}", rule=rule, field="queue.name")
        return Enqueue(name)
    assert spec.offer is not None
    return _offer(spec.offer, rule, refs)


def _offer(offer: OfferSpec, rule: str, refs: OrgRefs) -> Offer:
    if not refs.extra.get("offers", False) and refs.check:
        raise RulebookError(
            "offer actions are not enabled in this version; use assign or queue",
            rule=rule,
            field="offer",
        )
    if bool(offer.team) == bool(offer.reps):
        raise RulebookError("give `team` or a list of `reps`", rule=rule, field="offer.team")
    _check_pool(offer.team, offer.reps, rule, "offer", refs)
    try:
        timeout = parse_duration(offer.timeout)
    except ValueError as exc:
        raise RulebookError(str(exc), rule=rule, field="offer.timeout") from None
    if offer.size is not None and offer.mode != "broadcast":
        raise RulebookError(
            "`size` applies to broadcast offers only", rule=rule, field="offer.size"
        )
    then = None
    if offer.then is not None:
        try:
            then = _action(offer.then, rule, refs)
        except RulebookError as exc:
            inner = exc.errors[0]
            raise RulebookError(
                str(inner["message"]), rule=rule, field=f"offer.then.{inner['field'] or 'action'}"
            ) from None
    return Offer(
        OfferMode(offer.mode),
        offer.team,
        tuple(r.lower() for r in offer.reps),
        offer.score.model_dump(),
        timeout,
        offer.max_rounds,
        offer.size,
        then,
    )


def _assign(a: AssignSpec, rule: str, refs: OrgRefs) -> Assign:
    reps = tuple(r.lower() for r in a.reps)
    if a.method is Method.DIRECT:
        if not a.rep:
            raise RulebookError(
                "direct assignment needs `rep` (an e-mail)", rule=rule, field="assign.rep"
            )
        reps = (a.rep.lower(),)
    elif a.method is not Method.ACCOUNT_OWNER and not a.team and not reps:
        raise RulebookError(
            f"{a.method} needs a `team` or a list of `reps`", rule=rule, field="assign.team"
        )
    if a.team and reps and a.method is not Method.DIRECT:
        raise RulebookError("give `team` or `reps`, not both", rule=rule, field="assign.reps")
    _check_pool(a.team, reps, rule, "assign", refs)
    if refs.check and a.territory not in (None, "matched") and a.territory not in refs.territories:
        raise RulebookError(
            f"unknown territory {a.territory!r} (or use `matched`)",
            rule=rule,
            field="assign.territory",
        )
    weights = {k.lower(): v for k, v in a.weights.items()}
    if refs.check:
        for email in weights:
            if email not in refs.rep_emails:
                raise RulebookError(f"unknown rep {email!r}", rule=rule, field="assign.weights")
    return Assign(
        a.method,
        a.team,
        reps,
        a.territory,
        frozenset(s.lower() for s in a.skills),
        a.match_language,
        weights,
    )


def _check_pool(
    team: str | None, reps: tuple[str, ...] | list[str], rule: str, kind: str, refs: OrgRefs
) -> None:
    if not refs.check:
        return
    if team and team not in refs.teams:
        known = ", ".join(sorted(refs.teams)) or "none defined yet"
        raise RulebookError(
            f"unknown team {team!r} (known: {known})", rule=rule, field=f"{kind}.team"
        )
    for email in reps:
        if email.lower() not in refs.rep_emails:
            raise RulebookError(f"unknown rep {email!r}", rule=rule, field=f"{kind}.reps")


def parse_hours(text: str) -> TimeRange:
    """'09:00-17:30' → TimeRange; raises ValueError with a readable message."""
    try:
        start, end = (time.fromisoformat(p.strip()) for p in text.split("-"))
    except ValueError:
        raise ValueError(f"{text!r} is not a range like 09:00-17:30") from None
    if start == end:
        raise ValueError(f"{text!r} is an empty range")
    return TimeRange(start, end)


def _window(w: WindowSpec, rule: str) -> ActiveWindow:
    days = set()
    for d in w.days:
        if d.lower()[:3] not in WEEKDAYS:
            raise RulebookError(
                f"unknown weekday {d!r}; use mon..sun", rule=rule, field="active.days"
            )
        days.add(WEEKDAYS.index(d.lower()[:3]))
    try:
        ZoneInfo(w.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise RulebookError(
            f"unknown timezone {w.timezone!r}", rule=rule, field="active.timezone"
        ) from None
    hours = None
    if w.hours:
        try:
            hours = parse_hours(w.hours)
        except ValueError as exc:
            raise RulebookError(str(exc), rule=rule, field="active.hours") from None
    return ActiveWindow(frozenset(days), hours, w.timezone)


def _from_pydantic(exc: PydanticError, doc: dict[str, Any]) -> RulebookError:
    err = exc.errors()[0]
    loc = list(err["loc"])
    rule = None
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
        raw = (doc.get("rules") or [])[loc[1]]
        rule = raw.get("name") if isinstance(raw, dict) and raw.get("name") else f"#{loc[1] + 1}"
        loc = loc[2:]
    elif len(loc) > 1 and loc[0] == "fallback":
        rule, loc = "fallback", loc[1:]
    # Pydantic puts union member names (e.g. 'QueueSpec', 'str') in the path: drop them.
    path = ".".join(
        str(p) for p in loc if not (isinstance(p, str) and (p[:1].isupper() or p == "str"))
    )
    message = err["msg"]
    if err["type"] == "extra_forbidden":
        message = "unknown field (check the spelling; see docs/rulebook.md)"
    return RulebookError(message, rule=rule, field=path or None)
