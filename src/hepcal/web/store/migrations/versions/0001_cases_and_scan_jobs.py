"""Cases and scan jobs.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user", sa.String(200), nullable=False),
        sa.Column("kb_version", sa.String(50), nullable=False),
        sa.Column("label", sa.String(500), nullable=False),
        sa.Column("top_diagnosis", sa.String(100), nullable=False),
        sa.Column("malignancy_probability", sa.Float(), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("case", sa.JSON(), nullable=False),
        sa.Column("assessment", sa.JSON(), nullable=False),
        sa.Column("reassessed_from", sa.Integer(), sa.ForeignKey("cases.id"), nullable=True),
    )
    op.create_index("ix_cases_created_at", "cases", ["created_at"])
    op.create_table(
        "scan_jobs",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user", sa.String(200), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("stage", sa.String(200), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
    )
    op.create_index("ix_scan_jobs_created_at", "scan_jobs", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_scan_jobs_created_at", "scan_jobs")
    op.drop_table("scan_jobs")
    op.drop_index("ix_cases_created_at", "cases")
    op.drop_table("cases")
