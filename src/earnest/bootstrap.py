"""Building the application: :func:`build` is the one way an entry point gets an
:class:`~earnest.app.Earnest` for a database URL."""

from __future__ import annotations

from earnest.app import Earnest
from earnest.clock import Clock, utc_now
from earnest.errors import Invalid, NotFound
from earnest.store import connect, redact

__all__ = ["MissingDatabase", "build", "redact", "sqlite_file"]


class MissingDatabase(NotFound):
    code = "missing_database"

    def __init__(self, url: str) -> None:
        super().__init__(
            f"no Earnest database at {redact(url)}: check --database or EARNEST_DATABASE_URL"
            " (commands that only read never create one)",
            field="database",
        )


def build(database_url: str, *, clock: Clock = utc_now, create: bool = True) -> Earnest:
    """The application over the database at ``database_url``, its schema upgraded.

    ``create=False`` is for commands that only read: a database that does not exist is
    refused (:class:`MissingDatabase`) rather than created empty, so a mistyped path never
    passes an audit with "0 entries"."""
    db = connect(database_url)
    if not create and not db.exists():
        raise MissingDatabase(database_url)
    db.migrate()
    return Earnest(db, clock=clock)


def sqlite_file(url: str) -> str:
    """The file of an embedded (SQLite) database ``url``; ``Invalid`` for a server's."""
    file = connect(url).local_file
    if file is None:
        raise Invalid(f"{redact(url)} is not a SQLite file", field="database")
    return file
