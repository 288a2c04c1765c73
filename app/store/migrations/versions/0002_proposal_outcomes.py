"""Proposal outcomes: what humans did with model proposals (the feedback loop).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

from app.store.tables import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "proposal_outcomes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("annotation_id", sa.String(32), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("model", sa.String(100), nullable=False),
        sa.Column("outcome", sa.String(10), nullable=False),
        sa.Column("iou", sa.Float(), nullable=True),
        sa.Column("vertices_changed", sa.Integer(), nullable=True),
        sa.Column("seconds", sa.Float(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("outcome IN ('accepted', 'edited', 'deleted')",
                           name="ck_proposal_outcomes_outcome"),
        sa.ForeignKeyConstraint(["asset_id"], ["assets.id"], name="fk_proposal_outcomes_asset_id_assets",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"],
                                name="fk_proposal_outcomes_project_id_projects", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_proposal_outcomes"),
        sa.UniqueConstraint("annotation_id", name="uq_proposal_outcomes_annotation_id"),
    )
    op.create_index("ix_proposal_outcomes_project_label_model", "proposal_outcomes",
                    ["project_id", "label", "model"])


def downgrade() -> None:
    op.drop_index("ix_proposal_outcomes_project_label_model", table_name="proposal_outcomes")
    op.drop_table("proposal_outcomes")
