"""Sync state: the outcome of each submission pushed to the coordinator, and the data request
a synced project mirrors.

- tasks.sync_state: NULL for local work; queued | sent | conflicted | late | rejected once a
  leased task was submitted; tasks.sync_detail: the server's reason, in its words.
- outbox.outcome (NULL while waiting), outbox.response (the server's answer), outbox.signature
  (the wallet's signature, kept once made so that a retry sends the same bytes).
- projects.remote_request_id: the coordinator's data request a project holds the tasks of.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

SYNC_STATES = "sync_state IS NULL OR sync_state IN ('queued', 'sent', 'conflicted', 'late', 'rejected')"
OUTCOMES = "outcome IS NULL OR outcome IN ('sent', 'conflicted', 'late', 'rejected')"


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("sync_state", sa.String(12), nullable=True))
        batch.add_column(sa.Column("sync_detail", sa.Text(), nullable=True))
        batch.create_check_constraint("sync_state", SYNC_STATES)
    _restore_priority_index()
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("outcome", sa.String(12), nullable=True))
        batch.add_column(sa.Column("response", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("signature", sa.String(132), nullable=True))
        batch.create_check_constraint("outcome", OUTCOMES)
    with op.batch_alter_table("projects") as batch:
        batch.add_column(sa.Column("remote_request_id", sa.String(64), nullable=True))
        batch.create_unique_constraint("uq_projects_remote_request_id", ["remote_request_id"])
    # the syncer's queue: waiting submissions in order, without scanning the annotation journal
    op.create_index("ix_outbox_entity_outcome", "outbox", ["entity", "outcome", "id"])


def downgrade() -> None:
    op.drop_index("ix_outbox_entity_outcome", table_name="outbox")
    with op.batch_alter_table("projects") as batch:
        batch.drop_constraint("uq_projects_remote_request_id", type_="unique")
        batch.drop_column("remote_request_id")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_constraint("outcome", type_="check")
        batch.drop_column("signature")
        batch.drop_column("response")
        batch.drop_column("outcome")
    with op.batch_alter_table("tasks") as batch:
        batch.drop_constraint("sync_state", type_="check")
        batch.drop_column("sync_detail")
        batch.drop_column("sync_state")
    _restore_priority_index()


def _restore_priority_index() -> None:
    # batch mode rebuilds the table from reflection, which loses the index's DESC (see 0003)
    op.drop_index("ix_tasks_project_priority", table_name="tasks")
    op.create_index("ix_tasks_project_priority", "tasks", ["project_id", sa.text("priority DESC"), "id"])
