"""The ``earnest`` group and what its commands share: the ``--database`` option."""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from typing import Any, NoReturn

import click

from earnest import __version__
from earnest.store.db import Database, redact

DATABASE_ENV = "EARNEST_DATABASE_URL"
DEFAULT_DATABASE = "./earnest.db"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="earnest")
def main() -> None:
    """Earnest: outcome-based billing. Contracts in, signals in, exact bills out."""


def with_database(command: Callable[..., None]) -> Callable[..., None]:
    """Add ``--database URL`` (or ``$EARNEST_DATABASE_URL``); pass the command a migrated
    :class:`Database` as ``db``. Messages never show the URL's password."""

    @click.option(
        "--database",
        "database_url",
        envvar=DATABASE_ENV,
        default=DEFAULT_DATABASE,
        show_default=True,
        metavar="URL",
        help=f"A SQLite file path or postgresql://… URL (env {DATABASE_ENV}).",
    )
    @functools.wraps(command)
    def with_db(database_url: str, **kwargs: Any) -> None:
        db = open_database(database_url)
        try:
            command(db=db, **kwargs)
        finally:
            db.close()

    return with_db


def open_database(url: str) -> Database:
    """The database at ``url``, migrated to the latest schema; exit 1 with a clear message."""
    try:
        db = Database(url)
        db.migrate()
    except Exception as error:  # any driver's connection error: say which database, briefly
        reason = _scrub(str(error).strip().splitlines()[0] if str(error).strip() else "", url)
        click.echo(f"earnest: cannot open database {redact(url)}: {reason}", err=True)
        sys.exit(1)
    return db


def _scrub(text: str, url: str) -> str:
    """``text`` without the password of ``url``, should a driver's message repeat it."""
    redacted = redact(url)
    if redacted == url:
        return text.replace(url, redacted)
    password = url.split("://", 1)[1].split("@", 1)[0].partition(":")[2]
    text = text.replace(url, redacted)
    return text.replace(password, "***") if password else text


def fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def log_to_stderr() -> None:
    """INFO logs of Earnest's own processes on stderr; libraries only when they warn."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for noisy in ("alembic", "httpx"):  # a line per migration step, per request
        logging.getLogger(noisy).setLevel(logging.WARNING)
