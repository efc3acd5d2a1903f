"""The JSON shapes of the domain's objects, as the API answers with them, the CLI prints them
and webhooks send them: contracts, outcomes, keys, customers, activity, billing (ledger
entries, invoices, disputes, settings, billing periods), and webhook endpoints and deliveries.

The outcome object's fields are those of ``schemas.Outcome`` (the OpenAPI document and the
SDK's types are checked against it in tests/api/test_openapi.py and tests/client)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from earnest.billing import Period
from earnest.contract import contract_to_dict
from earnest.contract.money import format_amount
from earnest.service.activity import ActivityEntry
from earnest.service.contracts import StoredContract
from earnest.service.customers import Customer
from earnest.service.disputes import Dispute
from earnest.service.history import HistoryEntry
from earnest.service.invoices import Invoice
from earnest.service.keys import ApiKey
from earnest.service.ledger import AuditItem, LedgerRow
from earnest.service.outcomes import LedgerItem, OutcomeView
from earnest.service.settings import SettingsValues
from earnest.service.webhooks import DeliveryRow, Endpoint
from earnest.signals import SignalIn
from earnest.store.invoices import InvoiceRow


def contract_json(stored: StoredContract) -> dict[str, Any]:
    return {
        **contract_to_dict(stored.contract),
        "version": stored.version,
        "fingerprint": stored.fingerprint,
        "archived": stored.archived,
        "created_at": stored.created_at,
    }


def _ledger_json(item: LedgerItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "amount": format_amount(item.amount, item.currency),
        "currency": item.currency,
        "period": item.period,
        "period_end": item.period_end,
        "invoice": item.invoice,
        "booked_at": item.booked_at,
    }


def outcome_json(view: OutcomeView) -> dict[str, Any]:
    outcome = view.outcome
    last_check = None
    if outcome.last_verdict is not None:
        condition, values = outcome.contract.condition, outcome.values
        last_check = {
            "verdict": condition.verdict(values).value,
            "explanation": condition.explanation_text(values),
        }
    charge = view.charge
    net = view.net
    return {
        "contract": outcome.contract.key,
        "contract_version": outcome.contract_version,
        "outcome": outcome.ref,
        "customer": outcome.customer,
        "state": outcome.state.value,
        "scheduled": outcome.scheduled.value if outcome.scheduled else None,
        "review_reason": outcome.review_reason.value if outcome.review_reason else None,
        "opened_at": outcome.opened_at,
        "active_until": outcome.active_until,
        "review_ends_at": outcome.review_ends_at,
        "settled_at": outcome.settled_at,
        "price": outcome.contract.price.to_json(),
        "values": outcome.values,
        "last_check": last_check,
        "charge": None if charge is None else _ledger_json(charge),
        "credits": [_ledger_json(credit) for credit in view.credits],
        "net": None if net is None or charge is None else format_amount(net, charge.currency),
        "contested": outcome.contested,
    }


def signal_json(signal: SignalIn, received_at: datetime) -> dict[str, Any]:
    return {
        "id": signal.id,
        "contract": signal.contract,
        "outcome": signal.outcome,
        "customer": signal.customer,
        "signal": signal.signal,
        "value": signal.value,
        "at": signal.occurred_at(received_at),
        "data": signal.data,
    }


def key_json(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "scope": key.scope.value,
        "name": key.name,
        "created_at": key.created_at,
        "last_used_at": key.last_used_at,
        "revoked_at": key.revoked_at,
    }


def customer_json(customer: Customer) -> dict[str, Any]:
    return {
        "id": customer.id,
        "name": customer.name,
        "email": customer.email,
        "address": customer.address,
        "tax_id": customer.tax_id,
        "billing_day": customer.billing_day,
        "created_at": customer.created_at,
    }


def activity_json(entry: ActivityEntry) -> dict[str, Any]:
    return {
        "seq": entry.seq,
        "at": entry.at,
        "actor": entry.actor,
        "action": entry.action,
        "subject": entry.subject,
        "before": entry.before,
        "after": entry.after,
        "hash": entry.hash,
    }


def history_json(entry: HistoryEntry) -> dict[str, Any]:
    return {
        "seq": entry.seq,
        "recorded_at": entry.recorded_at,
        "kind": entry.kind,
        "data": entry.data,
        "hash": entry.hash,
    }


# Billing ----------------------------------------------------------------------------------


def _midnight(day: str) -> datetime:
    """A ledger row's period bound (a day; periods run from 00:00 UTC) as a time."""
    parsed = date.fromisoformat(day)
    return datetime(parsed.year, parsed.month, parsed.day, tzinfo=UTC)


