"""Alembic environment: runs migrations on the engine leadflow hands over (or the URL)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from leadflow.store.models import Base
from leadflow.store.registry import import_all_models

import_all_models()

config = context.config
target_metadata = Base.metadata


def run() -> None:
    engine = config.attributes.get("engine") or create_engine(
        config.get_main_option("sqlalchemy.url")
    )
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    run()
