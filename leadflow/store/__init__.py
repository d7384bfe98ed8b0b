"""Persistence: SQLAlchemy 2 models, Alembic migrations, and the database handle."""

from leadflow.store.db import Database

__all__ = ["Database"]
