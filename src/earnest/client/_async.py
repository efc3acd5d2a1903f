"""``AsyncClient``: the SDK over ``httpx.AsyncClient``; the same calls as ``Client``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
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


class AsyncClient:
    """An asynchronous client of one Earnest server.

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
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self._sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
        self._http = httpx.AsyncClient(
            base_url=base_url,
            headers=calls.base_headers(api_key),
            timeout=timeout,
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # The one I/O seam ---------------------------------------------------------------------

    async def _send(self, call: calls.Call) -> httpx.Response:
        attempt = 0
        while True:
            try:
                response = await self._http.request(
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
            await self._sleep(pause)
            attempt += 1

    async def _call(self, call: calls.Call) -> Any:
        return calls.answer(await self._send(call))

    # Signals and outcomes -----------------------------------------------------------------

    async def _pages(self, call: Callable[[str | None], calls.Call]) -> AsyncIterator[Any]:
        """Every item of a list, following ``next_cursor`` from page to page."""
        cursor: str | None = None
        while True:
            page = await self._call(call(cursor))
            for item in page["items"]:
                yield item
            cursor = page["next_cursor"]
            if cursor is None:
                return

    async def signal(
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
        return cast(SignalResult, await self._call(call))

    async def signals(self, signals: Iterable[Mapping[str, Any]]) -> BatchResult:
        """Send a batch (at most 10,000); every item without an ``id`` gets a UUIDv7."""
        return cast(BatchResult, await self._call(calls.batch_call(signals)))

    async def open(
        self, contract: str, outcome: str, customer: str, at: datetime | str | None = None
    ) -> OpenResult:
        """Begin tracking an outcome; ``opened`` is false when it was already open."""
        return calls.opened(await self._send(calls.open_call(contract, outcome, customer, at)))

    async def outcome(self, contract: str, outcome: str) -> Outcome:
        return cast(Outcome, await self._call(calls.outcome_call(contract, outcome)))

    async def history(self, contract: str, outcome: str) -> list[HistoryEntry]:
        """The outcome's history entries, in order."""
        body = await self._call(calls.outcome_call(contract, outcome, "history"))
        return cast(list[HistoryEntry], body["entries"])

    async def outcomes(
        self,
        *,
        contract: str | None = None,
        customer: str | None = None,
        state: str | None = None,
        contested: bool | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[Outcome]:
        """Every matching outcome, newest first, fetching pages of ``limit`` as it goes."""
        filters = {
            "contract": contract,
            "customer": customer,
            "state": state,
            "contested": contested,
        }
        async for item in self._pages(lambda cursor: calls.outcomes_call(filters, limit, cursor)):
            yield item

    # Contracts ----------------------------------------------------------------------------

    async def put_contract(self, key: str, contract: Mapping[str, Any] | str) -> Contract:
        """Create or update: ``contract`` is YAML text or a mapping (sent as JSON)."""
        return cast(Contract, await self._call(calls.put_contract_call(key, contract)))

    async def contract(self, key: str, version: int | None = None) -> Contract:
        """The latest version, or version ``version``."""
        return cast(Contract, await self._call(calls.contract_call(key, version)))

    async def contracts(self, *, limit: int | None = None) -> AsyncIterator[Contract]:
        """Every contract's latest version, newest first, page by page."""
        async for item in self._pages(lambda cursor: calls.contracts_call(limit, cursor)):
            yield item

    async def archive_contract(self, key: str) -> Contract:
        return cast(Contract, await self._call(calls.archive_call(key)))

    async def activity(self, *, limit: int | None = None) -> AsyncIterator[ActivityEntry]:
        """The activity log, newest first, page by page (an admin key)."""
        async for item in self._pages(lambda cursor: calls.activity_call(limit, cursor)):
            yield item

    async def backtest(
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
        return cast(BacktestReport, await self._call(call))

    async def validate_contract(
        self, contract: Mapping[str, Any] | str, *, key: str | None = None
    ) -> ContractCheck:
        """Check without saving; an invalid contract raises ``ValidationError`` whose
        ``details["errors"]`` lists every problem with its line and column."""
        return cast(ContractCheck, await self._call(calls.validate_contract_call(contract, key)))

    # Billing ------------------------------------------------------------------------------

    async def periods(self, customer: str) -> list[BillingPeriod]:
        """The customer's billing periods, oldest first: closed, open, and the next one."""
        body = await self._call(calls.periods_call(customer))
        return cast(list[BillingPeriod], body["items"])

    async def ledger(
        self,
        *,
        customer: str | None = None,
        kind: str | None = None,
        period: date | str | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[LedgerRecord]:
        """Charges and credits, newest first, page by page; ``kind`` charge or credit,
        ``period`` a day (for each customer, its billing period containing that day)."""
        filters = {"customer": customer, "kind": kind, "period": period}
        async for item in self._pages(
            lambda cursor: calls.list_call("/v1/ledger", filters, limit, cursor)
        ):
            yield item

    async def invoices(
        self,
        *,
        customer: str | None = None,
        status: str | None = None,
        period: date | str | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[InvoiceSummary]:
        """Invoices, drafts included, newest first, with their totals but not their lines
        (:meth:`invoice` has them); ``status`` draft or finalized."""
        filters = {"customer": customer, "status": status, "period": period}
        async for item in self._pages(
            lambda cursor: calls.list_call("/v1/invoices", filters, limit, cursor)
        ):
            yield item

    async def invoice(self, id: str) -> Invoice:
        """One invoice with its lines."""
        return cast(Invoice, await self._call(calls.invoice_call(id)))

    async def invoice_csv(self, id: str) -> str:
        """The invoice's lines as CSV text."""
        return calls.file_body(await self._send(calls.invoice_call(id, "csv"))).decode()

    async def invoice_pdf(self, id: str) -> bytes:
        """The invoice as a PDF to send to the customer."""
        return calls.file_body(await self._send(calls.invoice_call(id, "pdf")))

    async def invoice_audit(self, id: str, *, limit: int | None = None) -> AsyncIterator[AuditItem]:
        """Every outcome behind the invoice, in the order of its first entry on it, each with
        its entries there and its full history; page by page."""
        async for item in self._pages(lambda cursor: calls.audit_call(id, limit, cursor)):
            yield item

    async def open_dispute(self, contract: str, outcome: str, reason: str) -> Dispute:
        """Dispute a confirmed outcome's charge. Not idempotent: if a retry follows an
        attempt whose answer was lost, it is refused with ``dispute_open`` (a
        ``ConflictError``), the dispute being open already."""
        return cast(Dispute, await self._call(calls.dispute_call(contract, outcome, reason)))

    async def resolve_dispute(
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
        return cast(Dispute, await self._call(call))

    async def disputes(
        self, *, state: str | None = None, customer: str | None = None, limit: int | None = None
    ) -> AsyncIterator[Dispute]:
        """Disputes, newest first, page by page; ``state`` open or resolved."""
        filters = {"state": state, "customer": customer}
        async for item in self._pages(
            lambda cursor: calls.list_call("/v1/disputes", filters, limit, cursor)
        ):
            yield item

    async def settings(self) -> Settings:
        """The settings (an admin key)."""
        return cast(Settings, await self._call(calls.settings_call()))

    async def put_settings(self, **changes: str | None) -> Settings:
        """Change the settings named (``seller_name="..."``, ``invoice_grace="1h"``); None
        restores an optional one's default. Answers all of them."""
        return cast(Settings, await self._call(calls.put_settings_call(changes)))

    # Portal links -------------------------------------------------------------------------

    async def create_portal_link(
        self, customer: str, *, expires_in: str | int | None = None
    ) -> NewPortalLink:
        """A link to the customer's evidence pages (an admin key), expiring ``expires_in``
        from now (a duration such as ``"30d"``, or whole seconds; default 30 days). Its
        ``url`` is in this answer only. Not resent once the request may have reached the
        server (a second link): after a ``TransportError`` or ``ServerError``, look at
        :meth:`portal_links`."""
        call = calls.create_portal_link_call(customer, expires_in)
        return cast(NewPortalLink, await self._call(call))

    async def portal_links(
        self, customer: str, *, limit: int | None = None
    ) -> AsyncIterator[PortalLink]:
        """The customer's portal links, newest first, live or not, never their tokens."""
        async for item in self._pages(
            lambda cursor: calls.portal_links_call(customer, limit, cursor)
        ):
            yield item

    async def revoke_portal_link(self, customer: str, link: str) -> PortalLink:
        """Revoke a link: it opens nothing from now on. Revoking twice changes nothing."""
        return cast(PortalLink, await self._call(calls.revoke_portal_link_call(customer, link)))

    # Webhooks -----------------------------------------------------------------------------

    async def add_webhook(
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
        return cast(NewWebhook, await self._call(call))

    async def webhooks(self) -> list[Webhook]:
        """Every endpoint, oldest first (one answer, not paginated)."""
        return cast(list[Webhook], (await self._call(calls.webhooks_call()))["items"])

    async def webhook(self, id: str) -> Webhook:
        return cast(Webhook, await self._call(calls.webhook_call(id)))

    async def update_webhook(self, id: str, **changes: Unpack[WebhookChanges]) -> Webhook:
        """Change the fields named (``enabled=False``, ``events=["charge.booked"]``, ...)."""
        return cast(Webhook, await self._call(calls.update_webhook_call(id, changes)))

    async def remove_webhook(self, id: str) -> None:
        """It gets no new event and its pending deliveries stop. A retry after a lost answer
        is refused with ``unknown_webhook`` (a ``NotFoundError``): it is gone already."""
        calls.no_content(await self._send(calls.remove_webhook_call(id)))

    async def rotate_webhook_secret(self, id: str) -> NewWebhook:
        """A new ``secret``, in this answer only; the previous one signs too for 24 hours.
        Resent only when the connection was never made (a second rotation would end the
        first one's overlap at once)."""
        return cast(NewWebhook, await self._call(calls.rotate_secret_call(id)))

    async def deliveries(self, id: str, *, limit: int | None = None) -> AsyncIterator[Delivery]:
        """The endpoint's deliveries, newest first, each with every try, page by page."""
        async for item in self._pages(lambda cursor: calls.deliveries_call(id, limit, cursor)):
            yield item

    async def retry_delivery(self, id: str, delivery: int) -> Delivery:
        """Send a failed (or pending) delivery again now; answers it, pending. A delivered
        one is refused with ``not_retryable`` (a ``ConflictError``)."""
        return cast(Delivery, await self._call(calls.retry_delivery_call(id, delivery)))
