"""Fixtures of the crash tests.

``pg_icu_url``: a fresh database whose default collation is a language's (ICU ``en-US``:
``acme < é-corp < ß < walk-in < Walk-in < zeta < Zeta``), not the byte order of the test
cluster's ``C`` locale, so that an ``ORDER BY`` on customer ids without ``Tx.BYTES`` would
number invoices out of SPEC 6's order (UTF-8 bytes: ``Walk-in < Zeta < acme < ... < ß``).
A server without ICU (``EARNEST_TEST_PG_URL``) gets a database of its default collation.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.pgserver import PgServer, database_url


@pytest.fixture
def pg_icu_url(pg_server: PgServer) -> Iterator[str]:
    import psycopg  # only the tests that use PostgreSQL need the driver
    from psycopg import sql

    name = f"t_{uuid.uuid4().hex}"
    create = sql.SQL(
        "CREATE DATABASE {} TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C'"
    ).format(sql.Identifier(name))
    with psycopg.connect(pg_server.url, autocommit=True) as conn:
        try:
            conn.execute(create)
            url = database_url(pg_server.url, name)
        except psycopg.Error:
            if not pg_server.external:
                raise
            url = pg_server.create_database(name)
    yield url
    if pg_server.external:
        pg_server.drop_database(name)
