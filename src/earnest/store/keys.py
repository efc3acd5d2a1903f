"""API keys (SPEC section 8): one scope each, shown once, stored only as a hash.

A key reads ``ek_<id>_<secret>``: ``<id>`` is a short public prefix (the row's primary key,
safe to list and log), ``<secret>`` 32 random bytes in URL-safe base64. Only the SHA-256 of the
whole key is stored; a check compares hashes in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from earnest.access import Scope
from earnest.store.base import Tx
from earnest.store.codec import opt_time, to_us


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str
    scope: Scope
    name: str | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(tx: Tx, scope: Scope, now: datetime, name: str | None = None) -> tuple[ApiKey, str]:
    """A new key: ``(record, the key itself)``. The key is never stored or shown again."""
    ident = "k" + secrets.token_hex(5)
    key = f"ek_{ident}_{secrets.token_urlsafe(32)}"
    tx.execute(
        "INSERT INTO api_keys (id, hash, scope, name, created_at) VALUES (?, ?, ?, ?, ?)",
        (ident, _hash(key), scope.value, name, to_us(now)),
    )
    return ApiKey(ident, scope, name, now, None, None), key


def _row(row: tuple[object, ...]) -> ApiKey:
    ident, scope, name, created_at, last_used_at, revoked_at = row
    assert isinstance(ident, str)
    assert isinstance(created_at, int)
    return ApiKey(
        ident,
        Scope(str(scope)),
        name if isinstance(name, str) else None,
        opt_time(created_at),  # type: ignore[arg-type]
        opt_time(last_used_at if isinstance(last_used_at, int) else None),
        opt_time(revoked_at if isinstance(revoked_at, int) else None),
    )


_COLUMNS = "id, scope, name, created_at, last_used_at, revoked_at"


def authenticate(tx: Tx, key: str) -> ApiKey | None:
    """The live key matching ``key``, or None (unknown, malformed, wrong secret, revoked)."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != "ek" or len(key) > 200:
        return None
    row = tx.one(f"SELECT {_COLUMNS}, hash FROM api_keys WHERE id = ?", (parts[1],))
    if row is None or not hmac.compare_digest(str(row[-1]), _hash(key)):
        return None
    found = _row(row[:-1])
    return None if found.revoked_at is not None else found


def touch(tx: Tx, ident: str, now: datetime) -> None:
    tx.execute("UPDATE api_keys SET last_used_at = ? WHERE id = ?", (to_us(now), ident))


def list_keys(tx: Tx, *, limit: int, after: tuple[int, str] | None = None) -> list[ApiKey]:
    """Newest first; ``after`` is the (created_at µs, id) of the previous page's last item."""
    return [_row(r) for r in tx.newest_first(f"SELECT {_COLUMNS} FROM api_keys", after, limit)]


def revoke_key(tx: Tx, ident: str, now: datetime) -> tuple[ApiKey, bool] | None:
    """Revoke key ``ident`` at ``now``: ``(key, changed)``, ``changed`` false when it was
    revoked already (it keeps its first revocation time); None when there is no such key."""
    changed = tx.execute(
        "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
        (to_us(now), ident),
    ).rowcount
    row = tx.one(f"SELECT {_COLUMNS} FROM api_keys WHERE id = ?", (ident,))
    return None if row is None else (_row(row), changed == 1)
