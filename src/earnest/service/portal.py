"""Portal links and the evidence pages they open (SPEC 11): create (the URL shown once),
list, revoke; and, for a live link, its customer's invoices and, per charge, why it was
billed, and a dispute opened in the link's name.

Every read behind a link is scoped by the link's customer here, not in the pages: an invoice
or outcome of another customer raises exactly what an unknown one raises. What a customer
sees of an outcome's history and its dispute leaves out what is the vendor's own: the signals'
``data`` and idempotency keys, who acted (an API key, a user's email) becomes "the vendor" (or
"you" for a portal link), and the words the vendor wrote (the reason of a dispute the vendor
opened, a settlement's or a resolution's note) are left out: the customer reads their own
reason and the outcome (settled, credited and how much, rejected), never the vendor's notes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

from earnest.clock import Clock
from earnest.contract.duration import format_duration, parse_duration
from earnest.engine import OpenDispute, Outcome
from earnest.errors import Invalid, NotFound
from earnest.rules import UnknownOutcome
from earnest.service.activity import append_activity
from earnest.service.customers import Customer, UnknownCustomer
from earnest.service.disputes import DisputeAnswer, dispute_text, record_dispute
from earnest.service.history import HistoryEntry, explained
from earnest.service.invoices import Invoice, UnknownInvoice, load_invoice
from earnest.service.outcomes import TIMELINE_PAGE, OutcomeView
from earnest.service.pages import Page, check_limit, page_of
from earnest.service.settings import settings_of
from earnest.store import Database
from earnest.store.codec import to_us
from earnest.store.customers import get_customer
from earnest.store.disputes import Dispute, latest_dispute
from earnest.store.invoices import InvoiceRow, get_invoice, list_invoices
from earnest.store.ledger import LedgerItem, entries_of
from earnest.store.outcomes import history_rows_after, load_one
from earnest.store.portal import (
    PortalLink,
    create_link,
    invoice_charges,
    link_by_token,
    list_links,
    revoke_link,
)

__all__ = [
    "DEFAULT_EXPIRES",
    "ClosedPortalLink",
    "Evidence",
    "NewPortalLink",
    "Portal",
    "PortalLink",
    "Statement",
    "UnknownPortalLink",
    "actor_of",
]

DEFAULT_EXPIRES = "30d"
MIN_EXPIRES_S = 60
MAX_EXPIRES_S = 366 * 86_400
PORTAL_PATH = "/portal/"
ACTOR_PREFIX = "portal:"


class UnknownPortalLink(NotFound):
    code = "unknown_portal_link"

    def __init__(self, ident: str) -> None:
        super().__init__(f"no portal link {ident!r} for this customer", field="link")


class ClosedPortalLink(NotFound):
    """A token that opens nothing (any more): unknown, expired or revoked alike."""

    code = "unknown_portal_link"

    def __init__(self) -> None:
        super().__init__("this portal link opens nothing", field="link")


@dataclass(frozen=True, slots=True)
class NewPortalLink:
    """A link just created: ``url`` holds its token, shown this once."""

    link: PortalLink
    url: str


@dataclass(frozen=True, slots=True)
class Statement:
    """One invoice as its customer sees it: its lines, and a page of the charges on it."""

    invoice: Invoice
    charges: list[tuple[LedgerItem, str, str]]  # (entry, contract, ref), booking order
    after: int | None  # the last charge's ledger id when more follow


@dataclass(frozen=True, slots=True)
class Evidence:
    """Why an outcome was billed: its terms (the pinned version), a page of its timeline in
    the customer's view, its ledger entries and its latest dispute in the customer's view
    (:func:`public_dispute`)."""

    view: OutcomeView
    history: list[HistoryEntry]
    dispute: Dispute | None
    later: int | None = None  # the seq to read on from when more history follows

    @property
    def outcome(self) -> Outcome:
        return self.view.outcome

    @property
    def disputable(self) -> bool:
        """Whether the customer may dispute it now (confirmed, no dispute open)."""
        return self.outcome.state.value == "confirmed" and not self.outcome.contested


def actor_of(link: PortalLink) -> str:
    """The actor a link's changes are recorded as."""
    return ACTOR_PREFIX + link.id


