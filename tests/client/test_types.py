"""The SDK's answer types are written out by hand (the client must not import the server):
hold their field names to the schemas the OpenAPI document is built from."""

from __future__ import annotations

from typing import Any, get_args

import msgspec
import pytest

from earnest.api import schemas
from earnest.client import _types as types
from earnest.service.webhooks import EVENT_TYPES

PAIRS: list[tuple[Any, type[msgspec.Struct]]] = [
    (types.Price, schemas.Price),
    (types.Check, schemas.Check),
    (types.LedgerEntry, schemas.LedgerEntry),
    (types.Outcome, schemas.Outcome),
    (types.Signal, schemas.SignalOut),
    (types.SignalResult, schemas.SignalAnswer),
    (types.ItemError, schemas.BatchError),
    (types.BatchItem, schemas.BatchItem),
    (types.BatchResult, schemas.BatchAnswer),
    (types.HistoryEntry, schemas.HistoryEntry),
    (types.ContractCheck, schemas.Validated),
    (types.ActivityEntry, schemas.ActivityEntry),
    (types.Period, schemas.Period),
    (types.BillingPeriod, schemas.BillingPeriod),
    (types.LedgerRecord, schemas.LedgerRecord),
    (types.ChargeLine, schemas.ChargeLine),
    (types.CreditLine, schemas.CreditLine),
    (types.InvoiceSummary, schemas.InvoiceSummary),
    (types.Invoice, schemas.Invoice),
    (types.AuditItem, schemas.AuditItem),
    (types.Dispute, schemas.Dispute),
    (types.Settings, schemas.Settings),
    (types.PortalLink, schemas.PortalLink),
    (types.NewPortalLink, schemas.NewPortalLink),
    (types.Webhook, schemas.Webhook),
    (types.NewWebhook, schemas.NewWebhook),
    (types.WebhookChanges, schemas.WebhookUpdate),
    (types.DeliveryTry, schemas.DeliveryTry),
    (types.Delivery, schemas.Delivery),
    (types.BacktestReport, schemas.BacktestReport),
    (types.BacktestDifference, schemas.BacktestDifference),
    (types.BacktestSide, schemas.BacktestSide),
    (types.BacktestManual, schemas.BacktestManual),
    (types.RevenueChange, schemas.RevenueChange),
]


@pytest.mark.parametrize(("client", "server"), PAIRS, ids=lambda t: t.__name__)
def test_client_types_name_the_fields_the_server_answers_with(
    client: Any, server: type[msgspec.Struct]
) -> None:
    named = client.__required_keys__ | client.__optional_keys__
    tag = server.__struct_config__.tag_field  # a tagged union's member: its tag is a field
    assert named == set(server.__struct_fields__) | ({tag} if tag else set())


def test_the_event_types_are_the_servers() -> None:
    assert set(get_args(types.EventType)) == set(EVENT_TYPES)
    assert set(get_args(schemas.EventType)) == set(EVENT_TYPES)
