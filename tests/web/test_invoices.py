"""The invoices pages through HTTP: the list with its filters (bad values refused naming the
field) page by page; a finalized invoice with a partial credit and the next period's draft
with a later credit, figure by figure; a charge line's outcomes page by page; the PDF and
CSV as attachments; unknown ids answered with a 404 page; planted HTML shown as text."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from earnest.contract import load_contract
from earnest.engine import Scheduled
from earnest.service.activity import CLI
from earnest.service.ingest import ingest
from earnest.service.invoices import InvoiceRow, Invoices, UnknownInvoice, UnknownLine
from earnest.service.outcomes import Outcomes
from earnest.store import Database
from earnest.store.contracts import save_contract
from earnest.web.invoices import CHARGES_PAGE, INVOICES_PAGE
from tests.api.conftest import Clock
from tests.contracts import LANDING
from tests.web.access_invoices import CONTRACT, charge, close_periods, credit
from tests.web.conftest import VIEWER, Web

DECEMBER = datetime(2026, 12, 1, 0, 10, tzinfo=UTC)
PLANTED = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def two_periods(web: Web) -> tuple[InvoiceRow, InvoiceRow]:
    """acme's November invoice, finalized with a partial credit (2 × $0.99 − $0.40), and
    its December draft: a charge and a later credit for a November charge."""
    app = web.app
    app.customers.put("acme", {"name": "Acme Corp", "address": "1 Road\nTown"}, actor=CLI)
    app.settings.put({"seller_name": "Vendor Ltd", "seller_tax_id": "VAT-9"}, actor=CLI)
    charge(app, "INV-1", "acme")
    charge(app, "INV-2", "acme")
    credit(app, "INV-2", "0.40", "Half the users affected")
    web.clock.now = DECEMBER
    close_periods(app, DECEMBER)
    charge(app, "INV-3", "acme")
    credit(app, "INV-1", "0.25", "Answered a day late")
    draft, finalized = app.invoices.list(customer="acme", limit=5).items
    assert (draft.status, finalized.number) == ("draft", "EARN-000001")
    return finalized, draft


def listed(page: str) -> list[str]:
    return re.findall(r'<td><a href="/invoices/(inv_[0-9a-f]+)">', page)


def test_the_list_shows_each_invoice_and_filters_them(web: Web) -> None:
    november, december = two_periods(web)
    web.session(VIEWER)
    page = web.get("/invoices")
    assert page.status_code == 200
    assert listed(page.text) == [december.id, november.id]
    text = text_of(page.text)
    assert (
        "EARN-000001 acme 1 Nov 2026 – 30 Nov 2026 USD $1.58 finalized 1 Dec 2026, 00:05:00 UTC"
        in text
    )
    assert "Draft acme 1 Dec 2026 – 31 Dec 2026 USD $0.74 draft not yet" in text
    assert listed(web.get("/invoices?status=draft").text) == [december.id]
    assert listed(web.get("/invoices?status=finalized").text) == [november.id]
    assert listed(web.get("/invoices?period=2026-11-30").text) == [november.id]
    assert listed(web.get("/invoices?period=2026-12-01&status=").text) == [december.id]
    assert listed(web.get("/invoices?customer=acme&status=draft").text) == [december.id]
    none = web.get("/invoices?customer=globex")
    assert none.status_code == 200
    assert listed(none.text) == []
    assert "No invoice matches these filters." in none.text
    assert 'value="globex"' in none.text  # the filter form keeps what was asked


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("status=paid", "status", "status is one of draft, finalized; got 'paid'"),
        ("period=2026-13-01", "period", "period is a date YYYY-MM-DD, got '2026-13-01'"),
        ("period=yesterday", "period", "period is a date YYYY-MM-DD"),
        ("period=20261101", "period", "period is a date YYYY-MM-DD"),
        ("customer=" + "x" * 256, "customer", "customer is 1 to 255 characters"),
        ("customer=a%00b", "customer", "without U+0000"),
    ],
)
def test_bad_filters_are_refused_next_to_their_field(
    web: Web, query: str, field: str, message: str
) -> None:
    two_periods(web)
    web.session(VIEWER)
    response = web.get(f"/invoices?{query}")
    assert response.status_code == 422
    error = re.search(rf'<p class="error" id="{field}-error">([^<]*)</p>', response.text)
    assert error is not None, response.text
    assert message in html.unescape(error.group(1))
    assert listed(response.text) == []


@pytest.mark.parametrize("after", ["x", "12", "12:", ":inv_1", "-1:inv_1", "9" * 30 + ":i"])
def test_a_bad_page_position_is_refused(web: Web, after: str) -> None:
    web.session(VIEWER)
    response = web.get(f"/invoices?after={after}")
    assert response.status_code == 422
    assert "after is a position this list handed out" in html.unescape(response.text)


def test_the_list_pages_keeping_its_filters(web: Web) -> None:
    customers = [f"p{n:02d}" for n in range(INVOICES_PAGE + 2)]
    for n, customer in enumerate(customers):
        web.clock.advance(seconds=1)  # created one after another: newest first
        charge(web.app, f"INV-P{n}", customer)
    web.session(VIEWER)
    first = web.get("/invoices?status=draft")
    rows = listed(first.text)
    assert len(rows) == INVOICES_PAGE
    found = re.search(r'<a href="(/invoices\?after=[^"]+)" hx-get', first.text)
    assert found is not None
    nxt = html.unescape(found.group(1))
    assert "status=draft" in nxt
    second = web.get(nxt)
    assert second.status_code == 200
    more = listed(second.text)
    assert len(more) == 2
    assert not set(more) & set(rows)
    everything = web.app.invoices.list(limit=100).items
    assert rows + more == [row.id for row in everything]
    assert "Older invoices" not in second.text
    assert 'href="/invoices?status=draft">Newest invoices' in second.text


def test_a_finalized_invoice_with_a_partial_credit(web: Web) -> None:
    november, _ = two_periods(web)
    web.session(VIEWER)
    page = web.get(f"/invoices/{november.id}")
    assert page.status_code == 200
    text = text_of(page.text)
    assert "Invoice EARN-000001" in text
    assert "Draft." not in text
    assert "Vendor Ltd" in text
    assert "VAT-9" in text
    assert "Acme Corp" in text
    assert "1 Road" in text
    assert "Period 1 Nov 2026 – 30 Nov 2026" in text
    assert f"{CONTRACT} (v1) {CONTRACT} 1 2 $0.99 $1.98 The 2 outcomes behind it" in text
    assert "INV-2 inv_landing dispute: Half the users affected" in text
    assert "-$0.40" in text
    assert "Subtotal $1.98 Credits -$0.40 Total $1.58" in text
    assert f'href="/invoices/{november.id}/lines/{CONTRACT}/1"' in page.text
    assert f'href="/outcomes/{CONTRACT}/INV-2"' in page.text
    assert f'href="/invoices/{november.id}/pdf"' in page.text
    assert f'href="/invoices/{november.id}/csv"' in page.text
    assert 'href="/customers/acme"' in page.text


def test_a_draft_is_marked_and_shows_a_later_credit(web: Web) -> None:
    _, december = two_periods(web)
    web.session(VIEWER)
    page = web.get(f"/invoices/{december.id}")
    text = text_of(page.text)
    assert "Draft invoice" in text
    assert "Draft. Its period is still open" in text
    assert "none until finalized" in text
    assert "The 1 outcome behind it" in text
    assert "INV-1 inv_landing dispute: Answered a day late" in text
    assert "Subtotal $0.99 Credits -$0.25 Total so far $0.74" in text


def test_a_line_opens_the_outcomes_behind_it(web: Web) -> None:
    november, _ = two_periods(web)
    web.session(VIEWER)
    page = web.get(f"/invoices/{november.id}/lines/{CONTRACT}/1")
    assert page.status_code == 200
    text = text_of(page.text)
    assert "Outcomes behind inv_landing (v1)" in text
    assert "Invoice EARN-000001 of acme" in text
    assert re.search(r"INV-1 23 Nov 2026, 10:00:0\d UTC \$0.99 confirmed -\$0.25", text), text
    assert re.search(r"INV-2 23 Nov 2026, 10:00:0\d UTC \$0.99 confirmed -\$0.40", text), text
    assert f'href="/outcomes/{CONTRACT}/INV-1"' in page.text
    assert f'href="/outcomes?contract={CONTRACT}&amp;customer=acme"' in page.text


def test_a_long_line_pages_its_charges(web: Web) -> None:
    for n in range(CHARGES_PAGE + 1):
        charge(web.app, f"INV-L{n}", "acme")
    [invoice] = web.app.invoices.list(customer="acme", limit=1).items
    web.session(VIEWER)
    here = f"/invoices/{invoice.id}/lines/{CONTRACT}/1"
    first = web.get(here).text
    refs = re.findall(r"<code>(INV-L\d+)</code>", first)
    assert refs == [f"INV-L{n}" for n in range(CHARGES_PAGE)]
    found = re.search(r'<a href="([^"]+\?after=\d+)" hx-get', first)
    assert found is not None
    second = web.get(html.unescape(found.group(1))).text
    assert re.findall(r"<code>(INV-L\d+)</code>", second) == [f"INV-L{CHARGES_PAGE}"]
    assert "More charges" not in second
    assert web.get(f"{here}?after=x").status_code == 422


def test_the_pdf_and_csv_are_attachments_of_the_apis_documents(web: Web) -> None:
    november, december = two_periods(web)
    web.session(VIEWER)
    pdf = web.get(f"/invoices/{november.id}/pdf")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"] == 'attachment; filename="EARN-000001.pdf"'
    assert pdf.content.startswith(b"%PDF")
    sheet = web.get(f"/invoices/{november.id}/csv")
    assert sheet.status_code == 200
    assert sheet.headers["content-type"] == "text/csv; charset=utf-8"
    assert sheet.headers["content-disposition"] == 'attachment; filename="EARN-000001.csv"'
    rows = list(csv.DictReader(io.StringIO(sheet.text)))
    assert [(r["kind"], r["amount"]) for r in rows] == [
        ("charge", "1.98"),
        ("credit", "-0.40"),
        ("subtotal", "1.98"),
        ("credits", "-0.40"),
        ("total", "1.58"),
    ]
    assert sum(Decimal(r["amount"]) for r in rows if r["kind"] in ("charge", "credit")) == Decimal(
        "1.58"
    )
    draft = web.get(f"/invoices/{december.id}/pdf")
    assert draft.headers["content-disposition"] == f'attachment; filename="{december.id}.pdf"'
    assert draft.content.startswith(b"%PDF")


@pytest.mark.parametrize(
    "path",
    [
        "/invoices/inv_000000000000000000000000",
        "/invoices/inv_000000000000000000000000/pdf",
        "/invoices/inv_000000000000000000000000/csv",
        "/invoices/inv_000000000000000000000000/lines/inv_landing/1",
        "/invoices/{id}/lines/inv_landing/2",
        "/invoices/{id}/lines/nothing/1",
        "/invoices/{id}/lines/inv_landing/abc",
        "/invoices/{id}/lines/inv_landing/0",
        "/invoices/{id}/lines/inv_landing/99999999999999999999",
        "/invoices/a%00b",
        "/invoices/{id}/nothing",
    ],
)
def test_unknown_invoices_and_lines_are_a_404_page(web: Web, path: str) -> None:
    november, _ = two_periods(web)
    web.session(VIEWER)
    response = web.get(path.replace("{id}", november.id))
    assert response.status_code == 404, response.text
    assert "text/html" in response.headers["content-type"]
    assert "Not found" in response.text


def test_planted_html_in_a_credit_reason_is_shown_as_text(web: Web) -> None:
    charge(web.app, "INV-X", "acme")
    credit(web.app, "INV-X", "0.10", PLANTED)
    [invoice] = web.app.invoices.list(customer="acme", limit=1).items
    web.session(VIEWER)
    page = web.get(f"/invoices/{invoice.id}").text
    assert "<script>alert" not in page
    assert "<img src=x" not in page
    assert PLANTED in text_of(page)


# The use case behind a line's page, on both backends --------------------------------------


def test_a_lines_charges_on_each_backend(db: Database) -> None:
    clock = Clock()
    with db.write() as tx:
        save_contract(tx, load_contract(LANDING, key="one"), clock())
        save_contract(tx, load_contract(LANDING.replace("0.99", "2.50"), key="two"), clock())
    items = [
        {"contract": contract, "outcome": ref, "customer": "acme", "signal": "completed"}
        for contract, ref in (("one", "X-1"), ("two", "Y-1"), ("one", "X-2"), ("one", "X-3"))
    ]
    assert all(result.status == "accepted" for result in ingest(db, items, clock()))
    outcomes = Outcomes(db, clock)
    for item in items:
        outcomes.settle(item["contract"], item["outcome"], Scheduled.CONFIRM, "ok", actor=CLI)
    invoices = Invoices(db, clock)
    [row] = invoices.list(limit=5).items
    invoice, line, first = invoices.line(row.id, "one", 1, limit=2)
    assert (invoice.id, line.quantity, line.amount) == (row.id, 3, Decimal("2.97"))
    assert [(c.outcome, c.amount, c.state) for c in first.items] == [
        ("X-1", Decimal("0.99"), "confirmed"),
        ("X-2", Decimal("0.99"), "confirmed"),
    ]
    assert first.after is not None
    _, _, rest = invoices.line(row.id, "one", 1, limit=2, after=first.after)
    assert ([c.outcome for c in rest.items], rest.after) == (["X-3"], None)
    _, two, only = invoices.line(row.id, "two", 1, limit=5)
    assert (two.amount, [c.outcome for c in only.items]) == (Decimal("2.50"), ["Y-1"])
    with pytest.raises(UnknownLine):
        invoices.line(row.id, "two", 2, limit=5)
    with pytest.raises(UnknownInvoice):
        invoices.line("inv_nothing", "one", 1, limit=5)