def parse_expires(value: Any, *, field: str = "expires_in") -> int:
    """A link's lifetime in seconds: a duration (``30d``, ``12h``) or whole seconds."""
    if isinstance(value, Decimal) and value == value.to_integral_value():
        value = int(value)
    try:
        seconds = parse_duration(value)
    except ValueError as error:
        raise Invalid(f"{field}: {error}", field=field) from None
    if not MIN_EXPIRES_S <= seconds <= MAX_EXPIRES_S:
        raise Invalid(
            f"{field} is {format_duration(MIN_EXPIRES_S)} to {format_duration(MAX_EXPIRES_S)},"
            f" got {value!r}",
            field=field,
        )
    return seconds


def _shown(link: PortalLink) -> dict[str, Any]:
    """A link in the activity log: never its token nor the token's hash."""
    return {
        "customer": link.customer,
        "expires_at": link.expires_at,
        "revoked": link.revoked_at is not None,
    }


def by_customer(by: Any) -> bool:
    """Whether ``by`` (an actor as recorded) is a portal link, the customer's own."""
    return isinstance(by, str) and by.startswith(ACTOR_PREFIX)


def _who(by: Any) -> str:
    return "you" if by_customer(by) else "the vendor"


def public_entry(entry: HistoryEntry) -> HistoryEntry:
    """``entry`` as the outcome's customer sees it (see the module's docstring). A dispute
    the vendor opened (an API key, a user, Earnest after settlement) keeps no ``reason``;
    a settlement, a resolution and a dispute's credit keep no ``note``; a legacy ``flag``
    keeps no ``reason`` (it named the late signal)."""
    data: dict[str, Any] = dict(entry.data)
    if entry.kind == "signal":
        data.pop("data", None)
        data.pop("id", None)
    if entry.kind in ("dispute", "flag"):
        data.pop("signal", None)  # the late signal's id
    if entry.kind == "flag" or (entry.kind == "dispute" and not by_customer(data.get("by"))):
        data.pop("reason", None)
    if entry.kind in ("dispute", "transition", "credit"):
        data.pop("note", None)  # the vendor's words: only a vendor settles or resolves
    if "by" in data and entry.kind in ("dispute", "transition"):
        data["by"] = _who(data["by"])
    return HistoryEntry(entry.seq, entry.recorded_at, entry.kind, data, entry.hash)


def public_dispute(dispute: Dispute) -> Dispute:
    """``dispute`` as the outcome's customer sees it: ``opened_by`` and ``resolved_by`` are
    ``you`` or ``the vendor``; the reason is kept only when the customer opened it (else
    empty), the resolution's note never (its outcome, credit or rejection, is kept)."""
    return replace(
        dispute,
        reason=dispute.reason if by_customer(dispute.opened_by) else "",
        opened_by=_who(dispute.opened_by),
        note=None,
        resolved_by=None if dispute.resolved_by is None else _who(dispute.resolved_by),
    )


