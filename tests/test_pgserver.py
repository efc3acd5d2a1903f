"""The PostgreSQL test fixtures give a real, durable server and isolated databases."""

from __future__ import annotations

from typing import LiteralString

import psycopg
import pytest

from tests.pgserver import PgServer, database_url


def commit(url: str, *statements: LiteralString) -> None:
    """Run ``statements`` in one transaction on the database at ``url`` and commit it."""
    with psycopg.connect(url) as conn:
        for statement in statements:
            conn.execute(statement)
        conn.commit()


def test_pg_url_is_a_working_database(pg_url: str) -> None:
    commit(
        pg_url,
        "CREATE TABLE item (id integer PRIMARY KEY, name text NOT NULL)",
        "INSERT INTO item VALUES (1, 'één'), (2, 'two')",
    )
    with psycopg.connect(pg_url) as conn:
        rows = conn.execute("SELECT id, name FROM item ORDER BY id").fetchall()
    assert rows == [(1, "één"), (2, "two")]


def test_created_databases_are_isolated(pg_server: PgServer) -> None:
    first = pg_server.create_database("isolation_a")
    second = pg_server.create_database("isolation_b")
    try:
        assert first != second
        commit(first, "CREATE TABLE only_here (x integer)", "INSERT INTO only_here VALUES (42)")
        with psycopg.connect(second) as conn:
            found = conn.execute("SELECT to_regclass('only_here')").fetchone()
            assert found == (None,)
            assert conn.execute("SELECT current_database()").fetchone() == ("isolation_b",)
    finally:
        pg_server.drop_database("isolation_a")
        pg_server.drop_database("isolation_b")


def test_each_test_gets_a_fresh_database(pg_url: str) -> None:
    with psycopg.connect(pg_url) as conn:
        tables = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        ).fetchone()
    assert tables == (0,)


def test_durability_settings_are_left_on(pg_url: str) -> None:
    with psycopg.connect(pg_url) as conn:
        settings = {
            name: conn.execute(f"SHOW {name}").fetchone()
            for name in ("fsync", "synchronous_commit", "full_page_writes", "server_encoding")
        }
    assert settings == {
        "fsync": ("on",),
        "synchronous_commit": ("on",),
        "full_page_writes": ("on",),
        "server_encoding": ("UTF8",),
    }


def test_server_allows_many_connections(pg_server: PgServer) -> None:
    if pg_server.external:
        pytest.skip("an external server keeps its own settings")
    with psycopg.connect(pg_server.url) as conn:
        assert conn.execute("SHOW max_connections").fetchone() == ("200",)
        assert conn.execute("SHOW listen_addresses").fetchone() == ("127.0.0.1",)


def test_stop_removes_the_cluster(pg_server: PgServer) -> None:
    if pg_server.external:
        pytest.skip("EARNEST_TEST_PG_URL is set: nothing is started")
    with PgServer() as server:
        url = server.url
        data = server._tmpdir
        assert data is not None
        assert data.is_dir()
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    assert not data.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=2)


def test_database_url_replaces_only_the_database() -> None:
    assert (
        database_url("postgresql://u:p@h:5433/postgres?sslmode=disable", "t_1")
        == "postgresql://u:p@h:5433/t_1?sslmode=disable"
    )
    with pytest.raises(ValueError, match="postgresql://"):
        database_url("mysql://h/db", "x")
