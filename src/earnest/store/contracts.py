"""Contracts in the store: versions (immutable, content-addressed by fingerprint) and archive."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from earnest.contract import Contract, contract_fingerprint, contract_to_dict, load_contract
from earnest.store.base import Tx
from earnest.store.codec import dumps, from_us, loads, to_us


@dataclass(frozen=True, slots=True)
class StoredContract:
    contract: Contract
    version: int
    fingerprint: str
    archived: bool
    created_at: datetime


def save_contract(tx: Tx, contract: Contract, now: datetime) -> tuple[StoredContract, bool]:
    """Store ``contract`` as version n+1 unless it equals the latest; ``(stored, created)``."""
    fingerprint = contract_fingerprint(contract)
    latest = latest_contract(tx, contract.key)
    if latest is not None:
        if latest.fingerprint == fingerprint:
            return latest, False
        version = latest.version + 1
        tx.execute("UPDATE contracts SET latest_version = ? WHERE key = ?", (version, contract.key))
    else:
        version = 1
        tx.execute(
            "INSERT INTO contracts (key, latest_version, archived, created_at) VALUES (?, ?, ?, ?)",
            (contract.key, version, False, to_us(now)),
        )
    tx.execute(
        "INSERT INTO contract_versions (key, version, document, fingerprint, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (contract.key, version, dumps(contract_to_dict(contract)), fingerprint, to_us(now)),
    )
    archived = latest.archived if latest is not None else False
    return StoredContract(contract, version, fingerprint, archived, now), True


_LATEST = (
    "SELECT c.key, c.latest_version, c.archived, v.fingerprint, v.created_at AS version_at,"
    " v.document, c.created_at"
    " FROM contracts c JOIN contract_versions v ON v.key = c.key AND v.version = c.latest_version"
)


def latest_contract(tx: Tx, key: str) -> StoredContract | None:
    row = tx.one(f"{_LATEST} WHERE c.key = ?", (key,))
    return None if row is None else _latest(tx, row)


def latest_contracts(tx: Tx, keys: Iterable[str]) -> dict[str, StoredContract]:
    """The latest version of each of ``keys`` that exists."""
    rows = tx.query_in(f"{_LATEST} WHERE c.key IN {{values}}", keys)
    return {str(row[0]): _latest(tx, row) for row in rows}


def _latest(tx: Tx, row: tuple[Any, ...]) -> StoredContract:
    key, version, archived, fingerprint, created_at, document, _ = row
    contract = _compiled(tx, key, int(version), document)
    return StoredContract(contract, int(version), fingerprint, bool(archived), from_us(created_at))


def contract_version(tx: Tx, key: str, version: int) -> StoredContract | None:
    row = tx.one(
        "SELECT v.fingerprint, v.created_at, v.document, c.archived FROM contract_versions v"
        " JOIN contracts c ON c.key = v.key WHERE v.key = ? AND v.version = ?",
        (key, version),
    )
    if row is None:
        return None
    fingerprint, created_at, document, archived = row
    contract = _compiled(tx, key, version, document)
    return StoredContract(contract, version, fingerprint, bool(archived), from_us(created_at))


def version_with(tx: Tx, key: str, fingerprint: str) -> int | None:
    """The latest version of ``key`` whose content has ``fingerprint``, if any."""
    row = tx.one(
        "SELECT MAX(version) FROM contract_versions WHERE key = ? AND fingerprint = ?",
        (key, fingerprint),
    )
    return None if row is None or row[0] is None else int(row[0])


def pinned(tx: Tx, key: str, version: int) -> Contract:
    """The contract an outcome is pinned to, compiled once per process."""
    cached = tx.cache.get(("contract", key, version))
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    stored = contract_version(tx, key, version)
    assert stored is not None, f"outcomes are pinned to stored versions, not {key} v{version}"
    return stored.contract


def list_contracts(
    tx: Tx, *, limit: int, after: tuple[int, str] | None = None
) -> list[tuple[StoredContract, tuple[int, str]]]:
    """Newest first, by the contract's first creation then key, each with that position
    (``after`` is the previous page's last one). A new version keeps the contract's place."""
    select = f"SELECT * FROM ({_LATEST}) AS latest"
    rows = tx.newest_first(select, after, limit, id_column="key")
    return [(_latest(tx, row), (int(row[-1]), str(row[0]))) for row in rows]


def archive_contract(tx: Tx, key: str) -> tuple[StoredContract, bool] | None:
    """Archive ``key``: ``(stored, changed)``, ``changed`` false when it was archived
    already; None when there is no such contract."""
    stored = latest_contract(tx, key)
    if stored is None:
        return None
    if stored.archived:
        return stored, False
    tx.execute("UPDATE contracts SET archived = ? WHERE key = ?", (True, key))
    return replace(stored, archived=True), True


def _compiled(tx: Tx, key: str, version: int, document: str) -> Contract:
    """Versions are immutable once stored, so each is parsed and compiled once per process."""
    cached: Contract | None = tx.cache.get(("contract", key, version))
    if cached is None:
        cached = load_contract(loads(document))
        tx.cache[("contract", key, version)] = cached
    return cached


@dataclass(frozen=True, slots=True)
class VersionRow:
    """One stored version as a contract's list of versions shows it: no document read."""

    version: int
    fingerprint: str
    created_at: datetime


def list_versions(tx: Tx, key: str, *, limit: int, before: int | None) -> list[VersionRow]:
    """``key``'s versions, newest first, those below version ``before`` when given (one
    range of the primary key)."""
    params: list[Any] = [key]
    where = "key = ?"
    if before is not None:
        where += " AND version < ?"
        params.append(before)
    rows = tx.query(
        f"SELECT version, fingerprint, created_at FROM contract_versions WHERE {where}"
        " ORDER BY version DESC LIMIT ?",
        [*params, limit],
    )
    return [VersionRow(int(v), str(f), from_us(at)) for v, f, at in rows]


def saved_by(tx: Tx, key: str, versions: Iterable[VersionRow]) -> dict[int, str]:
    """Who saved each of ``versions`` of ``key``, from the activity log's ``contract.saved``
    entries (a version saved and its entry share their time); a version without one (stored
    before the activity log existed) is left out."""
    wanted = {row.version: to_us(row.created_at) for row in versions}
    if not wanted:
        return {}
    rows = tx.query_in(
        "SELECT at, actor, after FROM activity WHERE action = 'contract.saved' AND subject = ?"
        " AND at IN {values}",
        wanted.values(),
        before=[key],
    )
    found: dict[int, str] = {}
    for at, actor, after in rows:
        version = (loads(after) or {}).get("version") if after else None
        if isinstance(version, int) and wanted.get(version) == int(at):
            found[version] = str(actor)
    return found
