"""The SDK's billing calls against the real server (its real clock): periods, the ledger,
invoices as JSON, CSV and PDF, an invoice's audit, disputes and settings, sync and async."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal
from urllib.parse import quote

import httpx
import pytest

from earnest.client import (
    AsyncClient,
    Client,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from tests.client.conftest import Server


def confirmed(server: Server, client: Client, contract: str, customer: str) -> str:
    """A new outcome of ``customer``, confirmed by hand (the SDK does not settle)."""
    ref = f"acme/api#{uuid.uuid4().hex[:8]}"
    client.open(contract, ref, customer)
    response = httpx.post(
        f"{server.url}/v1/outcomes/{contract}/{quote(ref, safe='')}/settle",
        json={"decision": "confirm", "reason": "by hand"},
        headers={"Authorization": f"Bearer {server.keys['admin']}"},
    )
    assert response.status_code == 200, response.text
    return ref


def test_billing_calls(server: Server, client: Client, landing: str) -> None:
    customer = f"cust_{uuid.uuid4().hex[:8]}"
    first = confirmed(server, client, landing, customer)
    second = confirmed(server, client, landing, customer)

    periods = client.periods(customer)
    assert [p["state"] for p in periods][-2:] == ["open", "upcoming"]
    assert periods[-2]["end"] == periods[-1]["start"]

    charges = list(client.ledger(customer=customer, limit=1))  # every page followed
    assert [(c["kind"], c["outcome"], c["amount"]) for c in charges] == [
        ("charge", second, "0.99"), ("charge", first, "0.99"),
    ]  # fmt: skip

    [summary] = client.invoices(customer=customer, status="draft")
    assert (summary["total"], summary["number"], "lines" in summary) == ("1.98", None, False)
    invoice = client.invoice(summary["id"])
    assert [(line["kind"], line["amount"]) for line in invoice["lines"]] == [("charge", "1.98")]
    assert "1.98" in client.invoice_csv(summary["id"])
    assert client.invoice_pdf(summary["id"]).startswith(b"%PDF")
    audit = list(client.invoice_audit(summary["id"], limit=1))
    assert [item["outcome"] for item in audit] == [first, second]
    assert audit[0]["history"][0]["kind"] == "opened"
    assert audit[0]["ledger"][0]["invoice"] == summary["id"]

    opened = client.open_dispute(landing, first, "reopened by the customer")
    assert (opened["state"], opened["opened_by"]) == ("open", server.keys["admin"].split("_")[1])
    with pytest.raises(ConflictError) as twice:
        client.open_dispute(landing, first, "again")
    assert twice.value.code == "dispute_open"
    with pytest.raises(ValidationError) as zero:
        client.resolve_dispute(landing, first, "credit", "none", amount="0")
    assert zero.value.field == "amount"
    with pytest.raises(TypeError):
        client.resolve_dispute(landing, first, "credit", "float", amount=0.25)  # type: ignore[arg-type]
    resolved = client.resolve_dispute(landing, first, "credit", "partly", amount=Decimal("0.250"))
    assert resolved["credit"] == {"amount": "0.25", "currency": "USD"}
    assert [d["outcome"] for d in client.disputes(customer=customer)] == [first]
    assert list(client.disputes(customer=customer, state="open")) == []
    day = charges[0]["period"]["start"][:10]
    entries = list(client.ledger(customer=customer, period=day))
    assert [e["kind"] for e in entries] == ["credit", "charge", "charge"]
    assert client.invoice(summary["id"])["total"] == "1.73"

    with pytest.raises(NotFoundError) as missing:
        client.invoice("inv_nope")
    assert missing.value.code == "unknown_invoice"
    with pytest.raises(NotFoundError):
        client.invoice_pdf("inv_nope")
    with pytest.raises(NotFoundError):
        client.periods(f"{customer}_nobody")
    with pytest.raises(ValidationError) as kind:
        list(client.ledger(kind="refund"))
    assert kind.value.field == "kind"


def test_settings_calls(server: Server, client: Client) -> None:
    before = client.settings()
    try:
        changed = client.put_settings(seller_name="SDK Seller Ltd", invoice_grace="90m")
        assert (changed["seller_name"], changed["invoice_grace"]) == ("SDK Seller Ltd", "1h30m")
        assert client.settings() == changed
        with pytest.raises(ValidationError) as bad:
            client.put_settings(invoice_grace="soon")
        assert (bad.value.code, bad.value.field) == ("invalid_setting", "invoice_grace")
        with server.client("read") as reader, pytest.raises(PermissionDeniedError):
            reader.settings()
    finally:
        client.put_settings(**before)
    assert client.settings() == before


def test_async_billing_calls(server: Server, client: Client, landing: str) -> None:
    customer = f"cust_{uuid.uuid4().hex[:8]}"
    ref = confirmed(server, client, landing, customer)

    async def run() -> None:
        async with AsyncClient(server.url, server.keys["admin"]) as sdk:
            assert (await sdk.periods(customer))[-1]["state"] == "upcoming"
            [charge] = [e async for e in sdk.ledger(customer=customer)]
            assert charge["outcome"] == ref
            [summary] = [i async for i in sdk.invoices(customer=customer, limit=1)]
            [line] = (await sdk.invoice(summary["id"]))["lines"]
            assert line["kind"] == "charge"
            assert line["quantity"] == 1
            assert "0.99" in await sdk.invoice_csv(summary["id"])
            assert (await sdk.invoice_pdf(summary["id"])).startswith(b"%PDF")
            [item] = [i async for i in sdk.invoice_audit(summary["id"])]
            assert item["outcome"] == ref
            assert (await sdk.open_dispute(landing, ref, "why"))["state"] == "open"
            resolved = await sdk.resolve_dispute(landing, ref, "credit", "all of it")
            assert resolved["credit"] == {"amount": "0.99", "currency": "USD"}
            listed = [d async for d in sdk.disputes(customer=customer, state="resolved")]
            assert [d["id"] for d in listed] == [resolved["id"]]
            settings = await sdk.settings()
            assert await sdk.put_settings() == settings

    asyncio.run(run())
