"""The activity log: every change that is not an outcome's own history, on a hash chain of its
own (SPEC section 7).

``seq`` is assigned by the writer from ``activity_head`` (as ``history.seq`` is from
``chain_head``), so it is gapless and follows commit order; reading newest first walks the
primary key backwards. ``before`` and ``after`` are canonical JSON text, hashed as stored.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TIME = sa.BigInteger()  # microseconds since the Unix epoch, UTC, as in 0001


def upgrade() -> None:
    op.create_table(
        "activity",
        sa.Column("seq", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("at", TIME, nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),  # e.g. contract.saved, key.revoked
        sa.Column("subject", sa.Text(), nullable=False),  # a contract key, customer id, key id
        sa.Column("before", sa.Text()),
        sa.Column("after", sa.Text()),
        sa.Column("hash", sa.Text(), nullable=False),
    )
    # The activity chain's tail, like chain_head for the history. Writers are already
    # serialised by Database.write (the chain_head lock), so this row needs no lock of its own.
    op.create_table(
        "activity_head",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.Text(), nullable=False),
        sa.CheckConstraint("id = 1", name="activity_head_single_row"),
    )
    op.execute("INSERT INTO activity_head (id, seq, hash) VALUES (1, 0, '')")


def downgrade() -> None:
    op.drop_table("activity_head")
    op.drop_table("activity")
