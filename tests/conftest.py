"""Shared pytest fixtures for Earnest's tests.

PostgreSQL: ``pg_server`` is one throwaway cluster for the whole session (or the server of
``EARNEST_TEST_PG_URL``); ``pg_url`` is a URL to a fresh, empty database of it for one test.
Without the server binaries these tests are skipped, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from earnest.store import Database, connect
from tests.pgserver import PgNotFoundError, PgServer


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    server = PgServer()
    try:
        server.start()
    except PgNotFoundError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required in CI: {exc}", pytrace=False)
        pytest.skip(f"PostgreSQL not available: {exc}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(pg_server: PgServer) -> Iterator[str]:
    name = f"t_{uuid.uuid4().hex}"
    yield pg_server.create_database(name)
    if pg_server.external:
        pg_server.drop_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated, empty store on each backend: one contract-test suite runs on both."""
    if request.param == "sqlite":
        url = str(tmp_path / "earnest.db")
    else:
        url = request.getfixturevalue("pg_url")
    database = connect(url)
    database.migrate()
    try:
        yield database
    finally:
        database.close()
