"""A realistic, seeded workload: an organisation of N reps, a 20-rule rulebook, leads.

The organisation is an `org.yaml`-shaped document loaded through the real loader, so the
benchmark routes against exactly what a user's `leadflow load` would produce.
"""

from __future__ import annotations

import random
from typing import Any

TEAMS = ("france", "dach", "benelux", "nordics", "uk", "us-east", "us-west", "enterprise")
TEAMS += ("smb", "general")
TERRITORIES: dict[str, list[str]] = {
    "france": ["FR", "MC"],
    "dach": ["DE", "AT", "CH"],
    "benelux": ["BE", "NL", "LU"],
    "nordics": ["SE", "NO", "DK", "FI"],
    "uk": ["GB", "IE"],
    "us-east": ["US"],
    "iberia": ["ES", "PT"],
    "italy": ["IT"],
}
LANGUAGES = ("en", "fr", "de", "nl", "sv", "es", "it")
SKILLS = ("healthcare", "finance", "manufacturing", "saas", "public-sector")
INDUSTRIES = ("Healthcare", "Banking", "Manufacturing", "Software", "Retail", "Education")
INDUSTRIES += ("Insurance", "Logistics", "Energy", "Media")
COUNTRIES = ("FR", "DE", "BE", "NL", "SE", "NO", "GB", "US", "ES", "IT", "CH", "JP", "BR")
SOURCES = ("demo_request", "contact_form", "webinar", "ads", "event", "partner")
WORKDAY = {d: ["07:00-20:00"] for d in ("mon", "tue", "wed", "thu", "fri")}


def org_document(
    reps: int, *, accounts: int = 50, seed: int = 1, capacity_scale: int = 1
) -> dict[str, Any]:
    """`capacity_scale` multiplies every rep's caps: a flat-out run takes in days of an
    organisation's leads within seconds, and with caps sized for one day it would end up
    measuring a different decision (every rep full, every rule tried, the lead queued)."""
    rng = random.Random(seed)
    teams = [{"name": t} for t in TEAMS]
    territories = [
        {"name": name, "team": "general" if name in ("iberia", "italy") else name, "countries": cs}
        for name, cs in TERRITORIES.items()
    ]
    people = []
    for i in range(reps):
        team = TEAMS[i % len(TEAMS)]
        rep: dict[str, Any] = {
            "name": f"Rep {i:03d}",
            "email": f"rep{i:03d}@bench.example",
            "teams": [team],
            "languages": sorted(set(rng.sample(LANGUAGES, 2)) | {"en"}),
            "skills": rng.sample(SKILLS, rng.randint(0, 2)),
            "weight": rng.randint(1, 3),
            "timezone": rng.choice(["Europe/Paris", "Europe/London", "America/New_York"]),
            "capacity": {
                "max_open": rng.choice([50, 80, 120]) * capacity_scale,
                "max_per_day": 60 * capacity_scale,
            },
        }
        if team in TERRITORIES:
            rep["territories"] = [team]
        elif team == "general":
            rep["territories"] = ["iberia", "italy"]
        if i % 4 == 0:
            rep["working_hours"] = WORKDAY  # some reps keep hours, most are always on
        if i % 37 == 5:
            rep["status"] = "away"
        people.append(rep)
    for t in teams:
        t["manager"] = next(p["email"] for p in people if p["teams"] == [t["name"]])
    account_list = [
        {
            "name": f"Account {i}",
            "domains": [f"account{i}.example"],
            "owner": people[rng.randrange(reps)]["email"],
            "strategic": i % 5 == 0,
        }
        for i in range(accounts)
    ]
    return {"teams": teams, "territories": territories, "reps": people, "accounts": account_list}


