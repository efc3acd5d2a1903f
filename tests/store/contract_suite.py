"""The store's contract, written once: every adapter of :class:`earnest.store.Database` must
pass it. Each backend subclasses :class:`StoreContract` (``test_contract_sqlite.py``,
``test_contract_postgresql.py``) and says only how to make its database, as
pyeventsourcing's ``tests/persistence.py`` does for its recorders.

Everything goes through the public door, ``earnest.store.connect(url)`` then ``migrate()``:
transactions (commit, rollback, no nesting, snapshots, autocommit), the ``Tx`` helpers whose
SQL or driver calls differ per backend (bulk inserts and updates, chunked ``IN`` lists, money
columns, row-lock clauses), and the repositories written once against ``Tx``.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import msgspec
import pytest

from earnest.access import Scope
from earnest.contract import Contract, load_contract
from earnest.engine import Open, Outcome, Scheduled, Settle, Signal, State, decide
from earnest.store import Database, Tx
from earnest.store.activity import activity_hash, append_activity, list_activity
from earnest.store.base import IN_CHUNK
from earnest.store.codec import entry_hash, money_value, to_us
from earnest.store.contracts import (
    contract_version,
    latest_contract,
    list_contracts,
    save_contract,
)
from earnest.store.customers import (
    ensure_customers,
    get_customer,
    insert_customer,
    list_customers,
    update_customer,
)
from earnest.store.keys import authenticate, create_key, list_keys, revoke_key
from earnest.store.ledger import LedgerItem, book, entries_of, next_ledger_id
from earnest.store.outcomes import (
    IDENTITY,
    MONEY,
    MUTABLE,
    StoredOutcome,
    append_history,
    columns_of,
    history_rows,
    insert_outcomes,
    list_ids,
    load_by_ids,
    load_by_keys,
    load_one,
    update_outcomes,
)
from tests.contracts import T0

T = TypeVar("T")
CUSTOMER_COLUMNS = ("id", "name", "email", "billing_day", "created_at")
CustomerRow = tuple[Any, ...]


def terms(key: str = "resolved", price: str = "$12.50") -> Contract:
    return load_contract(
        {
            "key": key,
            "active_for": "48h",
            "review_window": "24h",
            "price": price,
            "conditions": "completed AND score > 3",
            "on_timeout": "confirm",
        }
    )


def opened(contract: Contract, ref: str, customer: str = "acme", at: datetime = T0) -> Outcome:
    return decide(None, Open(contract, 1, ref, customer), at).outcome


def customer_rows(count: int, prefix: str = "c") -> list[CustomerRow]:
    """Rows of customers with values COPY must escape: tabs, newlines, backslashes, quotes."""
    return [
        (
            f"{prefix}-{i:04d}",
            None if i % 3 else f"Name {i}, \\ 'q'\t\n",
            None,
            i % 28 + 1,
            10**15 + i,
        )
        for i in range(count)
    ]


def in_thread(work: Callable[[], T], database: Database) -> T:
    """``work()`` on a thread of its own (its own connection), which is closed after."""
    results: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(work())
        except BaseException as exc:
            errors.append(exc)
        finally:
            database.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive(), "the other thread is stuck"
    if errors:
        raise errors[0]
    return results[0]


class StoreContract(ABC):
    """The tests every store adapter passes. Subclasses implement :meth:`make_database`."""

    @abstractmethod
    def make_database(self, request: pytest.FixtureRequest, tmp_path: Path) -> Database:
        """A store for a database that has never been migrated (nothing is created yet)."""

    @pytest.fixture
    def fresh(self, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
        database = self.make_database(request, tmp_path)
        try:
            yield database
        finally:
            database.close()

    @pytest.fixture
    def db(self, fresh: Database) -> Database:
        fresh.migrate()
        return fresh

    # Helpers -----------------------------------------------------------------------------

    @staticmethod
    def customers(db: Database) -> list[CustomerRow]:
        with db.read() as tx:
            return tx.query(f"SELECT {', '.join(CUSTOMER_COLUMNS)} FROM customers ORDER BY id")

    @staticmethod
    def count(tx: Tx, table: str) -> int:
        row = tx.one(f"SELECT COUNT(*) FROM {table}")
        assert row is not None
        return int(row[0])

    @staticmethod
    def stored(db: Database, *contracts: Contract, customers: tuple[str, ...] = ("acme",)) -> None:
        """Save ``contracts`` (version 1 each) and ``customers``: what outcomes refer to."""
        with db.write() as tx:
            for contract in contracts:
                save_contract(tx, contract, T0)
            ensure_customers(tx, dict.fromkeys(customers, T0))

    # The database itself -------------------------------------------------------------------

    def test_exists_only_after_migrate(self, fresh: Database) -> None:
        assert fresh.exists() is False
        fresh.migrate()
        assert fresh.exists() is True
        fresh.migrate()  # safe to repeat
        with fresh.read() as tx:
            assert tx.one("SELECT seq, hash FROM chain_head WHERE id = 1") == (0, "")

    # Transactions --------------------------------------------------------------------------

    def test_write_commits_on_success(self, db: Database) -> None:
        with db.write() as tx:
            tx.insert_rows("customers", CUSTOMER_COLUMNS, customer_rows(1))
        assert self.customers(db) == customer_rows(1)
        assert in_thread(lambda: self.customers(db), db) == customer_rows(1)

    def test_write_rolls_back_on_exception(self, db: Database) -> None:
        def insert_then_fail() -> None:
            with db.write() as tx:
                tx.insert_rows("customers", CUSTOMER_COLUMNS, customer_rows(3))
                assert self.count(tx, "customers") == 3
                raise LookupError("after the insert")

        with pytest.raises(LookupError, match="after the insert"):
            insert_then_fail()
        assert self.customers(db) == []
        with db.write() as tx:  # the writer lock was released
            insert_customer(tx, "after", T0)
        assert [row[0] for row in self.customers(db)] == ["after"]

    def test_a_nested_write_is_refused(self, db: Database) -> None:
        with db.write() as tx:
            insert_customer(tx, "outer", T0)
            with pytest.raises(RuntimeError, match="already open"), db.write():
                pass
            insert_customer(tx, "outer-2", T0)
        assert [row[0] for row in self.customers(db)] == ["outer", "outer-2"]
        with db.write() as tx:  # refused, not stuck: the next write opens
            insert_customer(tx, "next", T0)
        assert len(self.customers(db)) == 3

    def test_a_read_sees_the_snapshot_it_began_with(self, db: Database) -> None:
        with db.write() as tx:
            insert_customer(tx, "before", T0)

        def write_more() -> None:
            with db.write() as tx:
                insert_customer(tx, "during", T0)
                update_customer(tx, "before", {"name": "renamed"})

        with db.read() as tx:
            first = tx.query("SELECT id, name FROM customers ORDER BY id")
            in_thread(write_more, db)
            assert tx.query("SELECT id, name FROM customers ORDER BY id") == first
            assert first == [("before", None)]
            assert get_customer(tx, "during") is None
        with db.read() as tx:
            assert tx.query("SELECT id, name FROM customers ORDER BY id") == [
                ("before", "renamed"),
                ("during", None),
            ]

    def test_autocommit_commits_each_statement(self, db: Database) -> None:
        def insert_then_fail() -> None:
            with db.autocommit() as tx:
                insert_customer(tx, "first", T0)
                # Already there for another connection: no transaction is open around it.
                assert in_thread(lambda: [row[0] for row in self.customers(db)], db) == ["first"]
                raise LookupError("no rollback follows")

        with pytest.raises(LookupError, match="no rollback follows"):
            insert_then_fail()
        assert [row[0] for row in self.customers(db)] == ["first"]
        with db.autocommit() as tx:
            customer = get_customer(tx, "first")
        assert customer is not None
        assert customer.created_at == T0

    # Bulk inserts and updates (PostgreSQL: COPY from 8 rows) -------------------------------

    @pytest.mark.parametrize("count", [1, 50])
    def test_insert_rows(self, db: Database, count: int) -> None:
        rows = customer_rows(count)
        with db.write() as tx:
            tx.insert_rows("customers", CUSTOMER_COLUMNS, rows)
        assert self.customers(db) == rows

    @pytest.mark.parametrize("count", [1, 50])
    def test_update_rows(self, db: Database, count: int) -> None:
        rows = customer_rows(count + 5)
        with db.write() as tx:
            tx.insert_rows("customers", CUSTOMER_COLUMNS, rows)
            tx.update_rows(
                "customers",
                ("name", "billing_day"),
                "id",
                [(f"new\t{i}\\", 28, rows[i][0]) for i in range(count)],
            )
        expected = [
            (row[0], f"new\t{i}\\", row[2], 28, row[4]) if i < count else row
            for i, row in enumerate(rows)
        ]
        assert self.customers(db) == expected

    @pytest.mark.parametrize(("count", "keys"), [(2, 1), (50, 5)])
    def test_update_rows_with_a_repeated_key_keeps_the_last_row(
        self, db: Database, count: int, keys: int
    ) -> None:
        rows = customer_rows(keys + 1)
        updates = [(f"v{i}", i % 28 + 1, rows[i % keys][0]) for i in range(count)]
        with db.write() as tx:
            tx.insert_rows("customers", CUSTOMER_COLUMNS, rows)
            tx.update_rows("customers", ("name", "billing_day"), "id", updates)
        stored = [(name, day) for _, name, _, day, _ in self.customers(db)]
        last = [(f"v{i}", i % 28 + 1) for i in range(count - keys, count)]
        assert stored == [*last, rows[keys][1:4:2]]

    def test_query_in_over_a_thousand_values(self, db: Database) -> None:
        rows = customer_rows(1_000)
        wanted = [row[0] for row in rows[::-1]] + ["missing-1", rows[0][0], "missing-2"]
        assert len(wanted) > 2 * IN_CHUNK
        with db.write() as tx:
            tx.insert_rows("customers", CUSTOMER_COLUMNS, rows)
        with db.read() as tx:
            found = tx.query_in("SELECT id FROM customers WHERE id IN {values}", wanted)
            day_7 = tx.query_in(
                "SELECT id FROM customers WHERE billing_day = ? AND id IN {values}",
                wanted,
                before=[7],
            )
        assert sorted(ident for (ident,) in found) == sorted(row[0] for row in rows)
        assert sorted(ident for (ident,) in day_7) == sorted(row[0] for row in rows if row[3] == 7)

    def test_row_lock_clauses_are_valid_sql(self, db: Database) -> None:
        with db.write() as tx:
            tx.insert_rows("customers", CUSTOMER_COLUMNS, customer_rows(4))
        with db.write() as tx:
            locked = tx.query(
                "SELECT id FROM customers WHERE billing_day > ? ORDER BY id" + tx.FOR_UPDATE, (1,)
            )
            claimed = tx.query(
                "SELECT id FROM customers ORDER BY created_at, id LIMIT ?" + tx.SKIP_LOCKED, (2,)
            )
        assert [ident for (ident,) in locked] == ["c-0001", "c-0002", "c-0003"]
        assert [ident for (ident,) in claimed] == ["c-0000", "c-0001"]

    # Money ---------------------------------------------------------------------------------

    def test_money_round_trips_exactly(self, db: Database) -> None:
        contract = terms()
        self.stored(db, contract)
        outcome = msgspec.structs.replace(
            opened(contract, "r1"), charged=Decimal("12.50"), credited=Decimal("0.10")
        )
        with db.write() as tx:
            assert tx.money(None) is None
            (ident,) = insert_outcomes(tx, [outcome])
            credits = [self.item(tx, ident, i, Decimal("12.50")) for i in range(50)]
            book(tx, credits[:1])
            book(tx, credits[1:])  # PostgreSQL: COPY
        with db.read() as tx:
            raw = tx.one("SELECT charged, credited FROM outcomes WHERE id = ?", (ident,))
            assert raw is not None
            assert [str(money_value(value)) for value in raw] == ["12.50", "0.10"]
            amounts = tx.query("SELECT amount FROM ledger ORDER BY id")
            assert {str(money_value(amount)) for (amount,) in amounts} == {"12.50"}
            assert len(amounts) == 50
            reloaded = load_one(tx, contract.key, "r1")
        assert reloaded is not None
        assert str(reloaded.outcome.charged) == "12.50"
        assert str(reloaded.outcome.credited) == "0.10"

    @staticmethod
    def item(tx: Tx, outcome_id: int, offset: int, amount: Decimal) -> LedgerItem:
        return LedgerItem(
            id=next_ledger_id(tx) + offset,
            kind="credit",
            outcome_id=outcome_id,
            customer="acme",
            amount=amount,
            currency="USD",
            period="2026-11-01",
            booked_at=T0 + timedelta(seconds=offset),
            history_seq=offset + 1,
        )

    # Contracts -----------------------------------------------------------------------------

    def test_save_contract_versions_only_changes(self, db: Database) -> None:
        first, cheaper = terms(), terms(price="$9.99")
        with db.write() as tx:
            assert latest_contract(tx, "resolved") is None
            v1, created = save_contract(tx, first, T0)
            assert (v1.version, created, v1.archived) == (1, True, False)
            same, created = save_contract(tx, terms(), T0 + timedelta(hours=1))
            assert (same.version, created, same.created_at) == (1, False, T0)
            v2, created = save_contract(tx, cheaper, T0 + timedelta(hours=2))
            assert (v2.version, created) == (2, True)
            again, created = save_contract(tx, cheaper, T0 + timedelta(hours=3))
            assert (again.version, created) == (2, False)
        with db.read() as tx:
            latest = latest_contract(tx, "resolved")
            old = contract_version(tx, "resolved", 1)
            new = contract_version(tx, "resolved", 2)
            assert contract_version(tx, "resolved", 3) is None
            assert contract_version(tx, "other", 1) is None
            assert latest_contract(tx, "other") is None
        assert latest is not None
        assert old is not None
        assert (latest.version, latest.contract, latest.fingerprint) == (2, cheaper, v2.fingerprint)
        assert (old.version, old.contract, old.created_at) == (1, first, T0)
        assert old.fingerprint != latest.fingerprint
        assert new is not None
        assert (new.version, new.contract, new.fingerprint) == (2, cheaper, latest.fingerprint)

    def test_list_contracts_pages_newest_first(self, db: Database) -> None:
        # Two saved at the same instant: the key breaks the tie. A contract's place is that of
        # its first version: "a" gets a second version last.
        saved = {"a": 0, "b": 1, "c": 1, "d": 2, "e": 3}
        with db.write() as tx:
            for key, hour in saved.items():
                save_contract(tx, terms(key), T0 + timedelta(hours=hour))
            save_contract(tx, terms("a", price="$1"), T0 + timedelta(hours=9))
        with db.read() as tx:
            listed = list_contracts(tx, limit=100)
            everything = [(s.contract.key, s.version) for s, _ in listed]
            pages: list[list[str]] = []
            after = None
            for _ in saved:  # bounded: a cursor that does not advance must not loop forever
                page = list_contracts(tx, limit=2, after=after)
                if not page:
                    break
                pages.append([s.contract.key for s, _ in page])
                after = page[-1][1]
        assert everything == [("e", 1), ("d", 1), ("b", 1), ("c", 1), ("a", 2)]
        # each position is the contract's first creation: "a" keeps hour 0 at version 2
        assert listed[-1][1] == (to_us(T0), "a")
        assert pages == [["e", "d"], ["b", "c"], ["a"]]

    # Customers -----------------------------------------------------------------------------

    def test_customers(self, db: Database) -> None:
        with db.write() as tx:
            ensure_customers(tx, {"acme": T0, "globex": T0 + timedelta(minutes=1)})
            ensure_customers(tx, {"acme": T0 + timedelta(days=9), "initech": T0})  # acme stays
            insert_customer(tx, "umbrella", T0 + timedelta(minutes=2))
            update_customer(tx, "globex", {"name": "Globex", "email": "ap@globex.example"})
            update_customer(tx, "acme", {"billing_day": 15})
        with db.read() as tx:
            assert get_customer(tx, "missing") is None
            acme, globex = get_customer(tx, "acme"), get_customer(tx, "globex")
            first = list_customers(tx, limit=2, after=None)
            last = first[-1]
            rest = list_customers(tx, limit=10, after=(to_us(last.created_at), last.id))
        assert acme is not None
        assert (acme.created_at, acme.billing_day, acme.name) == (T0, 15, None)
        assert globex is not None
        assert globex.editable() == {
            "name": "Globex",
            "email": "ap@globex.example",
            "address": None,
            "tax_id": None,
            "billing_day": 1,
        }
        assert [c.id for c in first] == ["umbrella", "globex"]
        assert [c.id for c in rest] == ["acme", "initech"]

    # API keys ------------------------------------------------------------------------------

    def test_keys(self, db: Database) -> None:
        with db.write() as tx:
            made = [
                create_key(tx, scope, T0 + timedelta(minutes=i)) for i, scope in enumerate(Scope)
            ]
            named, secret = create_key(tx, Scope.ADMIN, T0 + timedelta(minutes=9), name="ops")
        prefix = "_".join(secret.split("_", 2)[:2])  # ek_<id>; the secret may hold "_"
        with db.read() as tx:
            found = authenticate(tx, secret)
            assert authenticate(tx, prefix + "_" + "x" * 43) is None
            assert authenticate(tx, secret + "x") is None
            assert authenticate(tx, "not-a-key") is None
        assert found is not None
        assert found == named
        assert (found.scope, found.name, found.revoked_at) == (Scope.ADMIN, "ops", None)
        revoked_at = T0 + timedelta(hours=1)
        with db.write() as tx:
            revoked = revoke_key(tx, named.id, revoked_at)
            again = revoke_key(tx, named.id, revoked_at + timedelta(hours=1))
            assert revoke_key(tx, "kmissing", revoked_at) is None
        assert revoked is not None
        assert again is not None
        assert revoked[0].revoked_at == revoked_at
        assert revoked[1] is True
        assert again == (revoked[0], False)  # the first revocation's time stays; no change
        with db.read() as tx:
            assert authenticate(tx, secret) is None
            assert authenticate(tx, made[0][1]) == made[0][0]
            first = list_keys(tx, limit=3)
            rest = list_keys(tx, limit=3, after=(to_us(first[-1].created_at), first[-1].id))
        assert [k.id for k in first + rest] == [named.id, *(key.id for key, _ in made[::-1])]
        assert len(first) == 3

    # Outcomes ------------------------------------------------------------------------------

    def test_columns_of_names_the_identity_and_mutable_columns(self, db: Database) -> None:
        contract = terms()
        self.stored(db, contract)
        outcome = opened(contract, "r1")
        columns = columns_of(outcome)
        assert set(columns) == {*IDENTITY, *MUTABLE}
        assert len(columns) == len(IDENTITY) + len(MUTABLE)
        with db.write() as tx:
            (ident,) = insert_outcomes(tx, [outcome])
        with db.read() as tx:
            row = tx.one(f"SELECT {', '.join(columns)} FROM outcomes WHERE id = ?", (ident,))
        assert row is not None
        stored = dict(zip(columns, row, strict=True))
        stored["contested"] = bool(stored["contested"])
        for name in MONEY:
            stored[name] = money_value(stored[name])
        assert stored == columns

    def test_outcomes_round_trip_exactly(self, db: Database) -> None:
        contract, other = terms(), terms("other")
        self.stored(db, contract, other, customers=("acme", "globex"))
        plain = opened(contract, "r1")
        later = T0 + timedelta(hours=1)
        reviewed = decide(opened(contract, "r2", "globex"), Signal("completed", True, later), later)
        reviewed = decide(reviewed.outcome, Signal("score", Decimal("4.50"), later, id="s1"), later)
        assert reviewed.outcome.state is State.IN_REVIEW
        third = opened(other, "r1")
        with db.write() as tx:
            ids = insert_outcomes(tx, [plain, reviewed.outcome, third])
        assert len(set(ids)) == 3
        with db.read() as tx:
            by_key = load_by_keys(tx, [(contract.key, "r1"), (contract.key, "r2"), ("x", "r1")])
            by_id = load_by_ids(tx, ids)
            one = load_one(tx, other.key, "r1")
            assert load_one(tx, other.key, "r2") is None
        assert by_key == {
            (contract.key, "r1"): StoredOutcome(ids[0], plain),
            (contract.key, "r2"): StoredOutcome(ids[1], reviewed.outcome),
        }
        assert by_id == {
            i: StoredOutcome(i, o)
            for i, o in zip(ids, [plain, reviewed.outcome, third], strict=True)
        }
        assert one == StoredOutcome(ids[2], third)
        assert by_key[(contract.key, "r2")].outcome.observed["score"].value == Decimal("4.50")

    def test_update_outcomes(self, db: Database) -> None:
        contract = terms()
        self.stored(db, contract)
        outcomes = [opened(contract, f"r{i}") for i in range(12)]
        with db.write() as tx:
            ids = insert_outcomes(tx, outcomes)
        later = T0 + timedelta(hours=1)
        settled = [
            decide(o, Settle(Scheduled.CONFIRM, "ok", "ops"), later).outcome for o in outcomes
        ]
        settled[3] = msgspec.structs.replace(settled[3], contested=True, credited=Decimal("2.50"))
        with db.write() as tx:
            update_outcomes(tx, [StoredOutcome(ids[0], settled[0])])  # one row
            update_outcomes(
                tx, [StoredOutcome(i, o) for i, o in zip(ids[1:], settled[1:], strict=True)]
            )
        with db.read() as tx:
            loaded = load_by_ids(tx, ids)
        assert [loaded[i].outcome for i in ids] == settled
        assert loaded[ids[3]].outcome.credited == Decimal("2.50")
        assert {loaded[i].outcome.state for i in ids} == {State.CONFIRMED}

    def test_list_ids_filters_newest_first(self, db: Database) -> None:
        contract, other = terms(), terms("other")
        self.stored(db, contract, other, customers=("acme", "globex"))
        with db.write() as tx:
            ids = insert_outcomes(
                tx,
                [
                    opened(contract, "r0"),
                    opened(contract, "r1", "globex"),
                    opened(other, "r2"),
                    opened(contract, "r3"),
                ],
            )
            contested = load_by_ids(tx, [ids[3]])[ids[3]]
            update_outcomes(
                tx,
                [StoredOutcome(ids[3], msgspec.structs.replace(contested.outcome, contested=True))],
            )
        with db.read() as tx:
            assert list_ids(tx, {}, limit=10, before_id=None) == ids[::-1]
            assert list_ids(tx, {}, limit=2, before_id=None) == [ids[3], ids[2]]
            assert list_ids(tx, {}, limit=10, before_id=ids[2]) == [ids[1], ids[0]]
            assert list_ids(tx, {"contract": contract.key}, limit=10, before_id=None) == [
                ids[3],
                ids[1],
                ids[0],
            ]
            assert list_ids(tx, {"customer": "globex"}, limit=10, before_id=None) == [ids[1]]
            assert list_ids(tx, {"contested": True}, limit=10, before_id=None) == [ids[3]]
            assert list_ids(
                tx,
                {"contract": contract.key, "customer": "acme", "state": "open"},
                limit=10,
                before_id=ids[3],
            ) == [ids[0]]
            assert list_ids(tx, {"state": "confirmed"}, limit=10, before_id=None) == []
            # Every filter together, whichever index the list walks (0008).
            both = {"contract": contract.key, "contested": True, "state": "open"}
            assert list_ids(tx, both, limit=10, before_id=None) == [ids[3]]
            assert list_ids(tx, {**both, "customer": "globex"}, limit=10, before_id=None) == []
            uncontested = {"contested": False, "customer": "acme", "state": "open"}
            assert list_ids(tx, uncontested, limit=10, before_id=None) == [ids[2], ids[0]]

    def test_append_history_extends_the_hash_chain(self, db: Database) -> None:
        contract = terms()
        self.stored(db, contract)
        first = decide(None, Open(contract, 1, "r1", "acme"), T0)
        second = decide(first.outcome, Settle(Scheduled.CONFIRM, "ok", "ops"), T0)
        with db.write() as tx:
            (ident,) = insert_outcomes(tx, [first.outcome])
            assert append_history(tx, []) == []
            seqs = [append_history(tx, [(ident, e) for e in first.effects.entries])]
        with db.write() as tx:
            seqs.append(append_history(tx, [(ident, e) for e in second.effects.entries]))
        assert seqs == [[1], [2, 3]]
        with db.read() as tx:
            rows = history_rows(tx, ident)
            head = tx.one("SELECT seq, hash FROM chain_head WHERE id = 1")
        entries = [*first.effects.entries, *second.effects.entries]
        previous = ""
        for (seq, recorded_at, kind, data, digest), entry in zip(rows, entries, strict=True):
            assert (recorded_at, kind) == (to_us(entry.at), entry.kind)
            assert digest == entry_hash(previous, seq, ident, recorded_at, kind=kind, data=data)
            previous = digest
        assert [row[0] for row in rows] == [1, 2, 3]
        assert head == (3, previous)

    # Ledger --------------------------------------------------------------------------------

    def test_ledger(self, db: Database) -> None:
        contract = terms()
        self.stored(db, contract, customers=("acme", "globex"))
        with db.write() as tx:
            assert next_ledger_id(tx) == 1
            one, two = insert_outcomes(
                tx, [opened(contract, "r1"), opened(contract, "r2", "globex")]
            )
            charge = LedgerItem(
                1, "charge", one, "acme", Decimal("12.50"), "USD", "2026-11-01", T0, 4
            )
            book(tx, [charge])
            assert next_ledger_id(tx) == 2
            credits = [
                LedgerItem(
                    2 + i,
                    "credit",
                    two,
                    "globex",
                    Decimal(f"0.{i:02d}"),
                    "USD",
                    "2026-11-01",
                    T0 + timedelta(seconds=i),
                    5 + i,
                )
                for i in range(10)
            ]
            book(tx, credits)
            assert next_ledger_id(tx) == 12
        with db.read() as tx:
            found = entries_of(tx, [two, one, 999])
            assert entries_of(tx, []) == {}
        assert found == {one: [charge], two: credits}
        assert str(found[one][0].amount) == "12.50"
        assert [str(c.amount) for c in found[two]][:2] == ["0.00", "0.01"]

    # Activity ------------------------------------------------------------------------------

    def test_activity(self, db: Database) -> None:
        log: list[tuple[str, str, dict[str, Any] | None, dict[str, Any] | None]] = [
            ("contract.saved", "resolved", None, {"version": 1, "price": Decimal("12.50")}),
            ("customer.updated", "acme", {"billing_day": 1}, {"billing_day": 15}),
            ("contract.archived", "resolved", {"archived": False}, {"archived": True}),
        ]
        appended = []
        for minute, (action, subject, before, after) in enumerate(log):
            with db.write() as tx:
                appended.append(
                    append_activity(
                        tx,
                        at=T0 + timedelta(minutes=minute),
                        actor="cli",
                        action=action,
                        subject=subject,
                        before=before,
                        after=after,
                    )
                )
        assert [entry.seq for entry in appended] == [1, 2, 3]
        assert appended[0].after == {"version": 1, "price": Decimal("12.50")}
        assert appended[1].hash == activity_hash(
            appended[0].hash,
            2,
            to_us(T0 + timedelta(minutes=1)),
            actor="cli",
            action="customer.updated",
            subject="acme",
            before_text='{"billing_day":1}',
            after_text='{"billing_day":15}',
        )
        with db.read() as tx:
            assert list_activity(tx, limit=10) == appended[::-1]
            assert list_activity(tx, limit=1, before_seq=3) == [appended[1]]
            assert list_activity(tx, limit=10, action_prefix="contract.") == [
                appended[2],
                appended[0],
            ]
            assert list_activity(tx, limit=10, subject="acme") == [appended[1]]
            head = tx.one("SELECT seq, hash FROM activity_head WHERE id = 1")
        assert head == (3, appended[2].hash)
