"""Contracts: save a version, read, list, archive (SPEC section 2). Saves and archives are
recorded in the activity log."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import yaml

from earnest.backtest import BacktestReport
from earnest.clock import Clock
from earnest.contract import Contract, contract_to_dict
from earnest.rules import UnknownContract
from earnest.service.activity import append_activity
from earnest.service.backtest import run_backtest, time_range
from earnest.service.backtest_apart import Slots, backtest_apart
from earnest.service.pages import Page, check_limit, page_of
from earnest.store import Database
from earnest.store.contracts import (
    StoredContract,
    VersionRow,
    archive_contract,
    contract_version,
    latest_contract,
    list_contracts,
    list_versions,
    save_contract,
    saved_by,
)

__all__ = ["Contracts", "SavedVersion", "StoredContract", "contract_yaml"]


@dataclass(frozen=True, slots=True)
class SavedVersion:
    """One version in a contract's list of versions: when and by whom it was saved
    (``actor`` None when the activity log does not say)."""

    version: int
    fingerprint: str
    created_at: datetime
    actor: str | None


class _Dumper(yaml.SafeDumper):
    """Text of several lines as a ``|`` block, as a person would write it."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def contract_yaml(contract: Contract) -> str:
    """``contract`` as a YAML document that loads back to the same content (fingerprint):
    its canonical fields, the price as ``0.99 USD``, fields left at nothing omitted."""
    document = {
        name: value for name, value in contract_to_dict(contract).items() if value is not None
    }
    document["price"] = str(contract.price)
    text: str = yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    return text


def _summary(stored: StoredContract | None) -> dict[str, Any] | None:
    if stored is None:
        return None
    return {
        "version": stored.version,
        "fingerprint": stored.fingerprint,
        "archived": stored.archived,
        "contract": contract_to_dict(stored.contract),
    }


class Contracts:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self._apart = Slots()  # backtests running in child processes

    def save(self, contract: Contract, *, actor: str) -> tuple[StoredContract, bool]:
        """Store ``contract`` as a new version unless it equals the latest:
        ``(stored, created)``."""
        now = self.clock()
        with self.db.write() as tx:
            stored, created = save_contract(tx, contract, now)
            if created:
                before = None
                if stored.version > 1:  # the version it replaces, as it was stored
                    before = contract_version(tx, contract.key, stored.version - 1)
                append_activity(
                    tx,
                    at=now,
                    actor=actor,
                    action="contract.saved",
                    subject=contract.key,
                    before=_summary(before),
                    after=_summary(stored),
                )
        return stored, created

    def latest(self, key: str) -> StoredContract:
        with self.db.read() as tx:
            stored = latest_contract(tx, key)
        if stored is None:
            raise UnknownContract(key, field="key")
        return stored

    def version(self, key: str, version: int) -> StoredContract:
        with self.db.read() as tx:
            stored = contract_version(tx, key, version)
        if stored is None:
            raise UnknownContract(key, version, field="version")
        return stored

    def list(self, *, limit: int, after: tuple[int, str] | None = None) -> Page[StoredContract]:
        """Newest first; ``after`` is a previous page's ``after``."""
        check_limit(limit)
        with self.db.read() as tx:
            found = list_contracts(tx, limit=limit + 1, after=after)
        page = page_of(found, limit, lambda last: last[1])
        return Page([stored for stored, _ in page.items], page.after)

    def versions(self, key: str, *, limit: int, before: int | None = None) -> Page[SavedVersion]:
        """``key``'s versions newest first, with who saved each; ``before`` is a previous
        page's ``after[0]``. An unknown key raises ``UnknownContract``."""
        check_limit(limit)
        with self.db.read() as tx:
            if latest_contract(tx, key) is None:
                raise UnknownContract(key, field="key")
            rows = list_versions(tx, key, limit=limit + 1, before=before)
            actors = saved_by(tx, key, rows[:limit])
        page = page_of(rows, limit, lambda last: (last.version,))
        return Page([_saved(row, actors.get(row.version)) for row in page.items], page.after)

    def archive(self, key: str, *, actor: str) -> StoredContract:
        """Open no new outcomes under ``key``; open ones run to their end."""
        now = self.clock()
        with self.db.write() as tx:
            archived = archive_contract(tx, key)
            if archived is None:
                raise UnknownContract(key, field="key")
            stored, changed = archived
            if changed:
                append_activity(
                    tx,
                    at=now,
                    actor=actor,
                    action="contract.archived",
                    subject=key,
                    before={"archived": False},
                    after={"archived": True},
                )
        return stored

    def backtest(
        self,
        contract: Contract,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> BacktestReport:
        """Replay the outcomes of ``contract.key`` opened in ``[since, until)`` (default:
        the 30 days to now) through ``contract``, from one snapshot, writing nothing
        (:mod:`earnest.service.backtest`)."""
        with self.db.read() as tx:
            return run_backtest(tx, contract, since, until, self.clock, should_stop=should_stop)

    async def backtest_apart(
        self,
        contract: Contract,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> dict[str, Any]:
        """:meth:`backtest` in a child process at a lower CPU priority, for a serving
        process (:mod:`earnest.service.backtest_apart`): its report as JSON. Refuses a
        range with ``since`` after ``until`` at once, and a backtest beyond the few that may
        run at once (503 ``backtests_busy``)."""
        now = self.clock()
        time_range(since, until, now)
        self._apart.take()
        try:
            return await backtest_apart(self.db.url, contract, since, until, now)
        finally:
            self._apart.give()


def _saved(row: VersionRow, actor: str | None) -> SavedVersion:
    return SavedVersion(row.version, row.fingerprint, row.created_at, actor)
