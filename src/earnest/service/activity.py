"""The activity log (SPEC section 7): every change that is not an outcome's own history, with
its actor, time, what and the before and after values, on a hash chain of its own.

Actors: an API key's id, ``cli`` for the command line, ``system`` for Earnest itself (later a
dashboard user or a portal link). Each use case that changes something records its entry in
the same transaction as the change, through :func:`record`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from earnest.service.pages import Page, check_limit
from earnest.store import Database, Tx
from earnest.store.activity import ActivityEntry, append_activity, list_activity

__all__ = ["CLI", "SYSTEM", "Activity", "ActivityEntry", "record"]

CLI = "cli"
SYSTEM = "system"


def record(  # noqa: PLR0917  (the entry's fields, in the order they read)
    tx: Tx,
    at: datetime,
    actor: str,
    action: str,
    subject: str,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
) -> ActivityEntry:
    """Append one entry to the activity log, inside the caller's write transaction."""
    return append_activity(
        tx, at=at, actor=actor, action=action, subject=subject, before=before, after=after
    )


class Activity:
    def __init__(self, db: Database) -> None:
        self.db = db

    def list(self, *, limit: int, before_seq: int | None = None) -> Page[ActivityEntry]:
        """Newest first; ``before_seq`` is a previous page's ``after``."""
        check_limit(limit)
        with self.db.read() as tx:
            found = list_activity(tx, limit=limit + 1, before_seq=before_seq)
        after = (found[limit - 1].seq,) if len(found) > limit else None
        return Page(found[:limit], after)
