"""Realistic random leads, reproducible with a seed (demo stream, benchmarks, simulator)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

COUNTRIES = [
    ("FR", 22),
    ("DE", 12),
    ("US", 20),
    ("GB", 10),
    ("BE", 5),
    ("CH", 4),
    ("AT", 3),
    ("ES", 6),
    ("IT", 6),
    ("CA", 5),
    ("NL", 4),
    ("LU", 1),
    ("BR", 2),
]
LANG = {
    "FR": "fr",
    "BE": "fr",
    "LU": "fr",
    "DE": "de",
    "AT": "de",
    "CH": "de",
    "ES": "es",
    "IT": "it",
    "NL": "nl",
    "BR": "pt",
}
INDUSTRIES = [
    "software",
    "healthcare",
    "finance",
    "manufacturing",
    "retail",
    "education",
    "logistics",
    "energy",
    "media",
    "saas",
]
SOURCES = ["website", "webinar", "paid_search", "linkedin", "referral", "event", "partner"]
FIRST = [
    "Alice",
    "Bruno",
    "Camille",
    "David",
    "Elena",
    "Farid",
    "Greta",
    "Hannah",
    "Ivan",
    "Julie",
    "Karim",
    "Laura",
    "Mehdi",
    "Nora",
    "Oscar",
    "Paula",
    "Quentin",
    "Rosa",
    "Stefan",
    "Tara",
    "Ugo",
    "Vera",
    "Walid",
    "Xenia",
    "Yann",
    "Zoé",
]
LAST = [
    "Durand",
    "Lefebvre",
    "Müller",
    "Schmidt",
    "Smith",
    "Jones",
    "Rossi",
    "García",
    "Novak",
    "Janssen",
    "Silva",
    "Dupont",
    "Keller",
    "Brown",
    "Moreau",
    "Richter",
]
WORDS = [
    "Nova",
    "Blue",
    "Apex",
    "Vertex",
    "Quantum",
    "Nimbus",
    "Orbit",
    "Pixel",
    "Atlas",
    "Cedar",
    "Delta",
    "Ember",
    "Fjord",
    "Granite",
    "Harbor",
    "Iris",
    "Juniper",
    "Kite",
]
SUFFIX = ["Labs", "Systems", "Solutions", "Group", "Tech", "Industries", "Partners", "Works"]
KNOWN_ACCOUNT_DOMAINS = [
    "acme.example",
    "globex.example",
    "initech.example",
    "umbrella.example",
    "stark.example",
]


def _size(rng: random.Random) -> int:
    roll = rng.random()
    if roll < 0.45:
        return rng.randint(1, 49)
    if roll < 0.85:
        return rng.randint(50, 499)
    return rng.randint(500, 50_000)


def lead(rng: random.Random, n: int, *, prefix: str = "demo") -> dict[str, Any]:
    countries, weights = zip(*COUNTRIES, strict=True)
    country = rng.choices(countries, weights)[0]
    company = f"{rng.choice(WORDS)} {rng.choice(SUFFIX)}"
    if rng.random() < 0.08:
        domain = rng.choice(KNOWN_ACCOUNT_DOMAINS)
    else:
        domain = company.lower().replace(" ", "") + ".example"
    first, last = rng.choice(FIRST), rng.choice(LAST)
    mail_domain = "gmail.com" if rng.random() < 0.1 else domain
    return {
        "external_id": f"{prefix}-{n}",
        "email": f"{first.lower()}.{n}@{mail_domain}",
        "first_name": first,
        "last_name": last,
        "language": LANG.get(country, "en"),
        "company": {
            "name": company,
            "domain": domain,
            "size": _size(rng),
            "industry": rng.choice(INDUSTRIES),
            "country": country,
        },
        "source": rng.choice(SOURCES),
        "score": round(rng.betavariate(2, 3) * 100, 1),
        "value": float(rng.choice([1000, 5000, 10000, 25000, 50000, 100000])),
        "attributes": {"utm_source": rng.choice(["google", "linkedin", "newsletter", "direct"])},
    }


def leads(seed: int = 7, *, prefix: str = "demo", start: int = 1) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    n = start
    while True:
        yield lead(rng, n, prefix=prefix)
        n += 1
