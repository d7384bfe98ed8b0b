"""Input shapes of pull distribution (queues, tiers, claims, activities), shared by the
HTTP API and the YAML loader. Every cross-field rule says which field to change."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, field_validator, model_validator

from leadflow.domain.pull import DEFAULT_HOARDING_CAP, DEFAULT_PREVIEW, Mode, Tier
from leadflow.rules.conditions import LEAD_ROOTS, ConditionError, parse_condition
from leadflow.schemas import Email, Strict, Tag

QueueName = Annotated[
    str, StringConstraints(min_length=1, max_length=100, pattern=r"^[a-z0-9][a-z0-9_-]*$")
]
"""Lower-case letters, digits, `-` and `_`: names appear in URLs."""

Minutes = Annotated[float, Field(gt=0, le=60 * 24 * 30)]

ACTIVITY_TYPES = ("called", "emailed", "meeting", "qualified", "won", "lost", "disqualified")


class DiversityIn(Strict):
    score_below: float = Field(default=50, ge=0, le=1_000_000)
    min_low_percent: int | None = Field(default=30, ge=1, le=100)
    ratio: int | None = Field(default=None, ge=1, le=100)
    window: int = Field(default=10, ge=2, le=1000)

    @model_validator(mode="after")
    def _one_rule(self) -> DiversityIn:
        if self.ratio is not None and "min_low_percent" not in self.model_fields_set:
            self.min_low_percent = None  # a ratio replaces the default percentage
        if self.ratio is not None and self.min_low_percent is not None:
            raise ValueError("give `min_low_percent` or `ratio`, not both")
        return self


class AutoAssignIn(Strict):
    after_minutes: Minutes
    method: Literal["round_robin"] = "round_robin"


class StepIn(Strict):
    after_minutes: Minutes
    action: Literal["auto_assign", "queue"]
    queue: QueueName | None = None

    @model_validator(mode="after")
    def _target(self) -> StepIn:
        if (self.action == "queue") != (self.queue is not None):
            raise ValueError("`queue` is required for action `queue`, and only for it")
        return self


class PoliciesIn(Strict):
    hoarding_cap: int | None = Field(default=DEFAULT_HOARDING_CAP, ge=1, le=10_000)
    diversity: DiversityIn | None = None
    skip_limit: int | None = Field(default=None, ge=1, le=1000)
    min_claims_per_day: int | None = Field(default=None, ge=1, le=10_000)
    auto_assign: AutoAssignIn | None = None
    escalation: list[StepIn] = Field(default_factory=list, max_length=10)


class QueueIn(Strict):
    name: QueueName
    mode: Mode
    order: Literal["arrival", "priority"] = "arrival"
    preview_fields: list[Annotated[str, Field(max_length=100)]] = Field(
        default_factory=lambda: list(DEFAULT_PREVIEW), max_length=20
    )
    lease_minutes: Minutes = 15
    team: Tag | None = None
    reps: list[Email] = Field(default_factory=list, max_length=1000)
    average_filter: dict[str, Any] | None = None
    policies: PoliciesIn = Field(default_factory=PoliciesIn)

    @field_validator("preview_fields")
    @classmethod
    def _known_fields(cls, v: list[str]) -> list[str]:
        for f in v:
            if f.split(".", 1)[0] not in LEAD_ROOTS:
                raise ValueError(f"{f!r} is not a lead field (e.g. company.name, source, score)")
        return v

    @field_validator("average_filter")
    @classmethod
    def _condition(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        if v is not None:
            try:
                parse_condition(v, "average_filter")
            except ConditionError as exc:
                raise ValueError(f"{exc.path}: {exc.message}") from None
        return v

    @model_validator(mode="after")
    def _fits_mode(self) -> QueueIn:
        p = self.policies
        if p.diversity is not None and self.mode not in (Mode.POOL, Mode.CHERRY_PICK):
            raise ValueError(
                "policies.diversity needs a mode where reps choose (pool or cherry_pick)"
            )
        if p.skip_limit is not None and self.mode is not Mode.CHERRY_PICK:
            raise ValueError("policies.skip_limit applies to cherry_pick queues only")
        if self.team and self.reps:
            raise ValueError("give `team` or `reps`, not both")
        return self


class TierIn(Strict):
    tier: Tier


class AssignIn(Strict):
    rep_id: int = Field(ge=1)
    reason: str = Field(default="", max_length=1000)


class ActivityIn(Strict):
    type: Literal["called", "emailed", "meeting", "qualified", "won", "lost", "disqualified"]
    note: str | None = Field(default=None, max_length=5000)
