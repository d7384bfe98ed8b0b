"""A small organisation and rulebook, created over HTTP: what the crash, load and fuzz
harnesses route leads against."""

from __future__ import annotations

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


def seed_pull_over_http(url: str, token: str, *, pullers: int = 4) -> list[str] | None:
    """On top of `seed_over_http`: the pool queue (no hoarding cap), a rule feeding it,
    and rep tokens for the first `pullers` reps. None when the deployment has no pull
    queues (the harness then sends intake only)."""
    h = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=h, timeout=30) as c:
        r = c.put(f"/api/v1/queues/{POOL}",
                  json={"name": POOL, "mode": "pool", "policies": {"hoarding_cap": None}})
        if r.status_code in (404, 405):
            return None
        r.raise_for_status()
        rule = f"  - name: pool\n    when: {{source: {POOL}}}\n    queue: {{name: {POOL}}}\n"
        c.put("/api/v1/rulebook", content=RULEBOOK.replace("fallback:", rule + "fallback:"),
              headers={"Content-Type": "application/yaml"}).raise_for_status()
        reps = c.get("/api/v1/reps").json()
        reps = reps["items"] if isinstance(reps, dict) else reps
        tokens = []
        for rep in reps[:pullers]:
            made = c.post("/api/v1/tokens", json={"role": "rep", "name": f"puller-{rep['id']}",
                                                  "rep_id": rep["id"]})
            made.raise_for_status()
            tokens.append(made.json()["token"])
        return tokens or None
