"""Dashboard users, their sessions and the sign-in throttle (SPEC 11), as rows.

A session is found by the SHA-256 of its token: the token itself lives only in the browser's
cookie, so a copy of the database opens no session. Passwords arrive here already hashed
(argon2, by the service); this module never sees one in clear.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from earnest.store.base import Tx
from earnest.store.codec import from_us, opt_time, to_us

ROLES = ("admin", "viewer")


@dataclass(frozen=True, slots=True)
class User:
    id: str
    email: str
    role: str  # admin | viewer
    disabled: bool
    created_at: datetime
    password_changed_at: datetime


@dataclass(frozen=True, slots=True)
class SessionRow:
    id: str  # the SHA-256 of the token, hex
    user_id: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    csrf: str


@dataclass(frozen=True, slots=True)
class Throttle:
    key: str
    failures: int
    last_failure_at: datetime
    blocked_until: datetime | None


def session_id(token: str) -> str:
    """The stored id of the session whose cookie holds ``token``."""
    return hashlib.sha256(token.encode()).hexdigest()


_USER = "id, email, role, disabled, created_at, password_changed_at"


def _user(row: tuple[Any, ...]) -> User:
    ident, email, role, disabled, created, changed = row
    assert role in ROLES, f"a user's role is admin or viewer, not {role!r}"
    return User(
        str(ident), str(email), str(role), bool(disabled), from_us(created), from_us(changed)
    )


def insert_user(
    tx: Tx, ident: str, *, email: str, email_key: str, role: str, password_hash: str, now: datetime
) -> User:
    tx.execute(
        "INSERT INTO users (id, email, email_key, role, password_hash, disabled, created_at,"
        " password_changed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (ident, email, email_key, role, password_hash, False, to_us(now), to_us(now)),
    )
    return User(ident, email, role, False, now, now)


def user_by_email(tx: Tx, email_key: str, *, lock: bool = False) -> tuple[User, str] | None:
    """The user whose case-folded email is ``email_key``, with its password hash."""
    row = tx.one(
        f"SELECT {_USER}, password_hash FROM users WHERE email_key = ?"
        + (tx.FOR_UPDATE if lock else ""),
        (email_key,),
    )
    return None if row is None else (_user(row[:-1]), str(row[-1]))


def list_users(tx: Tx, *, limit: int, after: tuple[int, str] | None = None) -> list[User]:
    """Newest first; ``after`` is the (created_at µs, id) of the previous page's last user."""
    return [_user(r) for r in tx.newest_first(f"SELECT {_USER} FROM users", after, limit)]


def set_disabled(tx: Tx, ident: str, disabled: bool) -> None:
    tx.execute("UPDATE users SET disabled = ? WHERE id = ?", (disabled, ident))


def set_password(tx: Tx, ident: str, password_hash: str, now: datetime) -> None:
    tx.execute(
        "UPDATE users SET password_hash = ?, password_changed_at = ? WHERE id = ?",
        (password_hash, to_us(now), ident),
    )


# Sessions ------------------------------------------------------------------------------


_SESSION = "s.id, s.user_id, s.created_at, s.last_seen_at, s.expires_at, s.csrf"


def insert_session(
    tx: Tx, token: str, *, user_id: str, now: datetime, expires_at: datetime, csrf: str
) -> SessionRow:
    ident = session_id(token)
    tx.execute(
        "INSERT INTO sessions (id, user_id, created_at, last_seen_at, expires_at, csrf)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (ident, user_id, to_us(now), to_us(now), to_us(expires_at), csrf),
    )
    return SessionRow(ident, user_id, now, now, expires_at, csrf)


def session_of(tx: Tx, token: str) -> tuple[SessionRow, User] | None:
    """The session whose cookie holds ``token``, with its user; None when there is none (it
    may have expired: the caller compares ``expires_at`` with its own clock)."""
    user = ", ".join(f"u.{column}" for column in _USER.split(", "))
    row = tx.one(
        f"SELECT {_SESSION}, {user} FROM sessions s JOIN users u ON u.id = s.user_id"
        " WHERE s.id = ?",
        (session_id(token),),
    )
    if row is None:
        return None
    ident, user_id, created, seen, expires, csrf = row[:6]
    found = SessionRow(
        str(ident), str(user_id), from_us(created), from_us(seen), from_us(expires), str(csrf)
    )
    return found, _user(row[6:])


def touch_session(tx: Tx, ident: str, now: datetime, expires_at: datetime) -> None:
    tx.execute(
        "UPDATE sessions SET last_seen_at = ?, expires_at = ? WHERE id = ?",
        (to_us(now), to_us(expires_at), ident),
    )


def delete_session(tx: Tx, ident: str) -> bool:
    return bool(tx.execute("DELETE FROM sessions WHERE id = ?", (ident,)).rowcount)


def delete_sessions_of(tx: Tx, user_id: str) -> int:
    return int(tx.execute("DELETE FROM sessions WHERE user_id = ?", (user_id,)).rowcount)


def prune_sessions(tx: Tx, now: datetime, limit: int) -> None:
    """Delete up to ``limit`` sessions that expired before ``now``."""
    tx.execute(
        "DELETE FROM sessions WHERE id IN"
        " (SELECT id FROM sessions WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)",
        (to_us(now), limit),
    )


# The sign-in throttle -------------------------------------------------------------------


def throttles(tx: Tx, keys: Iterable[str]) -> dict[str, Throttle]:
    rows = tx.query_in(
        "SELECT key, failures, last_failure_at, blocked_until FROM signin_throttle"
        " WHERE key IN {values}",
        keys,
    )
    return {
        str(key): Throttle(str(key), int(failures), from_us(last), opt_time(blocked))
        for key, failures, last, blocked in rows
    }


def put_throttle(tx: Tx, found: Throttle) -> None:
    tx.execute(
        "INSERT INTO signin_throttle (key, failures, last_failure_at, blocked_until)"
        " VALUES (?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET failures = excluded.failures,"
        " last_failure_at = excluded.last_failure_at, blocked_until = excluded.blocked_until",
        (
            found.key,
            found.failures,
            to_us(found.last_failure_at),
            None if found.blocked_until is None else to_us(found.blocked_until),
        ),
    )


def clear_throttle(tx: Tx, key: str) -> None:
    tx.execute("DELETE FROM signin_throttle WHERE key = ?", (key,))


def prune_throttles(tx: Tx, failed_before: datetime, now: datetime, limit: int) -> None:
    """Delete up to ``limit`` counters whose last failure was before ``failed_before`` and
    that block nothing at ``now``: forgotten, they start again from zero."""
    tx.execute(
        "DELETE FROM signin_throttle WHERE key IN (SELECT key FROM signin_throttle"
        " WHERE last_failure_at < ? AND (blocked_until IS NULL OR blocked_until <= ?)"
        " ORDER BY last_failure_at LIMIT ?)",
        (to_us(failed_before), to_us(now), limit),
    )
