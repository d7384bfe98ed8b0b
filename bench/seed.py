"""Create a migrated SQLite database holding the benchmark organisation and rulebook."""

from __future__ import annotations

from pathlib import Path

import yaml

from bench.workload import org_document, rulebook_document
from leadflow.services import loader, rulebooks
from leadflow.services.context import Services
from leadflow.store.db import Database


def seeded_database(path: Path, *, reps: int, rules: int, capacity_scale: int = 1) -> Services:
    """A fresh database at `path` with `reps` reps and a `rules`-rule active rulebook
    (`capacity_scale`: see `org_document`)."""
    db = Database(f"sqlite:///{path}")
    db.upgrade()
    svc = Services(db)
    org = org_document(reps, capacity_scale=capacity_scale)
    loader.load(svc, loader.parse(yaml.safe_dump(org)))
    rulebooks.save(svc, yaml.safe_dump(rulebook_document(rules)), actor="bench")
    return svc
