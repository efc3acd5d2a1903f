"""``Client``: the SDK over ``httpx.Client``. Its only I/O is :meth:`Client._send`."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal
from types import TracebackType
from typing import Any, Unpack, cast

import httpx

from earnest.client import _calls as calls
from earnest.client._errors import TransportError
from earnest.client._types import (
    ActivityEntry,
    AuditItem,
    BacktestReport,
    BatchResult,
    BillingPeriod,
    Contract,
    ContractCheck,
    Delivery,
    Dispute,
    EventType,
    HistoryEntry,
    Invoice,
    InvoiceSummary,
    LedgerRecord,
    NewPortalLink,
    NewWebhook,
    OpenResult,
    Outcome,
    PortalLink,
    Settings,
    SignalResult,
    Value,
    Webhook,
    WebhookChanges,
)

BACKTEST_TIMEOUT_S = 600.0  # a backtest over a large history takes a while


class Client:
    """A synchronous client of one Earnest server.

    Every call is retried on connection errors, timeouts, 5xx and 429 (after ``Retry-After``
    when given), with exponential backoff and full jitter, at most ``max_retries`` times; other
    4xx answers are raised at once. Retries are safe: each signal carries an ``id`` fixed before
    the first attempt, and the other writes are idempotent by nature, except three that answer
    a secret once (:meth:`add_webhook`, :meth:`rotate_webhook_secret`,
    :meth:`create_portal_link`): those are resent only when the connection was never made, or
    after a 429.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 10.0,
        max_retries: int = 4,
        backoff_s: float = 0.2,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self._sleep: Callable[[float], None] = time.sleep
        self._http = httpx.Client(
            base_url=base_url,
            headers=calls.base_headers(api_key),
            timeout=timeout,
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # The one I/O seam ---------------------------------------------------------------------

    def _send(self, call: calls.Call) -> httpx.Response:
        attempt = 0
        while True:
            try:
                response = self._http.request(
                    call.method,
                    call.path,
                    params=call.params,
                    content=call.content,
                    headers=call.headers,
                    timeout=httpx.USE_CLIENT_DEFAULT if call.timeout_s is None else call.timeout_s,
                )
            except httpx.TransportError as error:
                if attempt >= self.max_retries or not calls.should_retry_error(error, call.once):
                    raise TransportError(f"{call.method} {call.path}: {error!r}") from error
                pause = calls.backoff_s(attempt, self.backoff_s)
            else:
                if attempt >= self.max_retries or not calls.should_retry_status(
                    response.status_code, call.once
                ):
                    return response
                pause = calls.backoff_s(
                    attempt, self.backoff_s, response.headers.get("Retry-After")
                )
            self._sleep(pause)
            attempt += 1

    def _call(self, call: calls.Call) -> Any:
        return calls.answer(self._send(call))

    # Signals and outcomes -----------------------------------------------------------------

    def _pages(self, call: Callable[[str | None], calls.Call]) -> Iterator[Any]:
        """Every item of a list, following ``next_cursor`` from page to page."""
        cursor: str | None = None
        while True:
            page = self._call(call(cursor))
            yield from page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                return

    def signal(
        self,
        contract: str,
        outcome: str,
        signal: str,
        value: Value = True,
        *,
        customer: str | None = None,
        at: datetime | str | None = None,
        data: Mapping[str, Any] | None = None,
        id: str | None = None,
    ) -> SignalResult:
        """Send one signal; its ``id`` (a new UUIDv7 unless given) is reused on retries."""
        call = calls.signal_call(
            contract, outcome, signal, value, customer=customer, at=at, data=data, id=id
        )
        return cast(SignalResult, self._call(call))

    def signals(self, signals: Iterable[Mapping[str, Any]]) -> BatchResult:
        """Send a batch (at most 10,000); every item without an ``id`` gets a UUIDv7."""
        return cast(BatchResult, self._call(calls.batch_call(signals)))

    def open(
        self, contract: str, outcome: str, customer: str, at: datetime | str | None = None
    ) -> OpenResult:
        """Begin tracking an outcome; ``opened`` is false when it was already open."""
        return calls.opened(self._send(calls.open_call(contract, outcome, customer, at)))

    def outcome(self, contract: str, outcome: str) -> Outcome:
        return cast(Outcome, self._call(calls.outcome_call(contract, outcome)))

    def history(self, contract: str, outcome: str) -> list[HistoryEntry]:
        """The outcome's history entries, in order."""
        body = self._call(calls.outcome_call(contract, outcome, "history"))
        return cast(list[HistoryEntry], body["entries"])

    def outcomes(
        self,
        *,
        contract: str | None = None,
        customer: str | None = None,
        state: str | None = None,
        contested: bool | None = None,
        limit: int | None = None,
    ) -> Iterator[Outcome]:
        """Every matching outcome, newest first, fetching pages of ``limit`` as it goes."""
        filters = {
            "contract": contract,
            "customer": customer,
            "state": state,
            "contested": contested,
        }
        yield from self._pages(lambda cursor: calls.outcomes_call(filters, limit, cursor))

    # Contracts ----------------------------------------------------------------------------

    def put_contract(self, key: str, contract: Mapping[str, Any] | str) -> Contract:
        """Create or update: ``contract`` is YAML text or a mapping (sent as JSON)."""
        return cast(Contract, self._call(calls.put_contract_call(key, contract)))

    def contract(self, key: str, version: int | None = None) -> Contract:
        """The latest version, or version ``version``."""
        return cast(Contract, self._call(calls.contract_call(key, version)))

    def contracts(self, *, limit: int | None = None) -> Iterator[Contract]:
        """Every contract's latest version, newest first, page by page."""
        yield from self._pages(lambda cursor: calls.contracts_call(limit, cursor))

    def archive_contract(self, key: str) -> Contract:
        return cast(Contract, self._call(calls.archive_call(key)))

    def activity(self, *, limit: int | None = None) -> Iterator[ActivityEntry]:
        """The activity log, newest first, page by page (an admin key)."""
        yield from self._pages(lambda cursor: calls.activity_call(limit, cursor))

    def backtest(
        self,
        key: str,
        contract: Mapping[str, Any] | str,
        *,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        timeout: float = BACKTEST_TIMEOUT_S,
    ) -> BacktestReport:
        """What the proposed ``contract`` (YAML text or a mapping) would have changed over
        the outcomes of ``key`` opened in ``[since, until)`` (default: the 30 days to now).
        Nothing is saved. A large history takes a while: ``timeout`` (seconds) is this
        call's own."""
        call = calls.backtest_call(key, contract, since, until, timeout)
        return cast(BacktestReport, self._call(call))

    def validate_contract(
        self, contract: Mapping[str, Any] | str, *, key: str | None = None
    ) -> ContractCheck:
        """Check without saving; an invalid contract raises ``ValidationError`` whose
        ``details["errors"]`` lists every problem with its line and column."""
        return cast(ContractCheck, self._call(calls.validate_contract_call(contract, key)))

    # Billing ------------------------------------------------------------------------------

    def periods(self, customer: str) -> list[BillingPeriod]:
        """The customer's billing periods, oldest first: closed, open, and the next one."""
        body = self._call(calls.periods_call(customer))
        return cast(list[BillingPeriod], body["items"])

    def ledger(
        self,
        *,
        customer: str | None = None,
        kind: str | None = None,
        period: date | str | None = None,
        limit: int | None = None,
    ) -> Iterator[LedgerRecord]:
        """Charges and credits, newest first, page by page; ``kind`` charge or credit,
        ``period`` a day (for each customer, its billing period containing that day)."""
        filters = {"customer": customer, "kind": kind, "period": period}
        yield from self._pages(lambda cursor: calls.list_call("/v1/ledger", filters, limit, cursor))

    def invoices(
        self,
        *,
        customer: str | None = None,
        status: str | None = None,
        period: date | str | None = None,
        limit: int | None = None,
    ) -> Iterator[InvoiceSummary]:
        """Invoices, drafts included, newest first, with their totals but not their lines
        (:meth:`invoice` has them); ``status`` draft or finalized."""
        filters = {"customer": customer, "status": status, "period": period}
        yield from self._pages(
            lambda cursor: calls.list_call("/v1/invoices", filters, limit, cursor)
        )

    def invoice(self, id: str) -> Invoice:
        """One invoice with its lines."""
        return cast(Invoice, self._call(calls.invoice_call(id)))

    def invoice_csv(self, id: str) -> str:
        """The invoice's lines as CSV text."""
        return calls.file_body(self._send(calls.invoice_call(id, "csv"))).decode()

    def invoice_pdf(self, id: str) -> bytes:
        """The invoice as a PDF to send to the customer."""
        return calls.file_body(self._send(calls.invoice_call(id, "pdf")))

    def invoice_audit(self, id: str, *, limit: int | None = None) -> Iterator[AuditItem]:
        """Every outcome behind the invoice, in the order of its first entry on it, each with
        its entries there and its full history; page by page."""
        yield from self._pages(lambda cursor: calls.audit_call(id, limit, cursor))

    def open_dispute(self, contract: str, outcome: str, reason: str) -> Dispute:
        """Dispute a confirmed outcome's charge. Not idempotent: if a retry follows an
        attempt whose answer was lost, it is refused with ``dispute_open`` (a
        ``ConflictError``), the dispute being open already."""
        return cast(Dispute, self._call(calls.dispute_call(contract, outcome, reason)))

    def resolve_dispute(
        self,
        contract: str,
        outcome: str,
        resolution: str,
        note: str,
        *,
        amount: Decimal | int | str | None = None,
    ) -> Dispute:
        """Resolve the outcome's open dispute: ``reject``, or ``credit`` ``amount`` (default:
        all that is still creditable). A retry after a lost answer is refused with
        ``no_open_dispute``; nothing is ever credited twice."""
        call = calls.resolve_call(contract, outcome, resolution, note, amount)
        return cast(Dispute, self._call(call))

    def disputes(
        self, *, state: str | None = None, customer: str | None = None, limit: int | None = None
    ) -> Iterator[Dispute]:
        """Disputes, newest first, page by page; ``state`` open or resolved."""
        filters = {"state": state, "customer": customer}
        yield from self._pages(
            lambda cursor: calls.list_call("/v1/disputes", filters, limit, cursor)
        )

    def settings(self) -> Settings:
        """The settings (an admin key)."""
        return cast(Settings, self._call(calls.settings_call()))

    def put_settings(self, **changes: str | None) -> Settings:
        """Change the settings named (``seller_name="..."``, ``invoice_grace="1h"``); None
        restores an optional one's default. Answers all of them."""
        return cast(Settings, self._call(calls.put_settings_call(changes)))

    # Portal links -------------------------------------------------------------------------

    def create_portal_link(
        self, customer: str, *, expires_in: str | int | None = None
    ) -> NewPortalLink:
        """A link to the customer's evidence pages (an admin key), expiring ``expires_in``
        from now (a duration such as ``"30d"``, or whole seconds; default 30 days). Its
        ``url`` is in this answer only. Not resent once the request may have reached the
        server (a second link): after a ``TransportError`` or ``ServerError``, look at
        :meth:`portal_links`."""
        call = calls.create_portal_link_call(customer, expires_in)
        return cast(NewPortalLink, self._call(call))

    def portal_links(self, customer: str, *, limit: int | None = None) -> Iterator[PortalLink]:
        """The customer's portal links, newest first, live or not, never their tokens."""
        yield from self._pages(lambda cursor: calls.portal_links_call(customer, limit, cursor))

    def revoke_portal_link(self, customer: str, link: str) -> PortalLink:
        """Revoke a link: it opens nothing from now on. Revoking twice changes nothing."""
        return cast(PortalLink, self._call(calls.revoke_portal_link_call(customer, link)))

    # Webhooks -----------------------------------------------------------------------------

    def add_webhook(
        self,
        url: str,
        *,
        events: Iterable[EventType] | None = None,
        description: str | None = None,
        enabled: bool = True,
    ) -> NewWebhook:
        """Add an endpoint (an admin key); ``events`` None: every type. Its ``secret`` is in
        this answer only. Not resent once the request may have reached the server (a second
        endpoint): after a ``TransportError`` or ``ServerError``, look at :meth:`webhooks`."""
        call = calls.add_webhook_call(url, events, description, enabled)
        return cast(NewWebhook, self._call(call))

    def webhooks(self) -> list[Webhook]:
        """Every endpoint, oldest first (one answer, not paginated)."""
        return cast(list[Webhook], self._call(calls.webhooks_call())["items"])

    def webhook(self, id: str) -> Webhook:
        return cast(Webhook, self._call(calls.webhook_call(id)))

    def update_webhook(self, id: str, **changes: Unpack[WebhookChanges]) -> Webhook:
        """Change the fields named (``enabled=False``, ``events=["charge.booked"]``, ...)."""
        return cast(Webhook, self._call(calls.update_webhook_call(id, changes)))

    def remove_webhook(self, id: str) -> None:
        """It gets no new event and its pending deliveries stop. A retry after a lost answer
        is refused with ``unknown_webhook`` (a ``NotFoundError``): it is gone already."""
        calls.no_content(self._send(calls.remove_webhook_call(id)))

    def rotate_webhook_secret(self, id: str) -> NewWebhook:
        """A new ``secret``, in this answer only; the previous one signs too for 24 hours.
        Resent only when the connection was never made (a second rotation would end the
        first one's overlap at once)."""
        return cast(NewWebhook, self._call(calls.rotate_secret_call(id)))

    def deliveries(self, id: str, *, limit: int | None = None) -> Iterator[Delivery]:
        """The endpoint's deliveries, newest first, each with every try, page by page."""
        yield from self._pages(lambda cursor: calls.deliveries_call(id, limit, cursor))

    def retry_delivery(self, id: str, delivery: int) -> Delivery:
        """Send a failed (or pending) delivery again now; answers it, pending. A delivered
        one is refused with ``not_retryable`` (a ``ConflictError``)."""
        return cast(Delivery, self._call(calls.retry_delivery_call(id, delivery)))
