"""The activity log (SPEC section 7): every change that is not an outcome's own history, with
its actor, time, what and the before and after values, on a hash chain of its own.

Actors: an API key's id, ``cli`` for the command line, ``system`` for Earnest itself (later a
dashboard user or a portal link). Each use case that changes something records its entry in
the same transaction as the change, through :func:`append_activity`.
"""

from __future__ import annotations

from earnest.service.pages import Page, check_limit, page_of
from earnest.store import Database
from earnest.store.activity import ActivityEntry, append_activity, list_activity

__all__ = ["CLI", "SYSTEM", "Activity", "ActivityEntry", "append_activity"]

CLI = "cli"
SYSTEM = "system"


class Activity:
    def __init__(self, db: Database) -> None:
        self.db = db

    def list(self, *, limit: int, after: tuple[int] | None = None) -> Page[ActivityEntry]:
        """Newest first; ``after`` is a previous page's ``after`` (the last entry's seq)."""
        check_limit(limit)
        with self.db.read() as tx:
            before_seq = None if after is None else after[0]
            found = list_activity(tx, limit=limit + 1, before_seq=before_seq)
        return page_of(found, limit, lambda last: (last.seq,))
