"""The dashboard's outcome filters (issue 13): an index per filter of ``GET /outcomes`` (and
``/v1/outcomes``), so a page of outcomes of one contract, in one state or contested is read
newest first from its index on a store of millions, never sorted whole.

- ``outcomes_contract``: ``(contract, id)`` (the identity's ``(contract, ref)`` finds them,
  not newest first).
- ``outcomes_state``: ``(state, id)``.
- ``outcomes_contested``: ``(id)`` of the contested outcomes only (partial): few, and an
  outcome enters it only when a dispute opens. The overview counts it.

- ``ledger_outcome``: ``(outcome_id, id)``: an outcome's charge and credits, read for every
  row of a page of outcomes and for each outcome's page (only its charge had an index,
  ``ledger_one_charge``, so reading its credits too scanned the ledger).

``outcomes_customer`` (0001) serves the customer filter. ``store.outcomes.list_ids`` walks
one of these and tests the other filters on its rows.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

CONTESTED = "contested"


def upgrade() -> None:
    op.create_index("outcomes_contract", "outcomes", ["contract", "id"])
    op.create_index("outcomes_state", "outcomes", ["state", "id"])
    op.create_index("ledger_outcome", "ledger", ["outcome_id", "id"])
    op.create_index(
        "outcomes_contested",
        "outcomes",
        ["id"],
        sqlite_where=sa.text(CONTESTED),
        postgresql_where=sa.text(CONTESTED),
    )


def downgrade() -> None:
    op.drop_index("ledger_outcome", table_name="ledger")
    for name in ("outcomes_contested", "outcomes_state", "outcomes_contract"):
        op.drop_index(name, table_name="outcomes")
