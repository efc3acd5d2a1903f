"""Invoice documents (SPEC 6, "Formats"): the PDF a customer receives, read back by an
independent library (pypdf), and the CSV, read back by ``csv.reader``."""

from __future__ import annotations

import csv
import io
import tomllib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pypdf
import pytest

from earnest.billing import Period
from earnest.service.customers import Customer
from earnest.service.documents import (
    EXPORT_COLUMNS,
    LINE_COLUMNS,
    format_money,
    invoice_csv,
    invoice_html,
    invoice_pdf,
    invoices_csv,
)
from earnest.service.invoices import ChargeLineView, CreditLineView, Invoice
from earnest.service.settings import SettingsValues
from earnest.store.invoices import InvoiceRow

ROOT = Path(__file__).resolve().parents[2]
NOV = datetime(2026, 11, 1, tzinfo=UTC)
DEC = datetime(2026, 12, 1, tzinfo=UTC)
SELLER = SettingsValues(
    seller_name="Outcome Robotics Ltd",
    seller_address="10 Main Street\nSpringfield 12345",
    seller_tax_id="GB 123 4567 89",
)
ACME = Customer(
    "acme", "Acme Corporation", "ap@acme.test", "1 Road Runner Way\nDesert City, AZ 85001",
    "US-98-7654321", 1, NOV,
)  # fmt: skip


def invoice(
    charges: tuple[ChargeLineView, ...] = (),
    credits: tuple[CreditLineView, ...] = (),
    *,
    currency: str = "USD",
    number: str | None = "EARN-000042",
    customer: str = "acme",
) -> Invoice:
    subtotal = sum((line.amount for line in charges), start=Decimal(0))
    credited = sum((line.amount for line in credits), start=Decimal(0))
    finalized = None if number is None else DEC + timedelta(minutes=5)
    row = InvoiceRow(
        f"inv_{customer}_{currency}", customer, currency, Period(NOV, DEC),
        "draft" if number is None else "finalized", number,
        None if number is None else int(number.rsplit("-", 1)[1]), subtotal, credited,
        NOV, finalized, None,
    )  # fmt: skip
    return Invoice(row, charges, credits)


def charge(
    price: str, quantity: int, name: str = "Support ticket resolved", v: int = 2
) -> ChargeLineView:
    return ChargeLineView(f"{name} (v{v})", "ticket_resolved", v, quantity, Decimal(price))


def credit(
    amount: str, ref: str = "ticket-4821", reason: str | None = "dispute: reopened"
) -> CreditLineView:
    return CreditLineView(7, ref, "ticket_resolved", Decimal(amount), reason, DEC)


TYPICAL = invoice(
    (charge("0.99", 120), charge("12.50", 3, "Incident resolved", 1)), (credit("0.99"),)
)


def pdf_text(document: bytes) -> str:
    assert document.startswith(b"%PDF-")
    reader = pypdf.PdfReader(io.BytesIO(document))
    return "\n".join(page.extract_text() for page in reader.pages)


# PDF ------------------------------------------------------------------------------------


def test_the_pdf_names_seller_customer_number_lines_and_totals() -> None:
    text = pdf_text(invoice_pdf(TYPICAL, ACME, SELLER, "https://billing.example.com"))
    for expected in (
        "Invoice", "EARN-000042", "finalized",
        "Outcome Robotics Ltd", "10 Main Street", "Springfield 12345", "GB 123 4567 89",
        "Acme Corporation", "1 Road Runner Way", "Desert City, AZ 85001", "US-98-7654321",
        "Nov 1, 2026 – Nov 30, 2026",  # the period's last day: its end is exclusive
        "Dec 1, 2026",  # issued when finalized
        "Support ticket resolved (v2)", "120", "$0.99", "$118.80",
        "Incident resolved (v1)", "$12.50", "$37.50",
        "Credit for ticket-4821", "dispute: reopened", "-$0.99",
        "Subtotal", "$156.30", "Credits", "Total", "$155.31",
        "https://billing.example.com",
    ):  # fmt: skip
        assert expected in text, expected
    assert "Credit note" not in text
    assert "DRAFT" not in text


def test_a_negative_total_is_a_credit_note() -> None:
    note = invoice(credits=(credit("4"), credit("0.5", "ticket-9", None)), number="EARN-000043")
    assert note.total == Decimal("-4.50")
    text = pdf_text(invoice_pdf(note, ACME, SELLER, None))
    assert "Credit note" in text
    assert "EARN-000043" in text
    assert "-$4.50" in text
    assert "Invoice EARN" not in text  # the footer says credit note too
    # A credit on an invoice whose total stays positive does not make it one.
    assert "Credit note" not in pdf_text(invoice_pdf(TYPICAL, ACME, SELLER, None))


def test_a_draft_says_so_and_has_no_number_or_issue_date() -> None:
    draft = invoice((charge("0.99", 2),), number=None)
    text = pdf_text(invoice_pdf(draft, ACME, SELLER, None))
    assert "DRAFT" in text
    assert "EARN-" not in text
    assert "not issued" in text
    assert "$1.98" in text


def test_a_customer_without_details_is_named_by_id_and_no_seller_is_invented() -> None:
    bare = Customer("cust-77", None, None, None, None, 1, NOV)
    text = pdf_text(
        invoice_pdf(invoice((charge("1", 1),), customer="cust-77"), bare, SettingsValues(), None)
    )
    assert "cust-77" in text
    assert "Customer ID" not in text  # the id is already the name
    assert "Tax ID" not in text


