"""The activity log (SPEC section 7): contracts saved, customers edited, keys created or
revoked, settings changed… every change that is not an outcome's own history.

Entries are append-only and hash-chained on a chain of their own: each entry's hash covers the
previous entry's hash and the entry's canonical form, and ``activity_head`` holds the tail.
Callers hold a write transaction (:meth:`Database.write`), which makes them the only writer
until commit, so reading the head and writing it back cannot race another append.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from earnest.store.base import Tx
from earnest.store.codec import dumps, from_us, loads, to_us

MAX_ACTOR = 255  # an API key id, a dashboard user's email, "cli", a portal link, "system"
MAX_ACTION = 64  # "contract.saved", "settings.updated", …
MAX_SUBJECT = 255  # a contract key, a customer id, a key id: the same bound as an id
MAX_VALUE_BYTES = 256 * 1024  # each of before and after; a contract document is at most 64 KiB
MAX_LIMIT = 1_001  # entries per read: a page of at most 1,000, and one to tell if more follow

_COLUMNS = "seq, at, actor, action, subject, before, after, hash"


@dataclass(frozen=True, slots=True)
class ActivityEntry:
    seq: int
    at: datetime
    actor: str
    action: str
    subject: str
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None
    hash: str


def activity_hash(
    previous: str,
    seq: int,
    at_us: int,
    *,
    actor: str,
    action: str,
    subject: str,
    before_text: str | None,
    after_text: str | None,
) -> str:
    """The activity chain: each entry's hash covers the previous hash and its canonical form.

    The canonical form is the JSON array of the entry's columns as stored: strings are quoted
    and escaped, so no separator can be forged inside a field, and a missing ``before`` (JSON
    ``null``) hashes differently from the text ``"null"``."""
    canonical = dumps([seq, at_us, actor, action, subject, before_text, after_text])
    return hashlib.sha256(f"{previous}\n{canonical}".encode()).hexdigest()


def append_activity(
    tx: Tx,
    *,
    at: datetime,
    actor: str,
    action: str,
    subject: str,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
) -> ActivityEntry:
    """Append one entry to the activity log, extending its hash chain, in the caller's write
    transaction. ``before`` and ``after`` are JSON objects (``None``: nothing there, as before
    a creation). The entry returned is the one stored, its values read back from their JSON."""
    _check_text("actor", actor, MAX_ACTOR)
    _check_text("action", action, MAX_ACTION)
    _check_text("subject", subject, MAX_SUBJECT)
    before_text, after_text = _value_text("before", before), _value_text("after", after)
    head = tx.one("SELECT seq, hash FROM activity_head WHERE id = 1")
    assert head is not None, "the activity head row is created by migration 0003"
    seq, at_us = int(head[0]) + 1, to_us(at)
    digest = activity_hash(
        str(head[1]),
        seq,
        at_us,
        actor=actor,
        action=action,
        subject=subject,
        before_text=before_text,
        after_text=after_text,
    )
    tx.execute(
        f"INSERT INTO activity ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (seq, at_us, actor, action, subject, before_text, after_text, digest),
    )
    tx.execute("UPDATE activity_head SET seq = ?, hash = ? WHERE id = 1", (seq, digest))
    return _from_row((seq, at_us, actor, action, subject, before_text, after_text, digest))


def list_activity(
    tx: Tx,
    *,
    limit: int,
    before_seq: int | None = None,
    action_prefix: str | None = None,
    subject: str | None = None,
) -> list[ActivityEntry]:
    """Up to ``limit`` entries, newest first: those with ``seq`` below ``before_seq`` (the last
    ``seq`` of the previous page), whose action starts with ``action_prefix`` (``"contract."``:
    every contract action) and whose subject is ``subject``. Stable under concurrent appends:
    a new entry always takes a higher ``seq`` than every page already read."""
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit is {limit}; give 1 to {MAX_LIMIT}")
    conditions: list[str] = []
    params: list[Any] = []
    if before_seq is not None:
        conditions.append("seq < ?")
        params.append(before_seq)
    if action_prefix:
        # substr, not LIKE: LIKE ignores ASCII case on SQLite and treats % and _ as wildcards.
        conditions.append("substr(action, 1, ?) = ?")
        params += (len(action_prefix), action_prefix)
    if subject is not None:
        conditions.append("subject = ?")
        params.append(subject)
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    rows = tx.query(
        f"SELECT {_COLUMNS} FROM activity{where} ORDER BY seq DESC LIMIT ?", [*params, limit]
    )
    return [_from_row(row) for row in rows]


def _from_row(row: tuple[Any, ...]) -> ActivityEntry:
    seq, at, actor, action, subject, before, after, digest = row
    return ActivityEntry(
        int(seq),
        from_us(int(at)),
        actor,
        action,
        subject,
        None if before is None else loads(before),
        None if after is None else loads(after),
        digest,
    )


def _check_text(name: str, value: str, limit: int) -> None:
    if not value:
        raise ValueError(f"an activity entry's {name} must not be empty")
    if len(value) > limit:
        raise ValueError(f"{name} is {len(value)} characters long; at most {limit} are allowed")


def _value_text(name: str, value: Mapping[str, Any] | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ValueError(f"{name} must be a JSON object or None, not {type(value).__name__}")
    text = dumps(dict(value))
    if len(text.encode()) > MAX_VALUE_BYTES:
        raise ValueError(f"{name} is {len(text.encode())} bytes as JSON; at most {MAX_VALUE_BYTES}")
    return text
