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