class Portal:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    # The links ---------------------------------------------------------------------------

    def create(
        self, customer: str, expires_in: Any = None, *, base_url: str, actor: str
    ) -> NewPortalLink:
        """A new link to ``customer``'s evidence pages, expiring ``expires_in`` from now
        (default 30 days); its URL on the public base URL setting, else ``base_url``."""
        seconds = parse_expires(DEFAULT_EXPIRES if expires_in is None else expires_in)
        with self.db.write() as tx:
            now = self.clock()
            if get_customer(tx, customer) is None:
                raise UnknownCustomer(customer)
            base = settings_of(tx).public_base_url or base_url
            link, token = create_link(
                tx, customer, now=now, expires_at=now + timedelta(seconds=seconds),
                created_by=actor,
            )  # fmt: skip
            append_activity(
                tx, at=now, actor=actor, action="portal_link.created", subject=link.id,
                before=None, after=_shown(link),
            )  # fmt: skip
        return NewPortalLink(link, base.rstrip("/") + PORTAL_PATH + token)

    def list(
        self, customer: str, *, limit: int, after: tuple[int, str] | None = None
    ) -> Page[PortalLink]:
        """The customer's links, newest first, live or not."""
        check_limit(limit)
        with self.db.read() as tx:
            if get_customer(tx, customer) is None:
                raise UnknownCustomer(customer)
            found = list_links(tx, customer, limit=limit + 1, after=after)
        return page_of(found, limit, lambda last: (to_us(last.created_at), last.id))

    def revoke(self, customer: str, ident: str, *, actor: str) -> PortalLink:
        """Revoke the customer's link ``ident``: it opens nothing from now on. Revoking
        twice changes nothing."""
        with self.db.write() as tx:
            now = self.clock()
            if get_customer(tx, customer) is None:
                raise UnknownCustomer(customer)
            found = revoke_link(tx, customer, ident, now)
            if found is None:
                raise UnknownPortalLink(ident)
            link, changed = found
            if changed:
                append_activity(
                    tx, at=now, actor=actor, action="portal_link.revoked", subject=ident,
                    before={**_shown(link), "revoked": False}, after=_shown(link),
                )  # fmt: skip
        return link

    def open(self, token: str) -> PortalLink | None:
        """The live link ``token`` opens, or None: unknown, malformed, expired or revoked
        alike. One statement by a unique index (on SQLite a read that never waits)."""
        with self.db.autocommit() as tx:
            found = link_by_token(tx, token)
        return found if found is not None and found.live(self.clock()) else None

    # What a live link shows --------------------------------------------------------------

    def customer(self, link: PortalLink) -> tuple[Customer, str | None]:
        """The link's customer and the seller's name."""
        with self.db.read() as tx:
            found = get_customer(tx, link.customer)
            seller = settings_of(tx).seller_name
        assert found is not None, "a link's customer is never deleted"
        return found, seller

    def invoices(
        self, link: PortalLink, *, limit: int, after: tuple[int, str] | None = None
    ) -> Page[InvoiceRow]:
        """The customer's invoices, drafts included, newest first."""
        check_limit(limit)
        with self.db.read() as tx:
            found = list_invoices(
                tx, customer=link.customer, status=None, containing=None, limit=limit + 1,
                after=after,
            )  # fmt: skip
        return page_of(found, limit, lambda last: (to_us(last.created_at), last.id))

    def invoice(self, link: PortalLink, ident: str) -> Invoice:
        """The customer's invoice ``ident``: another customer's is unknown here."""
        with self.db.read() as tx:
            row = get_invoice(tx, ident)
            if row is None or row.customer != link.customer:
                raise UnknownInvoice(ident)
            return load_invoice(tx, row)

    def statement(
        self, link: PortalLink, ident: str, *, limit: int, after: int | None = None
    ) -> Statement:
        """The customer's invoice with a page of its charges (after ledger id ``after``)."""
        check_limit(limit)
        with self.db.read() as tx:
            row = get_invoice(tx, ident)
            if row is None or row.customer != link.customer:
                raise UnknownInvoice(ident)
            invoice = load_invoice(tx, row)
            charges = invoice_charges(tx, ident, limit=limit + 1, after_id=after or 0)
        more = len(charges) > limit
        return Statement(invoice, charges[:limit], charges[limit - 1][0].id if more else None)

    def evidence(
        self,
        link: PortalLink,
        contract: str,
        ref: str,
        *,
        after_seq: int = 0,
        limit: int = TIMELINE_PAGE,
    ) -> Evidence:
        """Why the customer's outcome ``(contract, ref)`` was (or was not) billed, with the
        ``limit`` history entries after ``after_seq``, in one transaction."""
        check_limit(limit)
        with self.db.read() as tx:
            found = load_one(tx, contract, ref)
            if found is None or found.outcome.customer != link.customer:
                raise UnknownOutcome(contract, ref)
            ledger = entries_of(tx, [found.id]).get(found.id, [])
            dispute = latest_dispute(tx, found.id)
            rows = history_rows_after(tx, found.id, after_seq, limit + 1)
        entries = explained(rows[:limit], found.outcome.contract.condition)
        later = entries[-1].seq if len(rows) > limit else None
        history = [public_entry(entry) for entry in entries]
        shown = None if dispute is None else public_dispute(dispute)
        return Evidence(OutcomeView(found.outcome, tuple(ledger)), history, shown, later)

    def dispute(self, token: str, contract: str, ref: str, reason: Any) -> DisputeAnswer:
        """Dispute the customer's confirmed outcome in the name of the link ``token`` opens.

        The link is looked up again by its token's hash in the transaction that records the
        dispute, and must be live at that transaction's clock: a link revoked or expired
        since its page was opened (or while a slow client sent the form) records nothing and
        raises :class:`ClosedPortalLink`, as an outcome of another customer raises
        :class:`UnknownOutcome`. Then as :meth:`Disputes.open` (the same engine decision and
        recorder, the same refusals), all in that one transaction."""
        with self.db.write() as tx:
            now = self.clock()
            link = link_by_token(tx, token)
            if link is None or not link.live(now):
                raise ClosedPortalLink()
            found = load_one(tx, contract, ref, lock=True)
            if found is None or found.outcome.customer != link.customer:
                raise UnknownOutcome(contract, ref)
            why = dispute_text(reason, "reason", required=True)
            return record_dispute(tx, found, OpenDispute(why, actor_of(link)), now)
