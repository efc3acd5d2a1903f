"""The dashboard's webhook failures (issue 13): two partial indexes on
``webhook_deliveries``, so the deliveries that need a person's attention are listed newest
first without reading the ones that went well.

- ``webhook_deliveries_failed``: ``(endpoint_id, id)`` of the deliveries that failed for good.
- ``webhook_deliveries_retrying``: ``(endpoint_id, id)`` of the pending deliveries whose last
  attempt failed.

A delivery enters either only when an attempt fails, so ingest and a first attempt that
succeeds write neither.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

FAILED = "state = 'failed'"
RETRYING = "state = 'pending' AND attempts > 0"


def upgrade() -> None:
    for name, where in (("failed", FAILED), ("retrying", RETRYING)):
        op.create_index(
            f"webhook_deliveries_{name}",
            "webhook_deliveries",
            ["endpoint_id", "id"],
            sqlite_where=sa.text(where),
            postgresql_where=sa.text(where),
        )


def downgrade() -> None:
    for name in ("failed", "retrying"):
        op.drop_index(f"webhook_deliveries_{name}", table_name="webhook_deliveries")
