"""API keys (SPEC section 8): create (shown once), list, revoke, and the check of each
request's key. Creation and revocation are recorded in the activity log."""

from __future__ import annotations

from datetime import datetime, timedelta

from earnest.access import Scope
from earnest.clock import Clock
from earnest.errors import NotFound
from earnest.service.activity import append_activity
from earnest.service.pages import Page, check_limit, page_of
from earnest.store import Database
from earnest.store.codec import to_us
from earnest.store.keys import ApiKey, authenticate, create_key, list_keys, revoke_key, touch

__all__ = ["ApiKey", "Keys", "Scope", "UnknownKey"]

TOUCH_EVERY = timedelta(minutes=1)  # last_used_at is written at most this often per key


class UnknownKey(NotFound):
    code = "unknown_key"

    def __init__(self, ident: str) -> None:
        super().__init__(f"no API key {ident!r}", field="id")


def _shown(key: ApiKey) -> dict[str, object]:
    return {"scope": key.scope.value, "name": key.name, "revoked": key.revoked_at is not None}


class Keys:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def create(self, scope: Scope, name: str | None, *, actor: str) -> tuple[ApiKey, str]:
        """A new key: ``(record, the key itself)``. The key is never stored or shown again."""
        now = self.clock()
        with self.db.write() as tx:
            created, secret = create_key(tx, scope, now, name)
            append_activity(
                tx,
                at=now,
                actor=actor,
                action="key.created",
                subject=created.id,
                before=None,
                after=_shown(created),
            )
        return created, secret

    def list(self, *, limit: int, after: tuple[int, str] | None = None) -> Page[ApiKey]:
        check_limit(limit)
        with self.db.read() as tx:
            found = list_keys(tx, limit=limit + 1, after=after)
        return page_of(found, limit, lambda last: (to_us(last.created_at), last.id))

    def revoke(self, ident: str, *, actor: str) -> ApiKey:
        """Revoke key ``ident``: it stops working at once. Revoking twice changes nothing."""
        now = self.clock()
        with self.db.write() as tx:
            found = revoke_key(tx, ident, now)
            if found is None:
                raise UnknownKey(ident)
            revoked, changed = found
            if changed:
                append_activity(
                    tx,
                    at=now,
                    actor=actor,
                    action="key.revoked",
                    subject=ident,
                    before=_shown_live(revoked),
                    after=_shown(revoked),
                )
        return revoked

    def authenticate(self, token: str) -> ApiKey | None:
        """The live key ``token`` is, or None. One statement, no snapshot: it runs on every
        request (on SQLite, on the API's event loop: a read by primary key never waits)."""
        with self.db.autocommit() as tx:
            return authenticate(tx, token)

    def needs_touch(self, key: ApiKey, now: datetime) -> bool:
        return key.last_used_at is None or now - key.last_used_at >= TOUCH_EVERY

    def touch(self, ident: str, now: datetime) -> None:
        """Note that key ``ident`` was used at ``now`` (not an activity: a usage stamp)."""
        with self.db.write() as tx:
            touch(tx, ident, now)


def _shown_live(key: ApiKey) -> dict[str, object]:
    return {**_shown(key), "revoked": False}
