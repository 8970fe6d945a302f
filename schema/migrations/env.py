"""Alembic environment: migrations run against the URL given by schema.migrate."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context

from schema.engine import engine_scope
from schema.models import Base
from schema.types import UtcDateTime

config = context.config


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Autogenerate writes UtcDateTime as the plain column type it stands for: it only changes what
    Python reads back, and migrations should not import model code that may change later."""
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=Base.metadata,
        literal_binds=True,
        render_as_batch=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None
    with engine_scope(url) as engine, engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch mode rebuilds a SQLite table to alter it (copy, drop the old, rename): with
            # foreign keys on, dropping the old table would cascade and delete every row that
            # references it (a downgrade lost all subscriptions). Off for the migration, as SQLite's
            # own ALTER TABLE procedure says; checked again below. Outside a transaction, or ignored.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()  # ends SQLAlchemy's autobegun transaction: Alembic opens its own
        # Batch mode lets ALTER TABLE migrations run on SQLite too.
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=True,
            compare_type=True,
            render_item=render_item,
        )
        with context.begin_transaction():
            context.run_migrations()
        if sqlite:
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()
            if broken:
                raise RuntimeError(
                    f"the migration left {len(broken)} rows whose references are missing (first: {broken[0]}); "
                    "restore the database from its backup and report the migration."
                )


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
