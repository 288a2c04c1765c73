"""quality queue: items waiting for the quality worker

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06 19:40:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # coordinator/tables.py `quality_queue` (tests/coordinator/test_schema.py keeps them equal)
    op.create_table('quality_queue',
    sa.Column('item_id', sa.String(length=32), nullable=False),
    sa.Column('queued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('not_before', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_quality_queue_item_id_items')),
    sa.PrimaryKeyConstraint('item_id', name=op.f('pk_quality_queue'))
    )
    with op.batch_alter_table('quality_queue', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quality_queue_not_before'), ['not_before'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('quality_queue', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quality_queue_not_before'))
    op.drop_table('quality_queue')
