"""Check explanations read back from history: memoised by each store's compiled condition
(bounded: tests/contract/test_condition_verdicts.py), never stale."""

from __future__ import annotations

from pathlib import Path

from earnest.contract import load_contract
from earnest.service.history import read_history as outcome_history
from earnest.service.ingest import ingest
from earnest.store import Database, connect
from earnest.store.contracts import save_contract
from tests.contracts import LANDING, T0
from tests.service.conftest import sig

REFS = ("o1", "o2", "o3", "o4")


def explanations(db: Database) -> list[str]:
    return [
        entry.data["explanation"]
        for ref in REFS
        for entry in outcome_history(db, "landing", ref)
        if entry.kind == "check"
    ]


def test_memoised_explanations_are_the_ones_derived_afresh(filled: Database) -> None:
    first = explanations(filled)
    assert explanations(filled) == first  # from the memo
    fresh = connect(filled.url)  # same store, empty memo
    try:
        assert explanations(fresh) == first
    finally:
        fresh.close()


def store(path: Path, conditions: str) -> Database:
    """A store whose ``landing`` v1 has ``conditions``, and one outcome with one check."""
    db = connect(str(path))
    db.migrate()
    document = LANDING.replace("completed AND score > 3 AND NOT disputed", conditions)
    with db.write() as tx:
        save_contract(tx, load_contract(document, key="landing"), T0)
    [result] = ingest(db, [sig("landing", "o1", "completed", True, customer="acme")], T0)
    assert result.status == "accepted"
    return db


def test_the_memo_belongs_to_one_database(tmp_path: Path) -> None:
    """The same check JSON under the same contract key and version explains itself by each
    store's own contract."""
    three = store(tmp_path / "three.db", "completed AND score > 3")
    two = store(tmp_path / "two.db", "completed AND score > 2")
    try:
        [check3] = [e for e in outcome_history(three, "landing", "o1") if e.kind == "check"]
        [check2] = [e for e in outcome_history(two, "landing", "o1") if e.kind == "check"]
        assert check3.data["values"] == check2.data["values"]
        assert "score > 3" in check3.data["explanation"]
        assert "score > 2" in check2.data["explanation"]
    finally:
        three.close()
        two.close()
