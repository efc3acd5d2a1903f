"""The JSON shapes the API answers with: contracts, outcomes, keys, customers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from earnest.contract import contract_to_dict
from earnest.contract.money import format_amount
from earnest.engine import Outcome
from earnest.service.outcomes import ChargeRow
from earnest.signals import SignalIn
from earnest.store.codec import from_us
from earnest.store.contracts import StoredContract
from earnest.store.keys import ApiKey


def contract_json(stored: StoredContract) -> dict[str, Any]:
    return {
        **contract_to_dict(stored.contract),
        "version": stored.version,
        "fingerprint": stored.fingerprint,
        "archived": stored.archived,
        "created_at": stored.created_at,
    }


def outcome_json(outcome: Outcome, charge: ChargeRow | None) -> dict[str, Any]:
    last_check = None
    if outcome.last_verdict is not None:
        condition, values = outcome.contract.condition, outcome.values
        last_check = {
            "verdict": condition.verdict(values).value,
            "explanation": condition.explanation_text(values),
        }
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
        "charge": None
        if charge is None
        else {
            "amount": format_amount(charge.amount, charge.currency),
            "currency": charge.currency,
            "period": charge.period,
        },
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


CUSTOMER_COLUMNS = "id, name, email, billing_day, created_at"


def customer_json(row: tuple[Any, ...]) -> dict[str, Any]:
    ident, name, email, billing_day, created_at = row
    return {
        "id": ident,
        "name": name,
        "email": email,
        "billing_day": int(billing_day),
        "created_at": from_us(int(created_at)),
    }
