"""Schema upgrades through Alembic (``store/migrations/``), for both databases."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text


def upgrade(engine_url: str, *, lock: str | None) -> None:
    """Upgrade the database at ``engine_url`` to the latest revision, in one transaction
    that first runs ``lock`` (PostgreSQL: an advisory lock, so two processes never race)."""
    engine = create_engine(engine_url)
    config = Config()
    config.set_main_option("script_location", "earnest.store:migrations")
    try:
        with engine.begin() as connection:
            if lock is not None:
                connection.execute(text(lock))
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    finally:
        engine.dispose()
