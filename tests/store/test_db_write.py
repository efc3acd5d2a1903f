"""Write transactions. ``Tx.insert_rows`` and ``Tx.update_rows`` send many rows through ``COPY``
on PostgreSQL: the rows stored must be those one statement per row would store, on both
backends. A write is never nested."""

from __future__ import annotations

import pytest

from earnest.store import Database

COLUMNS = ("id", "name", "email", "billing_day", "created_at")
UPDATED = ("name", "billing_day")


def _customers(db: Database) -> list[tuple[object, ...]]:
    with db.read() as tx:
        return tx.query(
            "SELECT id, name, email, billing_day, created_at FROM customers ORDER BY id"
        )


def _insert(db: Database, count: int) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = [
        (f"c-{i:03d}", None if i % 3 else f"Name {i}, \\ 'q'\t\n", None, i % 28 + 1, 10**15 + i)
        for i in range(count)
    ]
    with db.write() as tx:
        tx.insert_rows("customers", COLUMNS, rows)
    return rows


def test_plain_insert_of_many_rows_stores_every_value(db: Database) -> None:
    rows = _insert(db, 40)
    assert _customers(db) == rows


def test_update_by_key_of_many_rows(db: Database) -> None:
    rows = _insert(db, 40)
    with db.write() as tx:
        tx.update_rows(
            "customers", UPDATED, "id", [(f"new {i}", 2, f"c-{i:03d}") for i in range(0, 40, 2)]
        )
    expected = [
        (ident, f"new {i}", email, 2, created) if i % 2 == 0 else (ident, name, email, day, created)
        for i, (ident, name, email, day, created) in enumerate(rows)
    ]
    assert _customers(db) == expected


def test_update_naming_a_key_twice_keeps_the_last_row(db: Database) -> None:
    _insert(db, 10)
    with db.write() as tx:
        tx.update_rows("customers", UPDATED, "id", [(f"v{i}", 1 + i, "c-001") for i in range(10)])
    assert _customers(db)[1][1:4:2] == ("v9", 10)


def test_two_bulk_updates_in_one_transaction_do_not_mix(db: Database) -> None:
    _insert(db, 20)
    with db.write() as tx:
        tx.update_rows("customers", UPDATED, "id", [("first", 3, f"c-{i:03d}") for i in range(10)])
        tx.update_rows(
            "customers", UPDATED, "id", [("second", 4, f"c-{i:03d}") for i in range(10, 20)]
        )
    names = [(row[1], row[3]) for row in _customers(db)]
    assert names == [("first", 3)] * 10 + [("second", 4)] * 10


def _update_then_fail(db: Database) -> None:
    with db.write() as tx:
        tx.update_rows("customers", UPDATED, "id", [("lost", 5, f"c-{i:03d}") for i in range(10)])
        raise RuntimeError("roll back")


def test_bulk_update_after_a_rolled_back_one(db: Database) -> None:
    _insert(db, 10)
    with pytest.raises(RuntimeError):
        _update_then_fail(db)
    with db.write() as tx:
        tx.update_rows("customers", UPDATED, "id", [("kept", 6, f"c-{i:03d}") for i in range(10)])
    with db.write() as tx:  # the next transaction finds its staging table empty
        tx.update_rows("customers", UPDATED, "id", [("again", 7, f"c-{i:03d}") for i in range(8)])
    names = [(row[1], row[3]) for row in _customers(db)]
    assert names == [("again", 7)] * 8 + [("kept", 6)] * 2


def test_bulk_insert_violating_a_key_fails_like_one_row_at_a_time(db: Database) -> None:
    rows = _insert(db, 10)
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"), db.write() as tx:
        tx.insert_rows("customers", COLUMNS, rows)
    assert _customers(db) == rows


def _write_twice(db: Database) -> None:
    with db.write() as outer:
        outer.insert_rows("customers", COLUMNS, [("outer", None, None, 1, 1)])
        with db.write() as inner:
            inner.insert_rows("customers", COLUMNS, [("inner", None, None, 1, 1)])


def test_a_nested_write_is_refused_and_the_outer_one_rolls_back(db: Database) -> None:
    """On PostgreSQL an inner BEGIN is only a warning and its COMMIT would commit the outer
    transaction's work; a nested write must fail on both backends and store nothing."""
    with pytest.raises(RuntimeError, match="already open"):
        _write_twice(db)
    assert _customers(db) == []
    with db.write() as tx:  # the thread can write again
        tx.insert_rows("customers", COLUMNS, [("after", None, None, 1, 1)])
    assert [row[0] for row in _customers(db)] == ["after"]
