"""API keys: stored only as hashes, found by a short public prefix.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Text(), primary_key=True),  # the public prefix, e.g. "k_3f9a1c2b"
        sa.Column("hash", sa.Text(), nullable=False),  # sha256 of the whole key
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("name", sa.Text()),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("last_used_at", sa.BigInteger()),
        sa.Column("revoked_at", sa.BigInteger()),
        sa.CheckConstraint("scope IN ('ingest', 'read', 'admin')", name="api_keys_scope"),
    )


def downgrade() -> None:
    op.drop_table("api_keys")
