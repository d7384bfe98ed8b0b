"""A small organisation and rulebook, created over HTTP: what the crash, load and fuzz
harnesses route leads against."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

RULEBOOK = """
rules:
  - name: france
    when: {company.country: {in: [FR, BE]}}
    assign: {team: france, method: round_robin}
  - name: germany
    when: {company.country: DE}
    assign: {team: dach, method: load_balanced}
fallback:
  queue: unassigned
"""
COUNTRIES = ["FR", "FR", "BE", "DE", "DE", "US"]


def seed_over_http(url: str, token: str, *, reps: int = 20, max_open: int | None = None) -> None:
    """Teams `france` and `dach`, `reps` reps alternating between them, the rulebook."""
    h = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=h, timeout=30) as c:
        for team in ("france", "dach"):
            c.post("/api/v1/teams", json={"name": team}).raise_for_status()
        for n in range(reps):
            rep: dict[str, object] = {
                "name": f"Rep {n}",
                "email": f"rep{n}@corp.example",
                "teams": ["france" if n % 2 == 0 else "dach"],
            }
            if max_open is not None:
                rep["capacity"] = {"max_open": max_open}
            c.post("/api/v1/reps", json=rep).raise_for_status()
        c.put(
            "/api/v1/rulebook", content=RULEBOOK, headers={"Content-Type": "application/yaml"}
        ).raise_for_status()


POOL = "load-pool"
"""A pull queue every rep may claim from; leads with `source: load-pool` wait there."""
OFFERED = "load-offer"
"""Leads with `source: load-offer` are offered (broadcast) to the reps that have tokens."""


@dataclass(frozen=True)
class Mix:
    """What `seed_mix_over_http` set up: rep tokens (a rep's own, for claims and offer
    accepts) and the matching rep ids and e-mails, in the same order."""

    tokens: list[str]
    rep_ids: list[int]
    emails: list[str]


MIX_RULES = ("load-pool", "load-offer")


def mix_rules(offer_to: list[str], offer_timeout: str, offer_rounds: int) -> list[dict[str, Any]]:
    """A rule feeding the pool and, if `offer_to` (e-mails), a broadcast offer rule
    falling back to the `unassigned` queue; both match on `source` only."""
    rules: list[dict[str, Any]] = [
        {"name": MIX_RULES[0], "when": {"source": POOL}, "queue": {"name": POOL}}
    ]
    if offer_to:
        offer = {"reps": offer_to, "mode": "broadcast", "timeout": offer_timeout,
                 "max_rounds": offer_rounds, "then": {"queue": "unassigned"}}
        rules.append({"name": MIX_RULES[1], "when": {"source": OFFERED}, "offer": offer})
    return rules


def with_rules_first(document: dict[str, Any], rules: list[dict[str, Any]]) -> dict[str, Any]:
    """The deployment's active rulebook with `rules` ahead of its own (so a lead's
    `source` decides, whatever else matches), replacing an earlier copy of them."""
    names = {r["name"] for r in rules}
    own = [r for r in document.get("rules") or [] if r.get("name") not in names]
    return {**document, "rules": [*rules, *own]}


def seed_mix_over_http(
    url: str,
    token: str,
    *,
    pullers: int = 4,
    offers: bool = True,
    offer_timeout: str = "30s",
    offer_rounds: int = 1,
    auto_assign_minutes: float | None = None,
) -> Mix | None:
    """On top of the deployment's rulebook (`seed_over_http`'s, or a real one): the pool
    queue (no hoarding cap; an `auto_assign` age step if `auto_assign_minutes`), a rule
    feeding it, an offer rule (if `offers`) to the first `pullers` reps, and their tokens.
    None when the deployment has no pull queues (the harness then sends intake only)."""
    h = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=h, timeout=30) as c:
        policies: dict[str, object] = {"hoarding_cap": None}
        if auto_assign_minutes is not None:
            policies["auto_assign"] = {"after_minutes": auto_assign_minutes}
        r = c.put(f"/api/v1/queues/{POOL}", json={"name": POOL, "mode": "pool",
                                                   "policies": policies})
        if r.status_code in (404, 405):
            return None
        r.raise_for_status()
        reps = c.get("/api/v1/reps").json()
        reps = (reps["items"] if isinstance(reps, dict) else reps)[:pullers]
        emails = [rep["email"] for rep in reps]
        active = c.get("/api/v1/rulebook")
        active.raise_for_status()
        rules = mix_rules(emails if offers else [], offer_timeout, offer_rounds)
        c.put("/api/v1/rulebook",
              json=with_rules_first(active.json()["document"], rules)).raise_for_status()
        tokens = []
        for rep in reps:
            made = c.post("/api/v1/tokens", json={"role": "rep", "name": f"puller-{rep['id']}",
                                                  "rep_id": rep["id"]})
            made.raise_for_status()
            tokens.append(made.json()["token"])
        if not tokens:
            return None
        return Mix(tokens, [int(rep["id"]) for rep in reps], emails)


def seed_pull_over_http(url: str, token: str, *, pullers: int = 4) -> list[str] | None:
    """Pool and claims only (no offer rule): the rep tokens."""
    mix = seed_mix_over_http(url, token, pullers=pullers, offers=False)
    return mix.tokens if mix else None
