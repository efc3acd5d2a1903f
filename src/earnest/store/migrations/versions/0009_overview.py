"""The dashboard's reading indexes (issue 13), so its pages read ranges, not tables:

- ``ledger_days``: how many ledger rows of each ``(kind, amount)`` were booked on each UTC
  day (``day``: days since the Unix epoch) in each currency, kept by the transaction that
  books them (``store.ledger.book``) and filled here from the ledger: a month's revenue is
  at most a few rows per day, added exactly (amount times count), whatever the traffic.
- ``outcomes_settled``: ``(settled_at, state)`` of settled outcomes only (partial), covering:
  a day's settlements are counted in the index.

- ``activity_subject``: ``(subject, at)``: a contract page names who saved each version
  from the activity log's entries about that contract.

Outcomes by state and contested outcomes use 0008's ``outcomes_state`` and
``outcomes_contested``.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

SETTLED = "settled_at IS NOT NULL"
MONEY = sa.Numeric().with_variant(sa.Text(), "sqlite")
DAY_US = 86_400_000_000


def upgrade() -> None:
    op.create_index("activity_subject", "activity", ["subject", "at"])
    op.create_table(
        "ledger_days",
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),  # charge | credit
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "currency", "kind", "amount"),
    )
    op.execute(
        "INSERT INTO ledger_days (day, currency, kind, amount, count)"
        f" SELECT booked_at / {DAY_US}, currency, kind, amount, COUNT(*) FROM ledger"
        f" GROUP BY booked_at / {DAY_US}, currency, kind, amount"
    )
    op.create_index(
        "outcomes_settled",
        "outcomes",
        ["settled_at", "state"],
        sqlite_where=sa.text(SETTLED),
        postgresql_where=sa.text(SETTLED),
    )


def downgrade() -> None:
    op.drop_index("outcomes_settled", table_name="outcomes")
    op.drop_table("ledger_days")
    op.drop_index("activity_subject", table_name="activity")
