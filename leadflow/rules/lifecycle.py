"""The rulebook's `lifecycle:` section: dedup, enrichment, scoring, SLAs, re-routing.

Validated with the rest of the rulebook (errors name the field, e.g.
`lifecycle.sla.policies.0.within`); every part is optional and has safe defaults.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from leadflow.domain.conditions import Condition
from leadflow.rules.conditions import ConditionError, parse_condition

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str | int | float) -> float:
    """`90s`, `5m`, `1h`, `2d` (or a number of seconds) → seconds."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        seconds = float(text)
    else:
        m = _DURATION.match(str(text))
        if not m:
            raise ValueError(f"{text!r} is not a duration like 90s, 5m, 1h or 2d")
        seconds = float(m.group(1)) * _UNIT_SECONDS[m.group(2)]
    if not 0 < seconds <= 90 * 86400:
        raise ValueError("a duration is between 1 second and 90 days")
    return seconds


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _condition(raw: dict[str, Any] | None) -> dict[str, Any] | None:
    if raw is not None:
        try:
            parse_condition(raw)
        except ConditionError as exc:
            raise ValueError(f"{exc.path}: {exc.message}") from None
    return raw


DedupKey = Literal["email", "phone", "domain"]


def _default_keys() -> list[DedupKey]:
    # Not `domain`: two colleagues at one company are two people.
    return ["email", "phone"]


class DedupSpec(_Strict):
    """Which identities make two submissions the same lead, and what to do then."""

    # Off unless the rulebook turns it on: existing integrations that send one person
    # several times keep getting one lead per submission until they opt in.
    enabled: bool = False
    keys: list[DedupKey] = Field(default_factory=_default_keys, max_length=3)
    # gmail-style tags: jane+promo@x.com is jane@x.com
    strip_plus_addressing: bool = True
    # Only a lead still in play absorbs a duplicate; a closed one lets a new lead in.
    merge_into: list[str] = Field(
        default_factory=lambda: ["new", "assigned", "queued", "offered", "contacted", "qualified"]
    )


class EnrichmentSpec(_Strict):
    enabled: bool = True
    firmographics: bool = True
    phone_country: bool = True
    timezone: bool = True
    language_from_country: bool = True
    languages: dict[str, str] = Field(default_factory=dict, description="country → language")
    # The intake contract: an invalid phone is a 422 naming `phone`. Teams whose web forms
    # collect free text may turn this off to keep such leads (the phone is then flagged).
    require_valid_phone: bool = True


class BandSpec(_Strict):
    min: float
    points: float


class FactorSpec(_Strict):
    """One scoring factor: where to read it and how many points it is worth."""

    name: str = Field(min_length=1, max_length=60)
    field: str = Field(min_length=1, max_length=200)
    group: Literal["fit", "behaviour"] = "fit"
    bands: list[BandSpec] = Field(default_factory=list, max_length=50)
    values: dict[str, float] = Field(default_factory=dict)
    per: float | None = None
    max: float | None = None
    points: float | None = None


class ScoringSpec(_Strict):
    enabled: bool = True
    # auto: the trained model activated with `leadflow score train --activate`, else points
    model: Literal["auto", "points", "trained"] = "auto"
    keep_given_score: bool = True
    factors: list[FactorSpec] | None = None


class SlaPolicySpec(_Strict):
    name: str = Field(min_length=1, max_length=120)
    when: dict[str, Any] | None = None
    rules: list[str] = Field(default_factory=list, max_length=200)
    within: float
    business_hours: bool = False
    on_breach: Literal["reassign", "escalate"] = "reassign"

    _check_when = field_validator("when")(_condition)

    @field_validator("within", mode="before")
    @classmethod
    def _within(cls, v: Any) -> float:
        return parse_duration(v)


class SlaSpec(_Strict):
    enabled: bool = True
    policies: list[SlaPolicySpec] = Field(default_factory=list, max_length=100)
    default: SlaPolicySpec | None = None
    max_reassignments: int = Field(default=2, ge=0, le=50)
    away_after_misses: int | None = Field(default=3, ge=1, le=1000)


class RerouteSpec(_Strict):
    on_change: list[str] = Field(default_factory=list, max_length=50)
    statuses: list[str] = Field(default_factory=lambda: ["assigned", "queued"])


class LifecycleSpec(_Strict):
    dedup: DedupSpec = Field(default_factory=DedupSpec)
    enrichment: EnrichmentSpec = Field(default_factory=EnrichmentSpec)
    scoring: ScoringSpec = Field(default_factory=ScoringSpec)
    sla: SlaSpec = Field(default_factory=SlaSpec)
    reroute: RerouteSpec = Field(default_factory=RerouteSpec)


DEFAULT_LIFECYCLE = LifecycleSpec()


def lifecycle_of(document: dict[str, Any]) -> LifecycleSpec:
    """The lifecycle section of a (validated) rulebook document, defaults filled in."""
    raw = document.get("lifecycle")
    return LifecycleSpec.model_validate(raw) if raw else DEFAULT_LIFECYCLE


def policy_condition(policy: SlaPolicySpec) -> Condition | None:
    return parse_condition(policy.when) if policy.when else None
