"""chain side: anchored roots and their leaves

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 20:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('chain_anchors',
    sa.Column('epoch', sa.String(length=7), nullable=False),
    sa.Column('root', sa.String(length=66), nullable=False),
    sa.Column('leaf_count', sa.Integer(), nullable=False),
    sa.Column('tx_hash', sa.String(length=66), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('anchored_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['epoch'], ['epochs.id'], name=op.f('fk_chain_anchors_epoch_epochs')),
    sa.PrimaryKeyConstraint('epoch', name=op.f('pk_chain_anchors'))
    )
    op.create_table('chain_anchor_leaves',
    sa.Column('epoch', sa.String(length=7), nullable=False),
    sa.Column('submission_row_id', sa.Integer(), nullable=False),
    sa.Column('leaf', sa.String(length=66), nullable=False),
    sa.ForeignKeyConstraint(['epoch'], ['chain_anchors.epoch'], name=op.f('fk_chain_anchor_leaves_epoch_chain_anchors')),
    sa.ForeignKeyConstraint(['submission_row_id'], ['submissions.id'], name=op.f('fk_chain_anchor_leaves_submission_row_id_submissions')),
    sa.PrimaryKeyConstraint('epoch', 'submission_row_id', name=op.f('pk_chain_anchor_leaves')),
    sa.UniqueConstraint('submission_row_id', name=op.f('uq_chain_anchor_leaves_submission_row_id'))
    )


def downgrade() -> None:
    op.drop_table('chain_anchor_leaves')
    op.drop_table('chain_anchors')
