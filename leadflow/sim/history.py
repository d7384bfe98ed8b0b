"""Generate a realistic lead history (and a matching org) to try the simulator without data.

Arrivals follow a non-homogeneous Poisson process: busier on weekday mornings and early
afternoons in the lead's own timezone, quiet at night and at weekends. Each lead gets an
owner from its region's team (sometimes another team, as happens), a first call after the
owner's response time counted in working hours, and an outcome drawn from the same
conversion model the simulator uses — so a lead called within 24 h converts about twice
as often as one called at 48 h.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from leadflow.demo.generator import COUNTRIES, FIRST, LANG, LAST
from leadflow.demo.generator import lead as demo_lead
from leadflow.sim.behaviour import RepBehaviour, generate, response_seconds
from leadflow.sim.calendar import Calendar
from leadflow.sim.conversion import ConversionModel
from leadflow.sim.leads import SimLead
from leadflow.store.convert import weekly_hours

COUNTRY_TZ = {
    "FR": "Europe/Paris",
    "DE": "Europe/Berlin",
    "US": "America/New_York",
    "GB": "Europe/London",
    "BE": "Europe/Brussels",
    "CH": "Europe/Zurich",
    "AT": "Europe/Vienna",
    "ES": "Europe/Madrid",
    "IT": "Europe/Rome",
    "CA": "America/Toronto",
    "NL": "Europe/Amsterdam",
    "LU": "Europe/Luxembourg",
    "BR": "America/Sao_Paulo",
}
WEEKDAY_FACTOR = (1.0, 1.1, 1.05, 1.0, 0.85, 0.25, 0.2)
HOUR_FACTOR = (
    (0.1,) * 7
    + (0.4, 0.8)
    + (1.3,) * 3
    + (0.9,) * 2
    + (1.2,) * 3
    + (0.9,)
    + (0.5,) * 3
    + (0.25,) * 3
)
PEAK = max(WEEKDAY_FACTOR) * max(HOUR_FACTOR)
MEAN = sum(WEEKDAY_FACTOR) / 7 * sum(HOUR_FACTOR) / 24


@dataclass(frozen=True, slots=True)
class Region:
    team: str
    countries: tuple[str, ...]
    languages: tuple[str, ...]
    timezone: str


REGIONS = (
    Region("france", ("FR", "BE", "LU"), ("fr",), "Europe/Paris"),
    Region("dach", ("DE", "AT", "CH"), ("de",), "Europe/Berlin"),
    Region("uk-benelux", ("GB", "NL"), ("en", "nl"), "Europe/London"),
    Region("south", ("ES", "IT", "BR"), ("es", "it", "pt"), "Europe/Madrid"),
    Region("north-america", ("US", "CA"), ("en",), "America/New_York"),
)
START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def generate_org(n_reps: int, seed: int = 7) -> dict[str, Any]:
    """An org document (`leadflow load` format): one team and territory per region."""
    rng = random.Random(seed)
    share = dict(COUNTRIES)
    total = sum(share.values())
    weights = [sum(share[c] for c in r.countries) / total for r in REGIONS]
    counts = [max(1, round(w * n_reps)) for w in weights]
    while sum(counts) > n_reps and max(counts) > 1:
        counts[counts.index(max(counts))] -= 1
    while sum(counts) < n_reps:
        counts[counts.index(min(counts))] += 1
    reps: list[dict[str, Any]] = []
    teams = []
    for region, count in zip(REGIONS, counts, strict=True):
        members = []
        for _ in range(count):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            email = f"{_ascii(first)}.{_ascii(last)}{len(reps) + 1}@sales.example"
            start = rng.choice(["08:00", "09:00", "09:00", "10:00"])
            end = {"08:00": "17:00", "09:00": "18:00", "10:00": "19:00"}[start]
            langs = sorted({"en", rng.choice(region.languages)})
            rep: dict[str, Any] = {
                "name": f"{first} {last}",
                "email": email,
                "teams": [region.team],
                "territories": [region.team],
                "languages": langs,
                "timezone": region.timezone,
                "working_hours": {
                    d: [f"{start}-{end}"] for d in ("mon", "tue", "wed", "thu", "fri")
                },
            }
            if rng.random() < 0.2:
                rep["skills"] = ["enterprise"]
            reps.append(rep)
            members.append(email)
        teams.append({"name": region.team, "manager": members[0]})
    territories = [
        {"name": r.team, "team": r.team, "countries": list(r.countries)} for r in REGIONS
    ]
    return {"teams": teams, "territories": territories, "reps": reps}


class _Arrivals:
    """Arrival times (epoch s) and countries, busier during local business hours."""

    def __init__(self, rng: random.Random, per_day: float, start: float) -> None:
        self.rng = rng
        self.rate_max = per_day / 86_400 / MEAN * PEAK
        self.t = start
        self.countries, weights = zip(*COUNTRIES, strict=True)
        total = sum(weights)
        self.shares = [w / total for w in weights]
        self.zones = [ZoneInfo(COUNTRY_TZ[c]) for c in self.countries]
        self._hour = -1
        self._factors: list[float] = []

    def _factors_at(self, t: float) -> list[float]:
        hour = int(t // 3600)
        if hour != self._hour:
            self._hour = hour
            utc = datetime.fromtimestamp(hour * 3600, UTC)
            self._factors = []
            for share, zone in zip(self.shares, self.zones, strict=True):
                local = utc.astimezone(zone)
                f = WEEKDAY_FACTOR[local.weekday()] * HOUR_FACTOR[local.hour] / PEAK
                self._factors.append(share * f)
        return self._factors

    def __iter__(self) -> Iterator[tuple[float, str]]:
        rng = self.rng
        while True:
            self.t += rng.expovariate(self.rate_max)
            roll = rng.random()
            for country, f in zip(self.countries, self._factors_at(self.t), strict=True):
                if roll < f:
                    yield self.t, country
                    break
                roll -= f


def generate_leads(
    n: int, seed: int = 7, *, per_day: float | None = None, start: datetime = START
) -> Iterator[SimLead]:
    """`n` leads in arrival order, without outcomes (streamed: constant memory)."""
    rng = random.Random(seed)
    arrivals = iter(_Arrivals(rng, per_day or max(50.0, n / 90), start.timestamp()))
    for i in range(1, n + 1):
        t, country = next(arrivals)
        d = demo_lead(rng, i, prefix="h")
        c = d["company"]
        yield SimLead(
            external_id=d["external_id"],
            created=round(t, 3),
            email=d["email"],
            first_name=d["first_name"],
            last_name=d["last_name"],
            language=LANG.get(country, "en"),
            source=d["source"],
            score=d["score"],
            value=d["value"],
            company_name=c["name"],
            company_domain=c["domain"],
            company_size=c["size"],
            company_industry=c["industry"],
            company_country=country,
        )


class _HistoricOwners:
    """How leads were handed out in the (made-up) past: region team, at random."""

    def __init__(self, org: dict[str, Any], rng: random.Random, start: float) -> None:
        self.rng = rng
        self.reps = org["reps"]
        self.by_team: dict[str, list[dict[str, Any]]] = {}
        for rep in self.reps:
            self.by_team.setdefault(rep["teams"][0], []).append(rep)
        self.team_of = {c: r.team for r in REGIONS for c in r.countries}
        ids = list(range(len(self.reps)))
        self.behaviour = dict(zip(ids, generate(rng, ids).values(), strict=True))
        self.calendars = [
            Calendar(
                weekly_hours(rep.get("working_hours")),
                rep.get("timezone"),
                meetings_per_day=self.behaviour[i].meetings_per_day,
                seed=rng.randrange(2**31),
                start=start,
            )
            for i, rep in enumerate(self.reps)
        ]
        self.index = {rep["email"]: i for i, rep in enumerate(self.reps)}

    def pick(self, lead: SimLead) -> int:
        team = self.team_of.get(lead.company_country)
        pool = self.by_team.get(team or "", [])
        if not pool or self.rng.random() < 0.1:
            pool = self.reps
        return self.index[self.rng.choice(pool)["email"]]


def _historic_match(rep: dict[str, Any], lead: SimLead, team_of: dict[str, str]) -> bool:
    return lead.language in rep["languages"] and team_of.get(lead.company_country) in rep["teams"]


def generate_history(
    n: int, org: dict[str, Any], seed: int = 7, model: ConversionModel | None = None
) -> Iterator[SimLead]:
    """Leads with owners, first calls and outcomes (the past the simulator replays)."""
    model = model or ConversionModel()
    rng = random.Random(seed + 1)
    owners = _HistoricOwners(org, rng, START.timestamp())
    for lead in generate_leads(n, seed):
        i = owners.pick(lead)
        rep = owners.reps[i]
        b: RepBehaviour = owners.behaviour[i]
        contact = owners.calendars[i].add(lead.created, response_seconds(rng, b))
        if rng.random() < 0.03:
            contact = float("inf")  # some leads are simply never called
        hours = (contact - lead.created) / 3600
        p = model.probability(
            lead.score, hours, b.performance, _historic_match(rep, lead, owners.team_of)
        )
        lead.owner_email = rep["email"]
        lead.first_contact = None if contact == float("inf") else round(contact, 3)
        lead.converted = rng.random() < p
        lead.revenue = lead.value if lead.converted else 0.0
        yield lead
