"""Billing: billing-day history, invoices with running totals, disputes, settings (SPEC 6).

- ``customers`` gain ``address`` and ``tax_id``, and the customer's first open period
  (``open_start``, ``open_end``): every period before it is closed, its invoices finalized.
- ``billing_days``: each customer's billing-day history, its creation first.
- ``invoices``: one per (customer, period, currency) with a ledger entry; ``subtotal`` and
  ``credits`` are running totals kept by every booking, so a draft is always current.
- ``invoice_lines``: an invoice's charge lines as aggregates (a quantity per contract, version
  and unit price), so reading an invoice of 100,000 charges reads a handful of rows.
- ``ledger`` gains the invoice it is on, its period's end, and a credit's reason.
- ``disputes``: at most one open per outcome (a partial unique index says so).
- ``settings`` (name → JSON value) and ``counters`` (the gapless invoice number).

Existing customers start their billing-day history with their billing day at creation;
existing ledger rows are put on invoices; outcomes flagged by ``after_settlement: flag``
become open disputes by ``system``.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from alembic import op

from earnest.billing.periods import BillingDays, Period

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

MONEY = sa.Numeric().with_variant(sa.Text(), "sqlite")
TIME = sa.BigInteger()
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def upgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("address", sa.Text()))
        batch.add_column(sa.Column("tax_id", sa.Text()))
        batch.add_column(sa.Column("open_start", TIME))
        batch.add_column(sa.Column("open_end", TIME))
    op.create_index("customers_open_end", "customers", ["open_end", "id"])
    op.create_table(
        "billing_days",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("customer", sa.Text(), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("since", TIME, nullable=False),
        sa.Column("billing_day", sa.Integer(), nullable=False),
        sa.CheckConstraint("billing_day BETWEEN 1 AND 28", name="billing_days_day"),
    )
    op.create_index("billing_days_customer", "billing_days", ["customer", "id"])
    op.create_table(
        "invoices",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("customer", sa.Text(), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("period_start", TIME, nullable=False),
        sa.Column("period_end", TIME, nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("number", sa.Text(), unique=True),
        sa.Column("sequence", sa.BigInteger(), unique=True),
        sa.Column("subtotal", MONEY, nullable=False),
        sa.Column("credits", MONEY, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("finalized_at", TIME),
        sa.Column("hash", sa.Text()),
        sa.CheckConstraint("status IN ('draft', 'finalized')", name="invoices_status"),
        sa.CheckConstraint(
            "(status = 'draft') = (number IS NULL)", name="invoices_number_when_finalized"
        ),
        sa.UniqueConstraint("customer", "period_start", "currency", name="invoices_identity"),
    )
    op.create_index("invoices_created", "invoices", ["created_at", "id"])
    op.create_index("invoices_period_end", "invoices", ["period_end", "customer"])
    op.create_table(
        "invoice_lines",
        sa.Column("invoice_id", sa.Text(), sa.ForeignKey("invoices.id"), primary_key=True),
        sa.Column("contract", sa.Text(), primary_key=True),
        sa.Column("contract_version", sa.Integer(), primary_key=True),
        sa.Column("unit_price", sa.Text(), primary_key=True),  # normalised decimal text
        sa.Column("quantity", sa.BigInteger(), nullable=False),
    )
    with op.batch_alter_table("ledger") as batch:
        batch.add_column(sa.Column("period_end", sa.Text()))
        batch.add_column(sa.Column("invoice_id", sa.Text()))
        batch.add_column(sa.Column("reason", sa.Text()))
    op.create_index("ledger_invoice", "ledger", ["invoice_id", "kind", "id"])
    op.create_index("ledger_customer", "ledger", ["customer", "id"])  # GET /v1/ledger?customer=
    op.create_table(
        "disputes",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("outcome_id", ID, sa.ForeignKey("outcomes.id"), nullable=False),
        sa.Column("customer", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("opened_by", sa.Text(), nullable=False),
        sa.Column("opened_at", TIME, nullable=False),
        sa.Column("resolution", sa.Text()),
        sa.Column("note", sa.Text()),
        sa.Column("resolved_by", sa.Text()),
        sa.Column("resolved_at", TIME),
        sa.Column("credit_amount", MONEY),
        sa.Column("credit_ledger_id", sa.BigInteger()),
        sa.CheckConstraint("state IN ('open', 'resolved')", name="disputes_state"),
    )
    op.create_index(
        "disputes_one_open",
        "disputes",
        ["outcome_id"],
        unique=True,
        sqlite_where=sa.text("state = 'open'"),
        postgresql_where=sa.text("state = 'open'"),
    )
    op.create_index("disputes_outcome", "disputes", ["outcome_id", "id"])
    op.create_index("disputes_opened", "disputes", ["opened_at", "id"])
    op.create_table(
        "settings",
        sa.Column("name", sa.Text(), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),  # canonical JSON
    )
    op.create_table(
        "counters",
        sa.Column("name", sa.Text(), primary_key=True),
        sa.Column("value", sa.BigInteger(), nullable=False),
    )
    op.execute("INSERT INTO counters (name, value) VALUES ('invoice_number', 0)")
    # The latest period end closed (µs): a customer created later starts after it.
    op.execute("INSERT INTO counters (name, value) VALUES ('closed_through', 0)")
    _backfill(op.get_bind())


def _time(micros: int) -> datetime:
    return EPOCH + timedelta(microseconds=int(micros))


def _us(moment: datetime) -> int:
    delta = moment - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def invoice_id(customer: str, period_start: datetime, currency: str) -> str:
    """As ``earnest.store.invoices.invoice_id`` (copied: a migration must not change)."""
    key = f"{customer}\x00{period_start.isoformat()}\x00{currency}".encode()
    return "inv_" + hashlib.sha256(key).hexdigest()[:24]


def _backfill(bind: Any) -> None:
    sqlite = bind.dialect.name == "sqlite"

    def money(value: Decimal) -> Any:
        return str(value) if sqlite else value

    days: dict[str, BillingDays] = {}
    for ident, billing_day, created in bind.execute(
        sa.text("SELECT id, billing_day, created_at FROM customers")
    ):
        history = BillingDays.of(_time(created), int(billing_day))
        days[ident] = history
        first = history.first()
        bind.execute(
            sa.text("INSERT INTO billing_days (customer, since, billing_day) VALUES (:c, :s, :d)"),
            {"c": ident, "s": int(created), "d": int(billing_day)},
        )
        bind.execute(
            sa.text("UPDATE customers SET open_start = :s, open_end = :e WHERE id = :c"),
            {"s": _us(first.start), "e": _us(first.end), "c": ident},
        )
    invoices: dict[str, dict[str, Any]] = {}
    lines: dict[tuple[str, str, int, str], int] = defaultdict(int)
    rows = bind.execute(
        sa.text(
            "SELECT l.id, l.kind, l.customer, l.amount, l.currency, l.booked_at,"
            " o.contract, o.contract_version FROM ledger l JOIN outcomes o ON o.id = l.outcome_id"
            " ORDER BY l.id"
        )
    ).fetchall()
    for ledger_id, kind, customer, amount, currency, booked_at, contract, version in rows:
        period: Period = days[customer].containing(_time(booked_at))
        ident = invoice_id(customer, period.start, currency)
        invoice = invoices.setdefault(
            ident,
            {
                "id": ident, "customer": customer, "currency": currency,
                "start": _us(period.start), "end": _us(period.end), "created": int(booked_at),
                "subtotal": Decimal(0), "credits": Decimal(0),
            },
        )  # fmt: skip
        value = Decimal(amount)
        if kind == "charge":
            invoice["subtotal"] += value
            lines[(ident, contract, int(version), format(value, "f"))] += 1
        else:
            invoice["credits"] += value
        bind.execute(
            sa.text(
                "UPDATE ledger SET invoice_id = :i, period_end = :e,"
                " reason = CASE WHEN kind = 'credit' THEN 'late signal' ELSE NULL END"
                " WHERE id = :l"
            ),
            {"i": ident, "e": period.end.date().isoformat(), "l": ledger_id},
        )
    for invoice in invoices.values():
        bind.execute(
            sa.text(
                "INSERT INTO invoices (id, customer, currency, period_start, period_end, status,"
                " subtotal, credits, created_at) VALUES (:id, :customer, :currency, :start,"
                " :end, 'draft', :subtotal, :credits, :created)"
            ),
            {
                **invoice,
                "subtotal": money(invoice["subtotal"]),
                "credits": money(invoice["credits"]),
            },
        )
    for (ident, contract, version, price), quantity in lines.items():
        bind.execute(
            sa.text(
                "INSERT INTO invoice_lines (invoice_id, contract, contract_version, unit_price,"
                " quantity) VALUES (:i, :c, :v, :p, :q)"
            ),
            {"i": ident, "c": contract, "v": version, "p": price, "q": quantity},
        )
    disputes_from_flags(bind)


def disputes_from_flags(bind: Any) -> None:
    """Outcomes flagged under ``after_settlement: flag`` become open disputes by ``system``,
    opened at their flag entry, whose reason names the late signal."""
    flagged = bind.execute(
        sa.text(
            "SELECT h.outcome_id, o.customer, h.recorded_at, h.data FROM history h"
            " JOIN outcomes o ON o.id = h.outcome_id WHERE h.kind = 'flag' AND o.contested"
            " ORDER BY h.seq"
        )
    ).fetchall()
    seen: set[int] = set()
    for outcome_id, customer, recorded_at, data in flagged:
        if outcome_id in seen:
            continue
        seen.add(outcome_id)
        signal = json.loads(data).get("signal")
        reason = f"late signal {signal or ''} failed the check".replace("  ", " ")
        bind.execute(
            sa.text(
                "INSERT INTO disputes (outcome_id, customer, state, reason, opened_by, opened_at)"
                " VALUES (:o, :c, 'open', :r, 'system', :t)"
            ),
            {"o": outcome_id, "c": customer, "r": reason, "t": int(recorded_at)},
        )


def downgrade() -> None:
    for table in ("counters", "settings", "disputes", "invoice_lines", "invoices", "billing_days"):
        op.drop_table(table)
    op.drop_index("ledger_customer", "ledger")
    op.drop_index("ledger_invoice", "ledger")
    with op.batch_alter_table("ledger") as batch:
        for column in ("reason", "invoice_id", "period_end"):
            batch.drop_column(column)
    op.drop_index("customers_open_end", "customers")
    with op.batch_alter_table("customers") as batch:
        for column in ("open_end", "open_start", "tax_id", "address"):
            batch.drop_column(column)
