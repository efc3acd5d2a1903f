"""Contracts in the store: versions (immutable, content-addressed by fingerprint) and archive."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from earnest.contract import Contract, contract_fingerprint, contract_to_dict, load_contract
from earnest.store.codec import dumps, from_us, loads, to_us
from earnest.store.db import Tx


@dataclass(frozen=True, slots=True)
class StoredContract:
    contract: Contract
    version: int
    fingerprint: str
    archived: bool
    created_at: datetime


class UnknownContract(LookupError):
    def __init__(self, key: str, version: int | None = None) -> None:
        self.key = key
        self.version = version
        what = f"no contract with key {key!r}"
        super().__init__(what if version is None else f"{what} at version {version}")


def save_contract(tx: Tx, contract: Contract, now: datetime) -> tuple[StoredContract, bool]:
    """Store ``contract`` as version n+1 unless it equals the latest; ``(stored, created)``."""
    fingerprint = contract_fingerprint(contract)
    head = tx.one("SELECT latest_version, archived FROM contracts WHERE key = ?", (contract.key,))
    if head is not None:
        latest = latest_contract(tx, contract.key)
        if latest.fingerprint == fingerprint:
            return latest, False
        version = int(head[0]) + 1
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
    archived = bool(head[1]) if head is not None else False
    return StoredContract(contract, version, fingerprint, archived, now), True


def latest_contract(tx: Tx, key: str) -> StoredContract:
    row = tx.one(
        "SELECT c.latest_version, c.archived, v.fingerprint, v.created_at, v.document"
        " FROM contracts c JOIN contract_versions v"
        " ON v.key = c.key AND v.version = c.latest_version WHERE c.key = ?",
        (key,),
    )
    if row is None:
        raise UnknownContract(key)
    version, archived, fingerprint, created_at, document = row
    contract = _compiled(tx, key, int(version), document)
    return StoredContract(contract, int(version), fingerprint, bool(archived), from_us(created_at))


def contract_version(tx: Tx, key: str, version: int) -> StoredContract:
    row = tx.one(
        "SELECT v.fingerprint, v.created_at, v.document, c.archived FROM contract_versions v"
        " JOIN contracts c ON c.key = v.key WHERE v.key = ? AND v.version = ?",
        (key, version),
    )
    if row is None:
        raise UnknownContract(key, version)
    fingerprint, created_at, document, archived = row
    contract = _compiled(tx, key, version, document)
    return StoredContract(contract, version, fingerprint, bool(archived), from_us(created_at))


def pinned(tx: Tx, key: str, version: int) -> Contract:
    """The contract an outcome is pinned to, compiled once per process."""
    cached = tx.cache.get(("contract", key, version))
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    return contract_version(tx, key, version).contract


def list_contracts(tx: Tx) -> list[StoredContract]:
    keys = [row[0] for row in tx.query("SELECT key FROM contracts ORDER BY created_at DESC, key")]
    return [latest_contract(tx, key) for key in keys]


def archive_contract(tx: Tx, key: str) -> StoredContract:
    latest_contract(tx, key)  # raises UnknownContract
    tx.execute("UPDATE contracts SET archived = ? WHERE key = ?", (True, key))
    return latest_contract(tx, key)


def _compiled(tx: Tx, key: str, version: int, document: str) -> Contract:
    """Versions are immutable once stored, so each is parsed and compiled once per process."""
    cached: Contract | None = tx.cache.get(("contract", key, version))
    if cached is None:
        cached = load_contract(loads(document))
        tx.cache[("contract", key, version)] = cached
    return cached
