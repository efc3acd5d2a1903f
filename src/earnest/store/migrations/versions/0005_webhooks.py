"""Webhooks (SPEC 10): endpoints, the outbox of events, deliveries and their attempts.

- ``webhook_endpoints``: the URL, the event types it wants (JSON list; null: all), its
  secret (sealed: encrypted when ``EARNEST_SECRET_KEY`` is set) and, during a rotation, the
  previous secret until ``previous_until``.
- ``webhook_events``: one row per event some endpoint wanted, written in the transaction of
  the change that caused it; ``body`` is the exact JSON that is signed and sent.
- ``webhook_deliveries``: one event for one endpoint. ``ordering_key`` (the outcome, or the
  invoice) orders an endpoint's deliveries: one is not claimed while an earlier one with the
  same key is still pending. ``claimed_until`` lets a crashed sender's claim expire.
- ``webhook_attempts``: every attempt, with its status, duration, error and response excerpt.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TIME = sa.BigInteger()
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("events", sa.Text()),  # JSON list of event types; null: every type
        sa.Column("description", sa.Text()),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("disabled_reason", sa.Text()),
        sa.Column("secret", sa.Text(), nullable=False),  # sealed
        sa.Column("previous_secret", sa.Text()),  # sealed; signs too until previous_until
        sa.Column("previous_until", TIME),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "webhook_events",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("occurred_at", TIME, nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.Text(), sa.ForeignKey("webhook_events.id"), nullable=False),
        sa.Column("endpoint_id", sa.Text(), sa.ForeignKey("webhook_endpoints.id"), nullable=False),
        sa.Column("ordering_key", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),  # pending | delivered | failed
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_at", TIME, nullable=False),
        sa.Column("claimed_until", TIME),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("finished_at", TIME),
        sa.CheckConstraint(
            "state IN ('pending', 'delivered', 'failed')", name="webhook_deliveries_state"
        ),
    )
    op.create_index(
        "webhook_deliveries_due",
        "webhook_deliveries",
        ["next_at"],
        sqlite_where=sa.text("state = 'pending'"),
        postgresql_where=sa.text("state = 'pending'"),
    )
    op.create_index(
        "webhook_deliveries_order",
        "webhook_deliveries",
        ["endpoint_id", "ordering_key", "id"],
        sqlite_where=sa.text("state = 'pending'"),
        postgresql_where=sa.text("state = 'pending'"),
    )
    op.create_index("webhook_deliveries_endpoint", "webhook_deliveries", ["endpoint_id", "id"])
    op.create_table(
        "webhook_attempts",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("delivery_id", ID, sa.ForeignKey("webhook_deliveries.id"), nullable=False),
        sa.Column("at", TIME, nullable=False),
        sa.Column("status", sa.Integer()),  # the HTTP status; null: no answer
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text()),
        sa.Column("response", sa.Text()),  # the first bytes of the answer's body
    )
    op.create_index("webhook_attempts_delivery", "webhook_attempts", ["delivery_id", "id"])


def downgrade() -> None:
    for table in ("webhook_attempts", "webhook_deliveries", "webhook_events", "webhook_endpoints"):
        op.drop_table(table)
