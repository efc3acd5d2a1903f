"""Settings: one row per setting, its value as canonical JSON (only the ones ever set)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from earnest.store.base import Tx
from earnest.store.codec import dumps, loads


def read_settings(tx: Tx) -> dict[str, Any]:
    return {name: loads(value) for name, value in tx.query("SELECT name, value FROM settings")}


def write_settings(tx: Tx, values: Mapping[str, Any]) -> None:
    tx.executemany(
        "INSERT INTO settings (name, value) VALUES (?, ?)"
        " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        [(name, dumps(value)) for name, value in values.items()],
    )