def period_json(period: Period) -> dict[str, Any]:
    return {"start": period.start, "end": period.end}


def billing_period_json(found: tuple[Period, str]) -> dict[str, Any]:
    """One of a customer's periods and its state: closed, open or upcoming."""
    period, state = found
    return {**period_json(period), "state": state}


def ledger_json(row: LedgerRow) -> dict[str, Any]:
    """A charge or a credit as ``GET /v1/ledger`` lists it."""
    item = row.item
    assert item.period_end is not None, "every ledger row is on an invoice (migration 0004)"
    return {
        "id": item.id,
        "kind": item.kind,
        "contract": row.contract,
        "outcome": row.outcome,
        "customer": item.customer,
        "amount": format_amount(item.amount, item.currency),
        "currency": item.currency,
        "period": {"start": _midnight(item.period), "end": _midnight(item.period_end)},
        "invoice": item.invoice,
        "booked_at": item.booked_at,
        "reason": item.reason,
    }


def invoice_json(invoice: Invoice) -> dict[str, Any]:
    """The invoice object of SPEC 8, with its lines."""
    return invoice.document()


def invoice_summary_json(row: InvoiceRow) -> dict[str, Any]:
    """The invoice object without its lines (as lists show it): totals, status, number."""
    document = Invoice(row, (), ()).document()
    del document["lines"]
    return document


def audit_json(item: AuditItem) -> dict[str, Any]:
    """One outcome behind an invoice: its entries on the invoice and its full history."""
    return {
        "contract": item.contract,
        "outcome": item.outcome,
        "customer": item.customer,
        "ledger": [ledger_json(row) for row in item.entries],
        "history": [history_json(entry) for entry in item.history],
    }


def dispute_json(dispute: Dispute) -> dict[str, Any]:
    credit = None
    if dispute.credit_amount is not None and dispute.credit_currency is not None:
        currency = dispute.credit_currency
        credit = {"amount": format_amount(dispute.credit_amount, currency), "currency": currency}
    return {
        "id": dispute.id,
        "contract": dispute.contract,
        "outcome": dispute.outcome,
        "customer": dispute.customer,
        "state": dispute.state,
        "reason": dispute.reason,
        "opened_by": dispute.opened_by,
        "opened_at": dispute.opened_at,
        "resolution": dispute.resolution,
        "note": dispute.note,
        "resolved_by": dispute.resolved_by,
        "resolved_at": dispute.resolved_at,
        "credit": credit,
    }


def settings_json(values: SettingsValues) -> dict[str, Any]:
    return values.as_dict()


def webhook_json(endpoint: Endpoint) -> dict[str, Any]:
    """An endpoint, never its secret (the API adds ``secret`` at creation and rotation)."""
    return {
        "id": endpoint.id,
        "url": endpoint.url,
        "events": None if endpoint.events is None else list(endpoint.events),
        "description": endpoint.description,
        "enabled": endpoint.enabled,
        "disabled_reason": endpoint.disabled_reason,
        "previous_secret_until": endpoint.previous_until,
        "created_at": endpoint.created_at,
    }


def delivery_json(row: DeliveryRow) -> dict[str, Any]:
    """One event for one endpoint, with every try; ``next_at`` only while it is pending."""
    return {
        "id": row.id,
        "event_id": row.event_id,
        "event_type": row.event_type,
        "state": row.state,
        "attempts": row.attempts,
        "next_at": row.next_at if row.state == "pending" else None,
        "created_at": row.created_at,
        "finished_at": row.finished_at,
        "tries": [
            {"at": at, "status": status, "duration_ms": ms, "error": error, "response": response}
            for at, status, ms, error, response in row.tries
        ],
    }
