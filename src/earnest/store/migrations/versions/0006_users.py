"""Dashboard users, their sessions, the sign-in throttle, and portal links (SPEC 11).

- ``users``: ``email`` as given, ``email_key`` its case-folded form (unique: one user per
  address, whatever its case), the role, the argon2 hash of the password, disabled or not.
- ``sessions``: ``id`` is the SHA-256 of the session's random token (the token itself is only
  in the browser's cookie); ``expires_at`` is the last time it was seen plus the idle limit;
  ``csrf`` is the secret every form of the session carries back.
- ``signin_throttle``: failed sign-ins counted per account (``email:<email_key>``, whether or
  not such a user exists) and per address (``address:<ip>``), in the database so that every
  process of one PostgreSQL database sees the same counts.
- ``portal_links``: a customer's evidence pages, ``token_hash`` the SHA-256 of the random
  token in the link (for a later change: the table is here so the schema moves once).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TIME = sa.BigInteger()  # microseconds since the Unix epoch, UTC, as in 0001


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("email_key", sa.Text(), nullable=False, unique=True),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("password_changed_at", TIME, nullable=False),
        sa.CheckConstraint("role IN ('admin', 'viewer')", name="users_role"),
    )
    op.create_index("users_created", "users", ["created_at", "id"])
    op.create_table(
        "sessions",
        sa.Column("id", sa.Text(), primary_key=True),  # sha256 of the cookie's token
        sa.Column("user_id", sa.Text(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("last_seen_at", TIME, nullable=False),
        sa.Column("expires_at", TIME, nullable=False),
        sa.Column("csrf", sa.Text(), nullable=False),
    )
    op.create_index("sessions_user", "sessions", ["user_id"])
    op.create_index("sessions_expires", "sessions", ["expires_at"])
    op.create_table(
        "signin_throttle",
        sa.Column("key", sa.Text(), primary_key=True),  # email:<email_key> or address:<ip>
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", TIME, nullable=False),
        sa.Column("blocked_until", TIME),
    )
    op.create_index("signin_throttle_last", "signin_throttle", ["last_failure_at"])
    op.create_table(
        "portal_links",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("customer", sa.Text(), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("token_hash", sa.Text(), nullable=False, unique=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("expires_at", TIME, nullable=False),
        sa.Column("revoked_at", TIME),
        sa.Column("created_by", sa.Text(), nullable=False),
    )
    op.create_index("portal_links_customer", "portal_links", ["customer", "created_at", "id"])


def downgrade() -> None:
    for table in ("portal_links", "signin_throttle", "sessions", "users"):
        op.drop_table(table)
