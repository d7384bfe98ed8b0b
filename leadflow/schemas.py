"""Input and output shapes shared by the HTTP API and the CLI (Pydantic).

Inputs are bounded (lengths, list sizes) and normalised here: e-mails lowercased and
checked, phone numbers to E.164, countries to ISO 3166 alpha-2.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from leadflow.domain.model import WEEKDAYS

COUNTRIES = frozenset(phonenumbers.SUPPORTED_REGIONS) | {"EU"}

MAX_ID = 2**63 - 1
"""Largest row id either database stores (64-bit): a bigger number is bad input, not a 500."""


def _email(value: str) -> str:
    try:
        return validate_email(value, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ValueError(f"not a valid e-mail address: {exc}") from None


def _country(value: str) -> str:
    code = value.strip().upper()
    if code not in COUNTRIES:
        raise ValueError(f"{value!r} is not an ISO 3166 two-letter country code (e.g. FR, US)")
    return code


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown timezone {value!r} (use an IANA name like Europe/Paris)"
        ) from None
    return value


def _language(value: str) -> str:
    code = value.strip().lower()
    if not (2 <= len(code) <= 3 and code.isalpha()):
        raise ValueError(f"{value!r} is not an ISO 639 language code (e.g. fr, en)")
    return code


Email = Annotated[str, Field(max_length=320), AfterValidator(_email)]
Country = Annotated[str, Field(max_length=3), AfterValidator(_country)]
Timezone = Annotated[str, Field(max_length=64), AfterValidator(_timezone)]
Language = Annotated[str, Field(max_length=8), AfterValidator(_language)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
#: A reference to a stored row: ids are positive 64-bit integers (BIGINT).
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Tag = Annotated[str, Field(min_length=1, max_length=100)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CapacityIn(Strict):
    max_open: int | None = Field(default=None, ge=0, le=100_000)
    max_per_day: int | None = Field(default=None, ge=0, le=100_000)
    max_per_week: int | None = Field(default=None, ge=0, le=1_000_000)


def _check_hours(value: dict[str, list[str]] | None) -> dict[str, list[str]] | None:
    if value is None:
        return None
    from leadflow.rules.compile import parse_hours

    out = {}
    for day, ranges in value.items():
        key = day.lower()[:3]
        if key not in WEEKDAYS:
            raise ValueError(f"unknown weekday {day!r}; use mon, tue, wed, thu, fri, sat, sun")
        for r in ranges:
            parse_hours(r)
        out[key] = list(ranges)
    return out


WorkingHours = Annotated[
    dict[str, list[Annotated[str, Field(max_length=20)]]] | None, AfterValidator(_check_hours)
]


class RepIn(Strict):
    name: Name
    email: Email
    teams: list[Tag] = Field(default_factory=list, max_length=50)
    territories: list[Tag] = Field(default_factory=list, max_length=200)
    skills: list[Tag] = Field(default_factory=list, max_length=100)
    languages: list[Language] = Field(default_factory=list, max_length=30)
    timezone: Timezone | None = None
    working_hours: WorkingHours = Field(
        default=None, description='e.g. {"mon": ["09:00-12:00", "13:00-18:00"], ...}'
    )
    capacity: CapacityIn = Field(default_factory=CapacityIn)
    weight: int = Field(default=1, ge=1, le=1000)
    status: Literal["available", "away", "offline"] = "available"
    active: bool = True


class RepPatch(Strict):
    name: Name | None = None
    email: Email | None = None
    teams: list[Tag] | None = Field(default=None, max_length=50)
    territories: list[Tag] | None = Field(default=None, max_length=200)
    skills: list[Tag] | None = Field(default=None, max_length=100)
    languages: list[Language] | None = Field(default=None, max_length=30)
    timezone: Timezone | None = None
    working_hours: WorkingHours = None
    capacity: CapacityIn | None = None
    weight: int | None = Field(default=None, ge=1, le=1000)
    status: Literal["available", "away", "offline"] | None = None
    active: bool | None = None

    @field_validator("name", "email", "weight", "status", "active")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        # `null` clears an optional field (timezone, working hours); these always have a value.
        if value is None:
            raise ValueError("cannot be null; leave the field out to keep its value")
        return value


class AbsenceIn(Strict):
    start: datetime
    end: datetime
    note: str = Field(default="", max_length=500)

    @model_validator(mode="after")
    def _ordered(self) -> AbsenceIn:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("start and end need a timezone offset, e.g. 2026-12-24T00:00:00Z")
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class TeamIn(Strict):
    name: Tag
    manager_rep_id: Id | None = None


class TerritoryIn(Strict):
    name: Tag
    team: Tag | None = None
    countries: list[Country] = Field(default_factory=list, max_length=300)
    states: list[Annotated[str, Field(max_length=10)]] = Field(default_factory=list, max_length=300)
    regions: list[Tag] = Field(default_factory=list, max_length=300)
    postcode_prefixes: list[Annotated[str, Field(max_length=12)]] = Field(
        default_factory=list, max_length=5000
    )
    industries: list[Tag] = Field(default_factory=list, max_length=300)
    size_min: int | None = Field(default=None, ge=0)
    size_max: int | None = Field(default=None, ge=0)
    priority: int = Field(default=100, ge=0, le=1_000_000)


class AccountIn(Strict):
    name: Name
    domains: list[Annotated[str, Field(min_length=3, max_length=253)]] = Field(
        min_length=1, max_length=100
    )
    owner_rep_id: Id | None = None
    strategic: bool = False
    team: Tag | None = None

    @field_validator("domains")
    @classmethod
    def _domains(cls, value: list[str]) -> list[str]:
        from leadflow.domain.matching import normalise_domain

        out = []
        for d in value:
            norm = normalise_domain(d)
            if "." not in norm or " " in norm:
                raise ValueError(f"{d!r} is not a domain name like acme.com")
            out.append(norm)
        return out


class CompanyIn(Strict):
    name: str | None = Field(default=None, max_length=300)
    domain: str | None = Field(default=None, max_length=253)
    size: int | None = Field(default=None, ge=0, le=10_000_000)
    industry: str | None = Field(default=None, max_length=100)
    country: Country | None = None
    state: str | None = Field(default=None, max_length=10)
    region: str | None = Field(default=None, max_length=100)
    postcode: str | None = Field(default=None, max_length=12)


def _bounded_attributes(value: dict[str, Any]) -> dict[str, Any]:
    if len(value) > 100:
        raise ValueError("at most 100 attributes")
    for key, item in value.items():
        if len(key) > 100:
            raise ValueError(f"attribute name longer than 100 characters: {key[:20]!r}…")
        if isinstance(item, str) and len(item) > 2000:
            raise ValueError(f"attribute {key!r} longer than 2000 characters")
        if isinstance(item, dict | list):
            raise ValueError(f"attribute {key!r} must be a scalar (text, number, true/false)")
    return value


class LeadIn(Strict):
    external_id: str | None = Field(default=None, min_length=1, max_length=200)
    email: Email | None = None
    first_name: str | None = Field(default=None, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)
    language: Language | None = None
    company: CompanyIn = Field(default_factory=CompanyIn)
    # After `company`: the phone validator reads the company's country as the default region.
    phone: str | None = Field(default=None, max_length=40)
    source: str | None = Field(default=None, max_length=100)
    score: float | None = Field(default=None, ge=0, le=100)
    value: float | None = Field(default=None, ge=0, le=1e12)
    attributes: Annotated[dict[str, Any], AfterValidator(_bounded_attributes)] = Field(
        default_factory=dict
    )

    @field_validator("phone")
    @classmethod
    def _phone_e164(cls, value: str | None, info: ValidationInfo) -> str | None:
        if not value:
            return None
        company = info.data.get("company")
        country = company.country if isinstance(company, CompanyIn) else None
        try:
            return to_e164(value, country)
        except ValueError:
            # Kept as given: enrichment flags it (and refuses it if the rulebook says so).
            return value


def to_e164(value: str, country: str | None = None) -> str:
    """Any reasonable spelling of a phone number → E.164 (`+33142685300`)."""
    region = country if country and country != "EU" else None
    try:
        parsed = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        raise ValueError(
            f"{value!r} is not a phone number; write it with its country code (+33…)"
        ) from None
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError(f"{value!r} is not a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
