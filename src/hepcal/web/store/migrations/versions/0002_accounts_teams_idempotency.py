"""Named users, server-side sessions, the team of each case and job, idempotent saves.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06
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
        "users",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("team", sa.String(100), nullable=False, server_default="default"),
        sa.Column("password_hash", sa.String(300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "sessions",
        sa.Column("token_digest", sa.String(64), primary_key=True),
        sa.Column("user", sa.String(100), nullable=False),
        sa.Column("team", sa.String(100), nullable=False, server_default="default"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_index("ix_sessions_user", "sessions", ["user"])
    op.create_index("ix_sessions_expires_at", "sessions", ["expires_at"])
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("team", sa.String(100), nullable=False, server_default="default"))
        batch.add_column(sa.Column("client_key", sa.String(200), nullable=True))
        batch.add_column(sa.Column("request_digest", sa.String(64), nullable=True))
        batch.create_unique_constraint("uq_cases_user_client_key", ["user", "client_key"])
        batch.create_index("ix_cases_team", ["team"])
    with op.batch_alter_table("scan_jobs") as batch:
        batch.add_column(sa.Column("team", sa.String(100), nullable=False, server_default="default"))
        batch.create_index("ix_scan_jobs_team", ["team"])


def downgrade() -> None:
    with op.batch_alter_table("scan_jobs") as batch:
        batch.drop_index("ix_scan_jobs_team")
        batch.drop_column("team")
    with op.batch_alter_table("cases") as batch:
        batch.drop_index("ix_cases_team")
        batch.drop_constraint("uq_cases_user_client_key", type_="unique")
        batch.drop_column("request_digest")
        batch.drop_column("client_key")
        batch.drop_column("team")
    op.drop_index("ix_sessions_expires_at", "sessions")
    op.drop_index("ix_sessions_user", "sessions")
    op.drop_table("sessions")
    op.drop_table("users")
