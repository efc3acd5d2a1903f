"""Portal links (SPEC 11): a customer's evidence pages behind ``/portal/<token>``.

The token is 32 random bytes in URL-safe base64; only its SHA-256 is stored (``token_hash``,
unique), so a copy of the database opens no link. A link is looked up by that hash, which
only the token's holder can compute. ``id`` is a short public name for the link (safe to
list, log and name as an actor); it reveals nothing of the token.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from earnest.store.base import Tx
from earnest.store.codec import from_us, opt_time, to_us
from earnest.store.ledger import LedgerItem, ledger_item

TOKEN_CHARS = 43  # secrets.token_urlsafe(32)
_COLUMNS = "id, customer, created_at, expires_at, revoked_at, created_by"
_LEDGER = (
    "l.id, l.kind, l.outcome_id, l.customer, l.amount, l.currency, l.period_start,"
    " l.booked_at, l.history_seq, l.period_end, l.invoice_id, l.reason, o.contract, o.ref"
)


@dataclass(frozen=True, slots=True)
class PortalLink:
    id: str
    customer: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    created_by: str

    def live(self, now: datetime) -> bool:
        """Whether the link opens its pages at ``now``: neither revoked nor expired."""
        return self.revoked_at is None and now < self.expires_at

    def state(self, now: datetime) -> str:
        """``live``, ``expired`` or ``revoked`` at ``now``."""
        if self.revoked_at is not None:
            return "revoked"
        return "live" if now < self.expires_at else "expired"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def well_formed(token: str) -> bool:
    """Whether ``token`` could be one this module hands out (checked before any lookup)."""
    return (
        len(token) == TOKEN_CHARS
        and token.isascii()
        and token.replace("-", "").replace("_", "").isalnum()
    )


def _row(row: Sequence[Any]) -> PortalLink:
    ident, customer, created_at, expires_at, revoked_at, created_by = row
    return PortalLink(
        str(ident),
        str(customer),
        from_us(int(created_at)),
        from_us(int(expires_at)),
        opt_time(None if revoked_at is None else int(revoked_at)),
        str(created_by),
    )


def create_link(
    tx: Tx, customer: str, *, now: datetime, expires_at: datetime, created_by: str
) -> tuple[PortalLink, str]:
    """A new link: ``(record, token)``. The token is never stored or shown again."""
    ident = "pl_" + secrets.token_hex(8)
    token = secrets.token_urlsafe(32)
    assert well_formed(token)
    tx.execute(
        f"INSERT INTO portal_links ({_COLUMNS}, token_hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (ident, customer, to_us(now), to_us(expires_at), None, created_by, token_hash(token)),
    )
    return PortalLink(ident, customer, now, expires_at, None, created_by), token


def link_by_token(tx: Tx, token: str) -> PortalLink | None:
    """The link whose token is ``token`` (live or not), or None."""
    if not well_formed(token):
        return None
    row = tx.one(f"SELECT {_COLUMNS} FROM portal_links WHERE token_hash = ?", (token_hash(token),))
    return None if row is None else _row(row)


def get_link(tx: Tx, customer: str, ident: str) -> PortalLink | None:
    row = tx.one(
        f"SELECT {_COLUMNS} FROM portal_links WHERE id = ? AND customer = ?", (ident, customer)
    )
    return None if row is None else _row(row)


def list_links(
    tx: Tx, customer: str, *, limit: int, after: tuple[int, str] | None = None
) -> list[PortalLink]:
    """The customer's links, newest first; ``after`` is the (created_at µs, id) of the
    previous page's last link (the ``portal_links_customer`` index serves both)."""
    where = "customer = ?"
    params: list[Any] = [customer]
    if after is not None:
        where += " AND (created_at < ? OR (created_at = ? AND id < ?))"
        params += [after[0], after[0], after[1]]
    rows = tx.query(
        f"SELECT {_COLUMNS} FROM portal_links WHERE {where}"
        " ORDER BY created_at DESC, id DESC LIMIT ?",
        [*params, limit],
    )
    return [_row(row) for row in rows]


def revoke_link(tx: Tx, customer: str, ident: str, now: datetime) -> tuple[PortalLink, bool] | None:
    """Revoke the customer's link ``ident`` at ``now``: ``(link, changed)``, ``changed``
    false when it was revoked already (it keeps its first revocation time); None when the
    customer has no such link."""
    changed = tx.execute(
        "UPDATE portal_links SET revoked_at = ?"
        " WHERE id = ? AND customer = ? AND revoked_at IS NULL",
        (to_us(now), ident, customer),
    ).rowcount
    found = get_link(tx, customer, ident)
    return None if found is None else (found, changed == 1)


# What a link shows ------------------------------------------------------------------------


def invoice_charges(
    tx: Tx, invoice: str, *, limit: int, after_id: int = 0
) -> list[tuple[LedgerItem, str, str]]:
    """The charges on ``invoice`` in booking order after ledger id ``after_id``, each with
    its outcome's ``(contract, ref)``: a range of the ``ledger_invoice`` index."""
    rows = tx.query(
        f"SELECT {_LEDGER} FROM ledger l JOIN outcomes o ON o.id = l.outcome_id"
        " WHERE l.invoice_id = ? AND l.kind = 'charge' AND l.id > ? ORDER BY l.id LIMIT ?",
        (invoice, after_id, limit),
    )
    return [(ledger_item(row[:12]), str(row[12]), str(row[13])) for row in rows]
