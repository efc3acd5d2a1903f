"""Billing over HTTP: a customer's periods, the ledger, invoices (JSON, CSV, PDF, audit) and
the settings, with every bad input refused by name and storing nothing."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

import pypdf
import pytest

from tests.api.billing import close_periods, confirm, key_id, outcome_path, snapshot
from tests.api.conftest import Api

NOVEMBER = {"start": "2026-11-01T00:00:00Z", "end": "2026-12-01T00:00:00Z"}
DECEMBER = {"start": "2026-12-01T00:00:00Z", "end": "2027-01-01T00:00:00Z"}
DEC_2 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def every(api: Api, path: str, limit: int) -> list[dict[str, Any]]:
    """Every item of a list, following its cursors ``limit`` at a time."""
    items: list[dict[str, Any]] = []
    cursor = None
    separator = "&" if "?" in path else "?"
    while True:
        query = f"{separator}limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        response = api.get(path + query, scope="read")
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= limit
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


@pytest.fixture
def billed(api_any: Api) -> Api:
    """acme: a1 and a2 charged in November, a1 credited 0.50; globex: g1 charged in November;
    acme: a3 charged on 2 December (the November period still open then)."""
    api = api_any
    api.landing()
    confirm(api, "a1")
    api.clock.advance(seconds=1)
    confirm(api, "g1", customer="globex")
    api.clock.advance(seconds=1)
    confirm(api, "a2")
    api.clock.advance(seconds=1)
    assert api.post(outcome_path("a1", "disputes"), {"reason": "broke again"}).status_code == 201
    resolved = api.post(
        outcome_path("a1", "disputes/resolve"),
        {"resolution": "credit", "amount": "0.50", "note": "customer reopened"},
    )
    assert resolved.status_code == 200, resolved.text
    api.clock.now = DEC_2
    confirm(api, "a3")
    return api


# Customers: address, tax id, periods ----------------------------------------------------


def test_periods_past_current_and_next(api_any: Api) -> None:
    api = api_any
    api.put("/v1/customers/acme", {"name": "Acme"})
    periods = api.get("/v1/customers/acme/periods", scope="read")
    assert periods.status_code == 200
    assert periods.json() == {
        "items": [{**NOVEMBER, "state": "open"}, {**DECEMBER, "state": "upcoming"}]
    }
    # SPEC 6: billing day 1 changed to 25 on 2026-11-21 (here the 23rd): 12-01 -> 12-25.
    api.put("/v1/customers/acme", {"billing_day": 25})
    api.clock.now = DEC_2
    close_periods(api, DEC_2)
    assert api.get("/v1/customers/acme/periods", scope="read").json()["items"] == [
        {**NOVEMBER, "state": "closed"},
        {"start": "2026-12-01T00:00:00Z", "end": "2026-12-25T00:00:00Z", "state": "open"},
        {"start": "2026-12-25T00:00:00Z", "end": "2027-01-25T00:00:00Z", "state": "upcoming"},
    ]


def test_periods_of_an_unknown_or_slashed_customer(api: Api) -> None:
    missing = api.get("/v1/customers/nobody/periods", scope="read")
    assert missing.status_code == 404
    assert (missing.json()["error"]["code"], missing.json()["error"]["field"]) == (
        "unknown_customer", "id",
    )  # fmt: skip
    assert api.put("/v1/customers/acme%2Feu", {"tax_id": "EU123"}).status_code == 201
    slashed = api.get("/v1/customers/acme%2Feu/periods", scope="read")
    assert slashed.status_code == 200
    assert len(slashed.json()["items"]) == 2
    assert api.get("/v1/customers/acme%2Feu/invoices", scope="read").status_code == 404
    assert api.get("/v1/customers/acme%2Feu/periods/x", scope="read").status_code == 404
    assert api.put("/v1/customers/acme%2Feu/periods", {"name": "x"}).status_code == 404


# The ledger --------------------------------------------------------------------------------


def test_ledger_newest_first_with_filters_and_pages(billed: Api) -> None:
    api = billed
    entries = every(api, "/v1/ledger", limit=2)
    assert [(e["kind"], e["outcome"], e["customer"], e["amount"]) for e in entries] == [
        ("charge", "a3", "acme", "0.99"),
        ("credit", "a1", "acme", "0.50"),
        ("charge", "a2", "acme", "0.99"),
        ("charge", "g1", "globex", "0.99"),
        ("charge", "a1", "acme", "0.99"),
    ]
    credit = entries[1]
    assert credit == {
        "id": credit["id"],
        "kind": "credit",
        "contract": "landing",
        "outcome": "a1",
        "customer": "acme",
        "amount": "0.50",
        "currency": "USD",
        "period": NOVEMBER,
        "invoice": entries[2]["invoice"],
        "booked_at": "2026-11-23T10:00:03Z",
        "reason": "dispute: customer reopened",
    }
    assert entries[0]["period"] == DECEMBER
    assert entries[0]["invoice"] != credit["invoice"]
    assert entries[0]["reason"] is None

    def outcomes(query: str) -> list[str]:
        return [e["outcome"] for e in every(api, "/v1/ledger?" + query, limit=50)]

    assert outcomes("kind=credit") == ["a1"]
    assert outcomes("kind=charge&customer=acme") == ["a3", "a2", "a1"]
    assert outcomes("customer=globex") == ["g1"]
    assert outcomes("customer=nobody") == []
    assert outcomes("period=2026-11-01") == ["a1", "a2", "g1", "a1"]
    assert outcomes("period=2026-11-30") == ["a1", "a2", "g1", "a1"]
    assert outcomes("period=2026-12-01&customer=acme") == ["a3"]
    assert outcomes("period=2026-10-31") == []


@pytest.mark.parametrize(
    ("query", "code", "field"),
    [
        ("kind=refund", "invalid_filter", "kind"),
        ("kind=", "invalid_filter", "kind"),
        ("period=2026-13-01", "invalid_filter", "period"),
        ("period=2026-11-1", "invalid_filter", "period"),
        ("period=yesterday", "invalid_filter", "period"),
        ("period=2026-11-23T00:00:00Z", "invalid_filter", "period"),
        ("customer=" + "x" * 256, "invalid_filter", "customer"),
        ("customer=", "invalid_filter", "customer"),
        ("customer=a%00b", "invalid_filter", "customer"),
        ("limit=0", "invalid_limit", "limit"),
        ("limit=1001", "invalid_limit", "limit"),
        ("cursor=garbage", "invalid_cursor", "cursor"),
    ],
)
def test_ledger_refuses_bad_filters_by_name(api: Api, query: str, code: str, field: str) -> None:
    response = api.get(f"/v1/ledger?{query}", scope="read")
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["code"], error["field"]) == (code, field)


def test_a_cursor_of_another_list_is_refused(billed: Api) -> None:
    api = billed
    cursor = api.get("/v1/disputes?limit=1", scope="read").json()["next_cursor"]
    assert cursor is None  # one dispute: no next page; take an invoice list's cursor instead
    cursor = api.get("/v1/invoices?limit=1", scope="read").json()["next_cursor"]
    refused = api.get(f"/v1/ledger?cursor={cursor}", scope="read")
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "cursor"


# Invoices ---------------------------------------------------------------------------------


def test_invoice_list_get_and_filters(billed: Api) -> None:
    api = billed
    listed = every(api, "/v1/invoices", limit=1)
    assert [(i["customer"], i["period"], i["status"]) for i in listed] == [
        ("acme", DECEMBER, "draft"),
        ("globex", NOVEMBER, "draft"),
        ("acme", NOVEMBER, "draft"),
    ]
    acme_november = listed[2]
    assert acme_november == {
        "id": acme_november["id"],
        "number": None,
        "status": "draft",
        "customer": "acme",
        "currency": "USD",
        "period": NOVEMBER,
        "subtotal": "1.98",
        "credits": "0.50",
        "total": "1.48",
        "finalized_at": None,
    }
    one = api.get(f"/v1/invoices/{acme_november['id']}", scope="read")
    assert one.status_code == 200
    assert one.json() == {
        **acme_november,
        "lines": [
            {"kind": "charge", "description": "landing (v1)", "contract": "landing",
             "contract_version": 1, "quantity": 2, "unit_price": "0.99", "amount": "1.98"},
            {"kind": "credit", "outcome": "a1", "contract": "landing", "amount": "-0.50",
             "reason": "dispute: customer reopened"},
        ],
    }  # fmt: skip

    def customers(query: str) -> list[tuple[str, str]]:
        found = every(api, "/v1/invoices?" + query, limit=50)
        return [(i["customer"], i["period"]["start"][:10]) for i in found]

    assert customers("customer=acme") == [("acme", "2026-12-01"), ("acme", "2026-11-01")]
    assert customers("period=2026-11-15") == [("globex", "2026-11-01"), ("acme", "2026-11-01")]
    assert customers("period=2026-12-01&customer=acme") == [("acme", "2026-12-01")]
    assert customers("status=finalized") == []

    close_periods(api, DEC_2)
    finalized = every(api, "/v1/invoices?status=finalized", limit=50)
    assert sorted((i["customer"], i["number"]) for i in finalized) == [
        ("acme", "EARN-000001"), ("globex", "EARN-000002"),
    ]  # fmt: skip
    frozen = api.get(f"/v1/invoices/{acme_november['id']}", scope="read").json()
    assert frozen["status"] == "finalized"
    assert frozen["finalized_at"] == "2026-12-01T00:05:00Z"
    assert customers("status=draft") == [("acme", "2026-12-01")]


@pytest.mark.parametrize(
    ("query", "field"),
    [("status=paid", "status"), ("period=2026-02-30", "period"), ("customer=" + "c" * 300,
                                                                 "customer")],
)  # fmt: skip
def test_invoice_list_refuses_bad_filters_by_name(api: Api, query: str, field: str) -> None:
    response = api.get(f"/v1/invoices?{query}", scope="read")
    assert response.status_code == 422
    assert (response.json()["error"]["code"], response.json()["error"]["field"]) == (
        "invalid_filter", field,
    )  # fmt: skip


@pytest.mark.parametrize("suffix", ["", "/csv", "/pdf", "/audit"])
def test_unknown_invoice(api: Api, suffix: str) -> None:
    for ident in ("inv_000000000000000000000000", "nope", "x" * 2000):
        response = api.get(f"/v1/invoices/{ident}{suffix}", scope="read")
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "unknown_invoice"
        assert response.json()["error"]["field"] == "id"
    assert api.get(f"/v1/invoices/inv_1{suffix}/x", scope="read").status_code == 404


def test_csv_and_pdf(billed: Api) -> None:
    api = billed
    api.put("/v1/settings", {"seller_name": "Example Agents Ltd", "seller_tax_id": "GB123"})
    api.put("/v1/customers/acme", {"name": "Acme Inc.", "address": "1 Road Runner Way",
                                   "tax_id": "US-987"})  # fmt: skip
    [invoice] = every(api, "/v1/invoices?customer=acme&period=2026-11-01", limit=50)
    csv = api.get(f"/v1/invoices/{invoice['id']}/csv", scope="read")
    assert csv.status_code == 200
    assert csv.headers["content-type"].startswith("text/csv")
    assert f'filename="{invoice["id"]}.csv"' in csv.headers["content-disposition"]
    assert csv.text.splitlines()[0].startswith("kind,")
    assert "1.98" in csv.text
    assert "-0.50" in csv.text
    assert "dispute: customer reopened" in csv.text

    close_periods(api, DEC_2)
    pdf = api.get(f"/v1/invoices/{invoice['id']}/pdf", scope="read")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert 'filename="EARN-000001.pdf"' in pdf.headers["content-disposition"]
    assert pdf.content.startswith(b"%PDF")
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf.content)).pages)
    for shown in ("EARN-000001", "Example Agents Ltd", "GB123", "Acme Inc.", "1 Road Runner Way",
                  "US-987"):  # fmt: skip
        assert shown in text, shown


def test_audit_every_outcome_behind_an_invoice_with_its_history(billed: Api) -> None:
    api = billed
    [invoice] = every(api, "/v1/invoices?customer=acme&period=2026-11-01", limit=50)
    items = every(api, f"/v1/invoices/{invoice['id']}/audit", limit=1)
    assert [(i["contract"], i["outcome"], i["customer"]) for i in items] == [
        ("landing", "a1", "acme"), ("landing", "a2", "acme"),
    ]  # fmt: skip
    a1 = items[0]
    assert [(e["kind"], e["amount"], e["invoice"]) for e in a1["ledger"]] == [
        ("charge", "0.99", invoice["id"]), ("credit", "0.50", invoice["id"]),
    ]  # fmt: skip
    history = api.get(outcome_path("a1", "history"), scope="read").json()["entries"]
    assert a1["history"] == history
    kinds = [e["kind"] for e in a1["history"]]
    assert kinds[0] == "opened"
    assert {"charge", "dispute", "credit"} <= set(kinds)
    # The December invoice holds a3 only; g1 is on globex's.
    [december] = every(api, "/v1/invoices?customer=acme&period=2026-12-01", limit=50)
    audit = every(api, f"/v1/invoices/{december['id']}/audit", limit=50)
    assert [i["outcome"] for i in audit] == ["a3"]
    # Credits on a later invoice: the outcome once, at its first entry there.
    close_periods(api, DEC_2)
    for amount in ("0.10", "0.20"):
        assert api.post(outcome_path("a2", "disputes"), {"reason": "slow"}).status_code == 201
        body = {"resolution": "credit", "amount": amount, "note": f"credit {amount}"}
        assert api.post(outcome_path("a2", "disputes/resolve"), body).status_code == 200
    for limit in (1, 50):
        audit = every(api, f"/v1/invoices/{december['id']}/audit", limit=limit)
        assert [i["outcome"] for i in audit] == ["a3", "a2"]
        assert [(e["kind"], e["amount"]) for e in audit[1]["ledger"]] == [
            ("credit", "0.10"), ("credit", "0.20"),
        ]  # fmt: skip
    # The finalized November invoice has the same outcomes and entries (a2's history grew).
    again = every(api, f"/v1/invoices/{invoice['id']}/audit", limit=50)
    assert [(i["outcome"], i["ledger"]) for i in again] == [
        (i["outcome"], i["ledger"]) for i in items
    ]
    assert len(again[1]["history"]) > len(items[1]["history"])
    refused = api.get(f"/v1/invoices/{invoice['id']}/audit?limit=0", scope="read")
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "limit"


# Settings ---------------------------------------------------------------------------------

DEFAULTS = {
    "seller_name": None,
    "seller_address": None,
    "seller_tax_id": None,
    "invoice_prefix": "EARN",
    "invoice_grace": "5m",
    "public_base_url": None,
}


def test_settings_get_put_and_the_activity_log(api_any: Api) -> None:
    api = api_any
    assert api.get("/v1/settings").json() == DEFAULTS
    changed = api.put(
        "/v1/settings",
        {"seller_name": " Example Agents Ltd ", "invoice_grace": "90m", "invoice_prefix": "EXA",
         "public_base_url": "https://billing.example.com/"},
    )  # fmt: skip
    assert changed.status_code == 200
    after = {**DEFAULTS, "seller_name": "Example Agents Ltd", "invoice_grace": "1h30m",
             "invoice_prefix": "EXA", "public_base_url": "https://billing.example.com"}  # fmt: skip
    assert changed.json() == after
    assert api.get("/v1/settings").json() == after
    logged = api.get("/v1/activity").json()["items"][0]
    assert (logged["action"], logged["actor"], logged["subject"]) == (
        "settings.updated", key_id(api), "settings",
    )  # fmt: skip
    assert logged["before"]["invoice_prefix"] == "EARN"
    assert logged["after"]["invoice_prefix"] == "EXA"
    cleared = api.put("/v1/settings", {"public_base_url": None})
    assert cleared.json()["public_base_url"] is None
    assert api.put("/v1/settings", {}).json() == {**after, "public_base_url": None}


def test_a_new_prefix_numbers_the_next_invoices(api: Api) -> None:
    api.landing()
    confirm(api, "a1")
    assert api.put("/v1/settings", {"invoice_prefix": "ACME"}).status_code == 200
    close_periods(api, DEC_2)
    [invoice] = api.get("/v1/invoices", scope="read").json()["items"]
    assert invoice["number"] == "ACME-000001"


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"nope": 1}, "unknown_field", "nope"),
        ({"invoice_prefix": "-x"}, "invalid_setting", "invoice_prefix"),
        ({"invoice_prefix": "x" * 21}, "invalid_setting", "invoice_prefix"),
        ({"invoice_prefix": None}, "invalid_setting", "invoice_prefix"),
        ({"invoice_grace": "8d"}, "invalid_setting", "invoice_grace"),
        ({"invoice_grace": "soon"}, "invalid_setting", "invoice_grace"),
        ({"invoice_grace": 300}, "invalid_setting", "invoice_grace"),
        ({"public_base_url": "ftp://example.com"}, "invalid_setting", "public_base_url"),
        ({"public_base_url": "https://example.com/?q=1"}, "invalid_setting", "public_base_url"),
        ({"seller_name": 5}, "invalid_setting", "seller_name"),
        ({"seller_address": "x" * 1001}, "invalid_setting", "seller_address"),
        ({"seller_tax_id": " " * 1001}, "invalid_setting", "seller_tax_id"),
        ({"seller_name": "a\x00b"}, "invalid_field", "seller_name"),
        ({"seller_name": "ok", "invoice_grace": "never"}, "invalid_setting", "invoice_grace"),
    ],
)
def test_bad_settings_are_refused_by_name_and_change_nothing(
    api: Api, body: dict[str, Any], code: str, field: str
) -> None:
    before = snapshot(api)
    response = api.put("/v1/settings", body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["code"], error["field"]) == (code, field)
    assert api.get("/v1/settings").json() == DEFAULTS
    assert snapshot(api) == before


def test_settings_bodies_that_are_not_objects(api: Api) -> None:
    assert api.put("/v1/settings", ["seller_name"]).json()["error"]["code"] == "invalid_body"
    malformed = api.client.put(
        "/v1/settings", content=b"{", headers={**api.headers(), "Content-Type": "application/json"}
    )
    assert malformed.status_code == 400
    assert api.get("/v1/settings").json() == DEFAULTS
