"""The initial schema: contracts, customers, outcomes, signals, history, ledger.

Times are integer microseconds since the Unix epoch (UTC) in every table and on both
databases: exact, sortable, cheap to index, and identical on SQLite and PostgreSQL. Money is
NUMERIC on PostgreSQL and TEXT holding a decimal string on SQLite (whose NUMERIC affinity
would turn 0.99 into a float).

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Unconstrained NUMERIC keeps the scale it was given (12.50 stays 12.50, not 12.500000).
MONEY = sa.Numeric().with_variant(sa.Text(), "sqlite")
TIME = sa.BigInteger()
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite rowid aliases need INTEGER


def upgrade() -> None:
    op.create_table(
        "contracts",
        sa.Column("key", sa.Text(), primary_key=True),
        sa.Column("latest_version", sa.Integer(), nullable=False),
        sa.Column("archived", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("created_at", TIME, nullable=False),
    )
    op.create_table(
        "contract_versions",
        sa.Column("key", sa.Text(), sa.ForeignKey("contracts.key"), primary_key=True),
        sa.Column("version", sa.Integer(), primary_key=True),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.Text(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
    )
    op.create_table(
        "customers",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("name", sa.Text()),
        sa.Column("email", sa.Text()),
        sa.Column("billing_day", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("created_at", TIME, nullable=False),
    )
    op.create_table(
        "outcomes",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("contract", sa.Text(), nullable=False),
        sa.Column("ref", sa.Text(), nullable=False),
        sa.Column("contract_version", sa.Integer(), nullable=False),
        sa.Column("customer", sa.Text(), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("scheduled", sa.Text()),
        sa.Column("review_reason", sa.Text()),
        sa.Column("opened_at", TIME, nullable=False),
        sa.Column("active_until", TIME, nullable=False),
        sa.Column("review_ends_at", TIME),
        sa.Column("settled_at", TIME),
        sa.Column("clock", TIME, nullable=False),
        sa.Column("deadline", TIME),
        sa.Column("observed", sa.Text(), nullable=False),
        sa.Column("last_verdict", sa.Text()),
        sa.Column("contested", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("charged", MONEY),
        sa.Column("credited", MONEY, nullable=False),
        sa.ForeignKeyConstraint(
            ["contract", "contract_version"], ["contract_versions.key", "contract_versions.version"]
        ),
        sa.UniqueConstraint("contract", "ref", name="outcomes_identity"),
    )
    op.create_index(
        "outcomes_due",
        "outcomes",
        ["deadline"],
        sqlite_where=sa.text("deadline IS NOT NULL"),
        postgresql_where=sa.text("deadline IS NOT NULL"),
    )
    op.create_index("outcomes_customer", "outcomes", ["customer", "id"])
    op.create_table(
        "signals",
        sa.Column("seq", ID, primary_key=True, autoincrement=True),
        sa.Column("id", sa.Text(), unique=True),
        sa.Column("fingerprint", sa.Text(), nullable=False),
        sa.Column("outcome_id", ID, sa.ForeignKey("outcomes.id"), nullable=False),
        sa.Column("received_at", TIME, nullable=False),
        sa.Column("history_seq", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "history",
        sa.Column("seq", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("outcome_id", ID, sa.ForeignKey("outcomes.id"), nullable=False),
        sa.Column("recorded_at", TIME, nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("hash", sa.Text(), nullable=False),
    )
    op.create_index("history_outcome", "history", ["outcome_id", "seq"])
    op.create_table(
        "ledger",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.Text(), nullable=False),  # charge | credit
        sa.Column("outcome_id", ID, sa.ForeignKey("outcomes.id"), nullable=False),
        sa.Column("customer", sa.Text(), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("period_start", sa.Text(), nullable=False),  # YYYY-MM-DD, UTC
        sa.Column("booked_at", TIME, nullable=False),
        sa.Column("history_seq", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("kind IN ('charge', 'credit')", name="ledger_kind"),
    )
    # The database itself refuses a second charge for one outcome.
    op.create_index(
        "ledger_one_charge",
        "ledger",
        ["outcome_id"],
        unique=True,
        sqlite_where=sa.text("kind = 'charge'"),
        postgresql_where=sa.text("kind = 'charge'"),
    )
    op.create_index("ledger_customer_period", "ledger", ["customer", "period_start"])
    # The hash chain's tail: one row, locked by every write transaction, so that history
    # sequence numbers follow commit order on every backend.
    op.create_table(
        "chain_head",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.Text(), nullable=False),
        sa.CheckConstraint("id = 1", name="chain_head_single_row"),
    )
    op.execute("INSERT INTO chain_head (id, seq, hash) VALUES (1, 0, '')")


def downgrade() -> None:
    for table in (
        "chain_head", "ledger", "history", "signals", "outcomes", "customers",
        "contract_versions", "contracts",
    ):  # fmt: skip
        op.drop_table(table)
