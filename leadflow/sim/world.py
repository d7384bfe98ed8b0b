"""The simulated organisation, built by the production code path.

The org file is loaded with `leadflow load`'s own loader into a throwaway SQLite
database, and the `Org` snapshot is read back with the same `load_org` the live
services use; rulebooks are validated against it by the same compiler. So a simulated
rep has exactly the teams, territories, hours and caps routing would see live.

The org file may carry a `simulation:` section (ignored by `leadflow load`):

    simulation:
      defaults: {response_median_min: 20, cherry_pick: 0.2}
      reps:
        alice@example.com: {response_median_min: 5, accept_probability: 0.9}
      out_of_office:
        alice@example.com: [{start: 2026-02-02T00:00:00Z, end: 2026-02-07T00:00:00Z}]
      vacation_probability: 0.15   # per rep and 30 days, when no out_of_office given
"""

from __future__ import annotations

import random
import tempfile
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from leadflow.domain.model import Absence, Account, Org, Rep
from leadflow.domain.pull import Queue, Tier
from leadflow.domain.rulebook import Rulebook
from leadflow.errors import RulebookError, ValidationError
from leadflow.rules import compile_rulebook, parse_document
from leadflow.services import loader, queues
from leadflow.services.context import ORG_REVISION, Services, read_meta
from leadflow.services.org import load_org
from leadflow.services.rulebooks import org_refs
from leadflow.sim.behaviour import RepBehaviour, generate
from leadflow.store import convert
from leadflow.store.db import Database
from leadflow.store.models import AccountDomainRow, AccountRow
from leadflow.store.pull_models import QueueRow, RepTierRow


@dataclass(frozen=True)
class World:
    org: Org
    accounts: dict[str, Account]  # by domain
    refs: Any  # OrgRefs for compiling rulebooks
    simulation: dict[str, Any]
    queues: dict[str, Queue] = field(default_factory=dict)
    """The org file's `queues:`, read back as the pull services see them (`to_domain`)."""
    tiers: dict[int, Tier] = field(default_factory=dict)
    """The org file's `tiers:` by rep id; a rep without one is `average`, as live."""

    def compile(self, text: str | bytes, name: str = "rulebook") -> Rulebook:
        """Validate like `leadflow rulebook validate`; offers and any queue name allowed:
        both are simulated (a queue is a pull pool of the behaviour model)."""
        refs = replace(self.refs, queues=None, extra={"offers": True})
        try:
            return compile_rulebook(parse_document(text), refs)
        except RulebookError as exc:
            raise RulebookError(f"{name}: {exc.message}") from None


def load_world(org_text: str) -> World:
    doc = loader.parse(org_text)
    with tempfile.TemporaryDirectory(prefix="leadflow-sim-") as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'org.db'}")
        try:
            db.upgrade()
            svc = Services(db)
            loader.load(svc, doc.model_copy(update={"rulebook": None}))
            with db.read() as s:
                org = load_org(svc, s, read_meta(s).get(ORG_REVISION, 0), datetime.now(UTC))
                refs = org_refs(s)
                rows = s.execute(
                    select(AccountDomainRow.domain, AccountRow).join(
                        AccountRow, AccountRow.id == AccountDomainRow.account_id
                    )
                ).all()
                accounts = {d: convert.account(a) for d, a in rows}
                pull = {row.name: queues.to_domain(row) for row in s.scalars(select(QueueRow))}
                tiers = {t.rep_id: Tier(t.tier) for t in s.scalars(select(RepTierRow))}
        finally:
            db.dispose()
    return World(org, accounts, refs, doc.simulation or {}, pull, tiers)


def behaviours(world: World, seed: int, calibrated: dict[str, float]) -> dict[int, RepBehaviour]:
    """Per rep: generated defaults < calibrated response medians < the org file's values."""
    sim = world.simulation
    rng = random.Random(seed)
    ids = sorted(world.org.reps)
    generated = generate(rng, ids)
    try:
        defaults = sim.get("defaults") or {}
        per_rep = {k.lower(): v for k, v in (sim.get("reps") or {}).items()}
        out = {}
        for rid in ids:
            rep = world.org.reps[rid]
            b = RepBehaviour.from_mapping(defaults, generated[rid])
            if rep.email in calibrated:
                b = replace(b, response_median_min=calibrated[rep.email])
            out[rid] = RepBehaviour.from_mapping(per_rep.get(rep.email, {}), b)
    except ValueError as exc:
        raise ValidationError(f"simulation: {exc}", field="simulation") from None
    unknown = set(per_rep) - {r.email for r in world.org.reps.values()}
    if unknown:
        raise ValidationError(
            f"simulation.reps: {sorted(unknown)[0]} is not a rep of the org", field="simulation"
        )
    return out


def with_absences(world: World, start: float, days: float, seed: int) -> Org:
    """The org routing sees in the simulation: reps carry their out-of-office periods."""
    sim = world.simulation
    given = {k.lower(): v for k, v in (sim.get("out_of_office") or {}).items()}
    p = float(sim.get("vacation_probability", 0.15))
    rng = random.Random(seed)
    reps: dict[int, Rep] = {}
    for rid in sorted(world.org.reps):
        rep = world.org.reps[rid]
        if rep.email in given:
            absences = tuple(_absence(a) for a in given[rep.email])
        else:
            absences = tuple(_vacations(rng, start, days, p))
        reps[rid] = replace(rep, absences=rep.absences + absences) if absences else rep
    return replace(world.org, reps=reps)


def _absence(raw: dict[str, Any]) -> Absence:
    try:
        start, end = (_when(raw[k]) for k in ("start", "end"))
    except (KeyError, TypeError, ValueError):
        raise ValidationError(
            "simulation.out_of_office: each period needs ISO `start` and `end`",
            field="simulation.out_of_office",
        ) from None
    return Absence(start, end)


def _when(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _vacations(rng: random.Random, start: float, days: float, p: float) -> list[Absence]:
    out = []
    for month in range(int(days // 30) + 1):
        if rng.random() < p:
            begin = datetime.fromtimestamp(start, UTC) + timedelta(
                days=month * 30 + rng.uniform(0, 25)
            )
            begin = begin.replace(hour=0, minute=0, second=0, microsecond=0)
            out.append(Absence(begin, begin + timedelta(days=rng.choice([3, 5, 7]))))
    return out
