"""`earnest invoices`, `earnest disputes` and `earnest settings` against a SQLite database
that the service filled: signals ingested, deadlines fired and periods closed as the
scheduler does. Bad input is `error: <code>: ...`, exit 1, and stores nothing."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pypdf
import pytest
from click.testing import CliRunner, Result

from earnest.bootstrap import build
from earnest.cli import main
from earnest.clock import utc_now
from earnest.contract import load_contract
from earnest.service.deadlines import OutcomeDeadlines
from earnest.service.due import drain
from earnest.service.ingest import ingest
from earnest.service.invoices import InvoiceClosing

QUICK = """\
key: quick
name: Quick win
conditions: done AND NOT broken
price: 0.99 USD
active_for: 2h
review_window: 1h
after_settlement: flag
"""


@dataclass
class Store:
    """A database with two customers' finalized invoices, a draft and a system dispute."""

    url: str
    now: datetime  # the real time the store was filled at (the CLI's clock is real)

    def run(self, *args: str) -> Result:
        return CliRunner().invoke(main, ["--database", self.url, *args])

    def ok(self, *args: str) -> Result:
        result = self.run(*args)
        assert result.exit_code == 0, (args, result.output)
        return result

    def error(self, *args: str) -> str:
        """The one ``error:`` line of a refused command (exit 1, nothing on stdout)."""
        result = self.run(*args)
        assert result.exit_code == 1, (args, result.output)
        assert result.stdout == ""
        [line] = result.stderr.splitlines()
        assert line.startswith("error: ")
        return line

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--json").stdout)


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template database, filled once; each test gets a copy."""
    path = tmp_path_factory.mktemp("billing") / "filled.db"
    now = utc_now()
    long_ago = now - timedelta(days=75)  # two month ends at least before now
    app = build(str(path), clock=lambda: long_ago)
    try:
        app.contracts.save(load_contract(QUICK), actor="test")

        def signal(ref: str, customer: str, name: str, at: datetime) -> None:
            item = {"contract": "quick", "outcome": ref, "customer": customer, "signal": name}
            [result] = ingest(app.db, [item], at)
            assert result.status == "accepted", result

        signal("q1", "acme", "done", long_ago)
        signal("q2", "acme", "done", long_ago + timedelta(minutes=1))
        signal("q3", "globex", "done", long_ago + timedelta(minutes=2))
        drain(OutcomeDeadlines(app.db), long_ago + timedelta(hours=2))
        signal("q3", "globex", "broken", long_ago + timedelta(hours=3))  # late: a system dispute
        signal("q4", "acme", "done", now - timedelta(hours=2))  # confirmed an hour ago
        drain(OutcomeDeadlines(app.db), now)
        drain(InvoiceClosing(app.db), now)  # the past periods' invoices, finalized
    finally:
        app.close()
    (path.parent / "now").write_text(now.isoformat())
    return path


@pytest.fixture
def store(filled: Path, tmp_path: Path) -> Store:
    copy = tmp_path / "billing.db"
    copy.write_bytes(filled.read_bytes())
    return Store(str(copy), datetime.fromisoformat((filled.parent / "now").read_text()))


def invoices_by_number(store: Store) -> dict[str | None, dict[str, Any]]:
    return {(d["number"] or f"draft {d['customer']}"): d for d in store.json("invoices", "list")}


# Invoices -------------------------------------------------------------------------------


def test_invoices_list_filters_and_json(store: Store) -> None:
    found = invoices_by_number(store)
    assert set(found) == {"EARN-000001", "EARN-000002", "draft acme"}
    assert [found["EARN-000001"]["customer"], found["EARN-000002"]["customer"]] == [
        "acme",
        "globex",
    ]
    assert (found["EARN-000001"]["subtotal"], found["EARN-000001"]["total"]) == ("1.98", "1.98")
    assert "lines" not in found["EARN-000001"]  # lists show totals, as the API's
    table = store.ok("invoices", "list").stdout
    for text in ("EARN-000001", "EARN-000002", "draft", "acme", "globex", "1.98 USD"):
        assert text in table
    finalized = store.json("invoices", "list", "--status", "finalized")
    assert {d["number"] for d in finalized} == {"EARN-000001", "EARN-000002"}
    assert {d["status"] for d in store.json("invoices", "list", "--customer", "acme")} == {
        "draft", "finalized",
    }  # fmt: skip
    day = found["EARN-000002"]["period"]["start"][:10]
    assert [d["number"] for d in store.json("invoices", "list", "--period", day)] == [
        "EARN-000002", "EARN-000001",
    ]  # fmt: skip
    assert store.json("invoices", "list", "--customer", "nobody") == []
    assert store.ok("invoices", "list", "--customer", "nobody").stdout == "no invoices\n"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--period", "2026-13-01"], "error: invalid_field: period is a date YYYY-MM-DD"),
        (["--period", "yesterday"], "error: invalid_field: period is a date YYYY-MM-DD"),
        (["--status", "paid"], "error: invalid_field: status is draft or finalized"),
    ],
)
def test_invoices_list_refuses_bad_filters(store: Store, args: list[str], expected: str) -> None:
    assert store.error("invoices", "list", *args).startswith(expected)


def test_invoices_show(store: Store) -> None:
    [first] = [d for d in store.json("invoices", "list") if d["number"] == "EARN-000001"]
    document = store.json("invoices", "show", first["id"])
    assert document["lines"] == [
        {"kind": "charge", "description": "Quick win (v1)", "contract": "quick",
         "contract_version": 1, "quantity": 2, "unit_price": "0.99", "amount": "1.98"},
    ]  # fmt: skip
    assert {k: v for k, v in document.items() if k != "lines"} == first
    shown = store.ok("invoices", "show", first["id"]).stdout
    for text in ("Invoice EARN-000001", "customer: acme", "Quick win (v1)", "total:    1.98 USD"):
        assert text in shown
    line = store.error("invoices", "show", "inv_nothing")
    assert line == "error: unknown_invoice: no invoice 'inv_nothing' (field: id)"


def test_invoices_pdf(store: Store, tmp_path: Path) -> None:
    store.ok("settings", "set", "seller_name", "Quick Robotics Ltd")
    [first] = [d for d in store.json("invoices", "list") if d["number"] == "EARN-000001"]
    target = tmp_path / "invoice.pdf"
    result = store.ok("invoices", "pdf", first["id"], "-o", str(target))
    assert f"wrote {target}: Invoice EARN-000001" in result.stderr
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(target).pages)
    for expected in ("Invoice", "EARN-000001", "Quick Robotics Ltd", "acme", "$1.98"):
        assert expected in text
    missing = tmp_path / "missing.pdf"
    assert store.error("invoices", "pdf", "inv_nothing", "-o", str(missing)).startswith(
        "error: unknown_invoice"
    )
    assert not missing.exists()
    to_stdout = store.ok("invoices", "pdf", first["id"], "-o", "-")
    assert to_stdout.stdout_bytes.startswith(b"%PDF-")


def test_invoices_export(store: Store, tmp_path: Path) -> None:
    found = invoices_by_number(store)
    day = found["EARN-000001"]["period"]["start"][:10]
    exported = json.loads(
        store.ok("invoices", "export", "--period", day, "--format", "json").stdout
    )
    assert [d["number"] for d in exported] == ["EARN-000001", "EARN-000002"]  # numbering order
    assert exported[0]["lines"][0]["quantity"] == 2
    target = tmp_path / "export.csv"
    result = store.ok("invoices", "export", "--period", day, "-o", str(target))
    assert "2 invoices" in result.stderr
    rows = list(csv.DictReader(io.StringIO(target.read_text(), newline="")))
    charges = [r for r in rows if r["kind"] == "charge"]
    assert [(r["number"], r["customer"], r["quantity"], r["amount"]) for r in charges] == [
        ("EARN-000001", "acme", "2", "1.98"),
        ("EARN-000002", "globex", "1", "0.99"),
    ]
    assert sum(Decimal(r["amount"]) for r in rows if r["kind"] == "total") == Decimal("2.97")
    bad = store.error("invoices", "export", "--period", "2026-02-30")
    assert bad.startswith("error: invalid_field: period is a date")
    empty = store.ok("invoices", "export", "--period", "2001-01-01", "--format", "json")
    assert json.loads(empty.stdout) == []


# Disputes -------------------------------------------------------------------------------


def credits_of(store: Store, customer: str) -> Decimal:
    return sum(
        (Decimal(d["credits"]) for d in store.json("invoices", "list", "--customer", customer)),
        start=Decimal(0),
    )


def test_the_flagged_outcome_has_a_system_dispute(store: Store) -> None:
    [system] = store.json("disputes", "list")
    assert (system["contract"], system["outcome"], system["customer"]) == ("quick", "q3", "globex")
    assert (system["state"], system["opened_by"]) == ("open", "system")
    assert store.json("disputes", "list", "--state", "resolved") == []
    assert store.json("disputes", "list", "--customer", "acme") == []
    table = store.ok("disputes", "list").stdout
    assert "q3" in table
    assert "system" in table


def test_open_credit_partly_then_the_rest(store: Store) -> None:
    opened = store.ok("disputes", "open", "quick", "q1", "--reason", "the customer says no")
    assert opened.stdout.startswith("opened dispute ")
    assert "quick q1: the customer says no" in opened.stdout
    line = store.error("disputes", "open", "quick", "q1", "--reason", "again")
    assert line.startswith("error: dispute_open: ")
    resolved = store.ok(
        "disputes", "resolve", "quick", "q1", "--credit", "0.5", "--note", "half of it"
    )
    assert resolved.stdout.rstrip().endswith("credited 0.50 USD")
    assert credits_of(store, "acme") == Decimal("0.5")
    store.ok("disputes", "open", "quick", "q1", "--reason", "the rest too")
    rest = store.ok("disputes", "resolve", "quick", "q1", "--credit", "--note", "all of it")
    assert rest.stdout.rstrip().endswith("credited 0.49 USD")  # all that was left
    assert credits_of(store, "acme") == Decimal("0.99")
    # The credits are on acme's current invoice, with their notes as reasons.
    [draft] = store.json("invoices", "list", "--customer", "acme", "--status", "draft")
    lines = store.json("invoices", "show", draft["id"])["lines"]
    assert [(x["amount"], x["reason"]) for x in lines if x["kind"] == "credit"] == [
        ("-0.50", "dispute: half of it"),
        ("-0.49", "dispute: all of it"),
    ]
    listed = store.json("disputes", "list", "--customer", "acme", "--state", "resolved")
    assert [(d["resolution"], d["credit"]["amount"]) for d in listed] == [
        ("credit", "0.49"), ("credit", "0.50"),
    ]  # fmt: skip
    # Nothing left to credit.
    store.ok("disputes", "open", "quick", "q1", "--reason", "once more")
    line = store.error("disputes", "resolve", "quick", "q1", "--credit", "--note", "x")
    assert line.startswith("error: credit_exceeds_charge: ")
    rejected = store.ok("disputes", "resolve", "quick", "q1", "--reject", "--note", "no")
    assert rejected.stdout.rstrip().endswith("rejected: the charge stands")


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--credit", "0", "--note", "n"], "invalid_field: amount must be positive"),
        (["--credit", "0.1234567", "--note", "n"], "invalid_field: amount has at most 6"),
        (["--credit", "ten", "--note", "n"], "invalid_field: amount is a positive decimal"),
        (["--credit", "1.00", "--note", "n"], "credit_exceeds_charge: "),
        (["--credit", "0.990001", "--note", "n"], "credit_exceeds_charge: "),
        (["--note", "n"], "invalid_field: resolve with --reject or with --credit"),
        (["--reject", "--credit", "1", "--note", "n"], "invalid_field: resolve with --reject"),
    ],
)
def test_a_bad_resolution_stores_nothing(store: Store, args: list[str], code: str) -> None:
    store.ok("disputes", "open", "quick", "q2", "--reason", "wrong")
    before = store.json("disputes", "list")
    line = store.error("disputes", "resolve", "quick", "q2", *args)
    assert line.startswith(f"error: {code}"), line
    assert store.json("disputes", "list") == before
    assert credits_of(store, "acme") == 0


def test_a_negative_credit_is_a_usage_error_storing_nothing(store: Store) -> None:
    """Click reads ``-1`` after ``--credit`` (whose value is optional) as an option."""
    store.ok("disputes", "open", "quick", "q2", "--reason", "wrong")
    before = store.json("disputes", "list")
    result = store.run("disputes", "resolve", "quick", "q2", "--credit", "-1", "--note", "n")
    assert result.exit_code == 2
    assert "No such option '-1'" in result.stderr
    assert store.json("disputes", "list") == before
    assert credits_of(store, "acme") == 0


def test_disputes_refuse_what_cannot_be_disputed(store: Store) -> None:
    line = store.error("disputes", "open", "quick", "nope", "--reason", "r")
    assert line.startswith("error: unknown_outcome: ")
    line = store.error("disputes", "resolve", "quick", "q2", "--reject", "--note", "n")
    assert line.startswith("error: no_open_dispute: ")
    line = store.error("disputes", "open", "quick", "q1", "--reason", " ")
    assert line.startswith("error: invalid_field: reason is required")
    line = store.error("disputes", "list", "--state", "closed")
    assert line.startswith("error: invalid_field: state is open or resolved")
    assert len(store.json("disputes", "list")) == 1  # the system's, still alone


def test_disputes_need_an_existing_database(tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    result = CliRunner().invoke(
        main, ["disputes", "open", "quick", "q1", "--reason", "r", "--database", str(missing)]
    )
    assert result.exit_code == 1
    assert not missing.exists()


# Settings -------------------------------------------------------------------------------


def test_settings_show_set_and_clear(store: Store) -> None:
    assert store.json("settings", "show") == {
        "seller_name": None, "seller_address": None, "seller_tax_id": None,
        "invoice_prefix": "EARN", "invoice_grace": "5m", "public_base_url": None,
    }  # fmt: skip
    assert store.ok("settings", "set", "seller_address", "1 Main St\nSpringfield").stdout == (
        "seller_address: 1 Main St / Springfield\n"
    )
    assert store.ok("settings", "set", "invoice_prefix", "INV").stdout == "invoice_prefix: INV\n"
    assert store.ok("settings", "set", "invoice_grace", "90m").stdout == "invoice_grace: 1h30m\n"
    store.ok("settings", "set", "public_base_url", "https://billing.example.com/")
    shown = store.json("settings", "show")
    assert shown["seller_address"] == "1 Main St\nSpringfield"
    assert shown["public_base_url"] == "https://billing.example.com"
    for clear in ("", "null"):
        store.ok("settings", "set", "seller_address", "x")
        assert store.ok("settings", "set", "seller_address", clear).stdout == (
            "seller_address: (not set)\n"
        )
    text = store.ok("settings", "show").stdout
    assert "invoice_prefix: INV\n" in text
    assert "seller_name: (not set)\n" in text


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("color", "blue", "error: invalid_setting: no setting 'color'"),
        ("invoice_prefix", "no spaces", "error: invalid_setting: invoice_prefix is 1 to 20"),
        ("invoice_prefix", "", "error: invalid_setting: invoice_prefix is 1 to 20"),
        ("invoice_grace", "soon", "error: invalid_setting: invoice_grace: "),
        ("invoice_grace", "30d", "error: invalid_setting: invoice_grace is at most"),
        ("public_base_url", "ftp://x", "error: invalid_setting: public_base_url is an http"),
    ],
)
def test_bad_settings_store_nothing(store: Store, name: str, value: str, message: str) -> None:
    before = store.json("settings", "show")
    assert store.error("settings", "set", name, value).startswith(message)
    assert store.json("settings", "show") == before


def test_read_commands_never_create_a_database(tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    for args in (["invoices", "list"], ["disputes", "list"], ["settings", "show"]):
        result = CliRunner().invoke(main, [*args, "--database", str(missing)])
        assert result.exit_code == 1, args
    assert not missing.exists()


def test_the_commands_are_listed() -> None:
    result = CliRunner().invoke(main, ["--help"])
    for name in ("invoices", "disputes", "settings"):
        assert f"  {name}" in result.output
        assert CliRunner().invoke(main, [name, "--help"]).exit_code == 0
