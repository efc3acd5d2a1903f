"""The JSON shapes of the domain's objects, as the API answers with them, the CLI prints them
and webhooks will send them: contracts, outcomes, keys, customers, activity.

The outcome object's fields are those of ``schemas.Outcome`` (the OpenAPI document and the
SDK's types are checked against it in tests/api/test_openapi.py and tests/client)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from earnest.contract import contract_to_dict
from earnest.contract.money import format_amount
from earnest.service.activity import ActivityEntry
from earnest.service.contracts import StoredContract
from earnest.service.customers import Customer
from earnest.service.keys import ApiKey
from earnest.service.outcomes import LedgerItem, OutcomeView
from earnest.signals import SignalIn


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
