"""Import every table module so the metadata (and Alembic) sees all tables.

A feature adds its tables in `leadflow/store/<feature>_models.py`; nothing else to edit.
"""

from __future__ import annotations

import importlib
import pkgutil

import leadflow.store


def import_all_models() -> None:
    for info in pkgutil.iter_modules(leadflow.store.__path__):
        if info.name == "models" or info.name.endswith("_models"):
            importlib.import_module(f"leadflow.store.{info.name}")