def test_text_from_settings_and_customers_is_escaped_not_markup() -> None:
    hostile = Customer("x", "<b>Evil</b> & Co", None, "<img src=http://x.test/a>", None, 1, NOV)
    html = invoice_html(TYPICAL, hostile, SettingsValues(seller_name="<script>1</script>"), None)
    assert "<script>1" not in html
    assert "&lt;script&gt;" in html
    assert "<img" not in html
    assert "&lt;b&gt;Evil&lt;/b&gt; &amp; Co" in html


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        ("118.8", "USD", "$118.80"),
        ("0.000123", "USD", "$0.000123"),  # an exact unit price is never rounded for display
        ("100", "JPY", "¥100"),
        ("1.235", "BHD", "BHD1.235"),
        ("1.5", "IQD", "IQD1.500"),  # ISO 4217's 3 places, as the total is rounded (CLDR: 0)
        ("3", "HUF", "HUF3.00"),
        ("-4.5", "EUR", "-€4.50"),
        ("1234567.5", "EUR", "€1,234,567.50"),
    ],
)
def test_money_is_formatted_for_its_currency(amount: str, currency: str, shown: str) -> None:
    assert format_money(Decimal(amount), currency) == shown


def test_a_yen_invoice_in_the_pdf() -> None:
    yen = invoice((ChargeLineView("Build (v1)", "build", 1, 3, Decimal("150")),), currency="JPY")
    text = pdf_text(invoice_pdf(yen, ACME, SELLER, None))
    assert "¥450" in text
    assert "JPY" in text


def test_the_template_is_package_data() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["earnest"]
    package = ROOT / "src" / "earnest"
    shipped = {path for pattern in patterns for path in package.glob(pattern)}
    templates = set((package / "templates").iterdir())
    assert templates
    assert templates <= shipped


# CSV ------------------------------------------------------------------------------------


def read_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def test_the_csv_lines_add_up_to_the_invoice() -> None:
    text = invoice_csv(TYPICAL)
    assert text.endswith("\r\n")
    header, *rows = read_csv(text)
    assert header == list(LINE_COLUMNS)
    records = [dict(zip(header, row, strict=True)) for row in rows]
    assert [r["kind"] for r in records] == [
        "charge",
        "charge",
        "credit",
        "subtotal",
        "credits",
        "total",
    ]
    assert {r["currency"] for r in records} == {"USD"}
    amounts: dict[str, list[Decimal]] = {}
    for r in records:
        amounts.setdefault(r["kind"], []).append(Decimal(r["amount"]))
    assert sum(amounts["charge"]) == TYPICAL.subtotal == amounts["subtotal"][0]
    assert -sum(amounts["credit"]) == TYPICAL.credited == -amounts["credits"][0]
    assert amounts["total"] == [TYPICAL.total]
    first, _, refund = records[:3]
    assert first == {
        "kind": "charge", "description": "Support ticket resolved (v2)",
        "contract": "ticket_resolved", "contract_version": "2", "outcome": "", "quantity": "120",
        "unit_price": "0.99",
        "amount": "118.80", "currency": "USD", "reason": "",
    }  # fmt: skip
    assert (refund["outcome"], refund["amount"], refund["reason"]) == (
        "ticket-4821",
        "-0.99",
        "dispute: reopened",
    )
    # Every line is the invoice object's line, the same text.
    lines = TYPICAL.document()["lines"]
    assert [r["amount"] for r in records[:3]] == [line["amount"] for line in lines]


def test_an_invoice_of_credits_only_and_no_credits() -> None:
    only = invoice(credits=(credit("2.5"),))
    records = [dict(zip(LINE_COLUMNS, row, strict=True)) for row in read_csv(invoice_csv(only))[1:]]
    assert [(r["kind"], r["amount"]) for r in records] == [
        ("credit", "-2.50"), ("subtotal", "0.00"), ("credits", "-2.50"), ("total", "-2.50"),
    ]  # fmt: skip
    none = invoice((charge("1", 1),))
    summary = [row[7] for row in read_csv(invoice_csv(none))[1:] if row[0] == "credits"]
    assert summary == ["0.00"]  # never "-0.00"


def test_text_a_spreadsheet_would_run_is_neutralised() -> None:
    evil = invoice(credits=(credit("1", "=cmd|' /C calc'!A0", '=HYPERLINK("http://x.test")'),))
    [_, row, *_] = read_csv(invoice_csv(evil))
    record = dict(zip(LINE_COLUMNS, row, strict=True))
    assert record["outcome"] == "'=cmd|' /C calc'!A0"
    assert record["reason"] == '\'=HYPERLINK("http://x.test")'
    assert record["amount"] == "-1.00"  # numbers keep their sign


def test_an_export_leads_every_row_with_its_invoice() -> None:
    other = invoice((charge("5", 2),), customer="globex", number="EARN-000043")
    header, *rows = read_csv(invoices_csv([TYPICAL, other]))
    assert header == list(EXPORT_COLUMNS)
    records = [dict(zip(header, row, strict=True)) for row in rows]
    assert len(records) == 6 + 4
    assert {r["number"] for r in records[:6]} == {"EARN-000042"}
    assert {
        (r["invoice"], r["customer"], r["period_start"], r["period_end"]) for r in records[6:]
    } == {("inv_globex_USD", "globex", "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z")}
    totals = [Decimal(r["amount"]) for r in records if r["kind"] == "total"]
    assert totals == [TYPICAL.total, other.total]
