"""The dashboard's reading indexes (issue 13), so its pages read ranges, not tables:

- ``ledger_booked``: ``(booked_at, currency, kind, amount)``, covering: a month's revenue is
  the rows booked in it, grouped by currency, kind and amount without reading the table.
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


def upgrade() -> None:
    op.create_index("activity_subject", "activity", ["subject", "at"])
    op.create_index("ledger_booked", "ledger", ["booked_at", "currency", "kind", "amount"])
    op.create_index(
        "outcomes_settled",
        "outcomes",
        ["settled_at", "state"],
        sqlite_where=sa.text(SETTLED),
        postgresql_where=sa.text(SETTLED),
    )


def downgrade() -> None:
    op.drop_index("outcomes_settled", table_name="outcomes")
    op.drop_index("ledger_booked", table_name="ledger")
    op.drop_index("activity_subject", table_name="activity")
