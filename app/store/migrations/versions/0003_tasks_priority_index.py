"""Task lists in their display order (priority first, then id) without a sort.

Tracks and audio segments need no table: they are annotation rows with the shape kinds
"track" and "segment" (see app/annotators/timeline.py), versioned and synced like any other.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # DESC on priority only: ORDER BY priority DESC, id ASC cannot use an all-ascending index.
    op.create_index("ix_tasks_project_priority", "tasks", ["project_id", sa.text("priority DESC"), "id"])


def downgrade() -> None:
    op.drop_index("ix_tasks_project_priority", table_name="tasks")