def rulebook_document(rules: int = 20) -> dict[str, Any]:
    """Named accounts first, then segments, verticals and territories; 20 rules by default."""
    book: list[dict[str, Any]] = [
        {
            "name": "named accounts",
            "when": {"account.matched": True},
            "assign": {"method": "account_owner"},
        },
        {
            "name": "strategic enterprise",
            "when": {"all": [{"company.size": {"gte": 2000}}, {"score": {"gte": 70}}]},
            "assign": {"team": "enterprise", "method": "weighted"},
        },
        {
            "name": "enterprise",
            "when": {"company.size": {"gte": 500}},
            "assign": {"team": "enterprise", "method": "load_balanced"},
        },
        {
            "name": "partner referrals",
            "when": {"source": "partner", "attributes.partner_tier": {"in": ["gold", "platinum"]}},
            "assign": {"team": "general", "method": "round_robin"},
        },
    ]
    for skill, pattern in (
        ("healthcare", "health|hospital|pharma"),
        ("finance", "bank|insurance|financ"),
        ("manufacturing", "manufactur|industrial"),
    ):
        book.append(
            {
                "name": f"{skill} specialists",
                "when": {"company.industry": {"matches": pattern}, "company.size": {"gte": 50}},
                "assign": {"team": "general", "skills": [skill], "method": "round_robin"},
            }
        )
    for name in TERRITORIES:
        team = "general" if name in ("iberia", "italy") else name
        book.append(
            {
                "name": f"territory {name}",
                "when": {"territory.name": name},
                "assign": {
                    "team": team,
                    "territory": "matched",
                    "method": "weighted" if len(book) % 2 else "round_robin",
                    "match_language": name in ("france", "dach"),
                },
            }
        )
    book += [
        {
            "name": "webinar follow-up",
            "when": {
                "any": [
                    {"source": "webinar"},
                    {"attributes.utm_campaign": {"starts_with": "webinar"}},
                ]
            },
            "active": {
                "days": ["mon", "tue", "wed", "thu", "fri"],
                "hours": "08:00-18:00",
                "timezone": "Europe/Paris",
            },
            "assign": {"team": "smb", "method": "round_robin"},
        },
        {
            "name": "high score",
            "when": {"score": {"between": [80, 100]}},
            "assign": {"team": "general", "method": "load_balanced"},
        },
        {
            "name": "small business",
            "when": {"company.size": {"lt": 50}},
            "assign": {"team": "smb", "method": "round_robin"},
        },
        {
            "name": "free mail",
            "when": {"email": {"matches": "@(gmail|yahoo|hotmail)\\."}},
            "assign": {"team": "smb", "method": "weighted"},
        },
        {
            "name": "everything else sized",
            "when": {"company.size": {"exists": True}},
            "assign": {"team": "general", "method": "round_robin"},
        },
    ]
    return {
        "rules": book[:rules],
        "fallback": {"assign": {"team": "general", "method": "round_robin"}},
    }


def leads(n: int, *, seed: int = 2, prefix: str = "lead") -> list[dict[str, Any]]:
    """`POST /api/v1/leads` bodies: mixed countries, sizes, industries; some known accounts."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        country = rng.choice(COUNTRIES)
        domain = f"account{rng.randrange(50)}.example" if rng.random() < 0.1 else f"p{i}.example"
        lead: dict[str, Any] = {
            "external_id": f"{prefix}-{i}",
            "email": f"contact{i}@{domain}",
            "first_name": "Alex",
            "last_name": f"Lead{i}",
            "language": rng.choice(LANGUAGES),
            "company": {
                "name": f"Prospect {i}",
                "domain": domain,
                "size": rng.choice([5, 20, 45, 80, 150, 400, 800, 3000]),
                "industry": rng.choice(INDUSTRIES),
                "country": country,
            },
            "source": rng.choice(SOURCES),
            "score": rng.randint(0, 100),
            "attributes": {
                "utm_source": "bench",
                "utm_campaign": rng.choice(["spring", "webinar-q2"]),
            },
        }
        if country == "US":
            lead["company"]["state"] = rng.choice(["NY", "MA", "CA"])
        out.append(lead)
    return out
