"""A contract's versions as the dashboard lists them, on SQLite and PostgreSQL: newest first,
page after page by version number, each with who saved it (from the activity log, even when
two versions share their time); an unknown key is refused; the YAML a version is edited as
loads back to the same contract."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from earnest.contract import load_contract
from earnest.rules import UnknownContract
from earnest.service.contracts import Contracts, contract_yaml
from earnest.store import Database
from tests.contracts import LANDING

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def test_versions_newest_first_page_after_page_with_who_saved_them(db: Database) -> None:
    now = [T0]
    contracts = Contracts(db, lambda: now[0])
    for n in range(5):
        if n != 3:  # versions 3 and 4 are saved at the same instant
            now[0] += timedelta(minutes=1)
        written = LANDING.replace("$0.99", f"${n + 1}")
        contracts.save(load_contract(written, key="landing"), actor=f"user{n + 1}@example.com")
    contracts.save(load_contract(LANDING, key="other"), actor="someone@example.com")
    first = contracts.versions("landing", limit=2)
    assert [(v.version, v.actor) for v in first.items] == [
        (5, "user5@example.com"),
        (4, "user4@example.com"),
    ]
    assert first.items[0].created_at == T0 + timedelta(minutes=4)
    assert first.after == (4,)
    second = contracts.versions("landing", limit=2, before=4)
    assert [(v.version, v.actor) for v in second.items] == [
        (3, "user3@example.com"),
        (2, "user2@example.com"),
    ]
    last = contracts.versions("landing", limit=2, before=2)
    assert [v.version for v in last.items] == [1]
    assert last.after is None
    with pytest.raises(UnknownContract):
        contracts.versions("nothing", limit=2)


@pytest.mark.parametrize(
    "extra",
    [
        "",
        "name: 'Landing: \"quoted\" # not a comment'\n",
        "description: |\n  two lines\n  and a third: x\n",
        "after_settlement: credit\n",
    ],
)
def test_the_yaml_of_a_version_loads_back_to_it(extra: str) -> None:
    contract = load_contract(LANDING + extra, key="landing")
    assert load_contract(contract_yaml(contract)) == contract
