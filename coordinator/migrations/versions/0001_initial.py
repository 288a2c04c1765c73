"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-25 07:07:59.042457
"""

from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    # generated from coordinator/tables.py (tests/coordinator/test_schema.py keeps them equal)
    op.create_table('accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('address', sa.String(length=42), nullable=False),
    sa.Column('roles', sa.JSON(), nullable=False),
    sa.Column('tier', sa.Integer(), nullable=False),
    sa.Column('languages', sa.JSON(), nullable=False),
    sa.Column('skills', sa.JSON(), nullable=False),
    sa.Column('locked', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accounts')),
    sa.UniqueConstraint('address', name=op.f('uq_accounts_address'))
    )
    op.create_table('epochs',
    sa.Column('id', sa.String(length=7), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('total_micro', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_epochs'))
    )
    op.create_table('ledger_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tx_id', sa.String(length=32), nullable=False),
    sa.Column('account', sa.String(length=64), nullable=False),
    sa.Column('amount_micro', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('ref', sa.String(length=64), nullable=True),
    sa.Column('epoch', sa.String(length=7), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_entries')),
    sa.UniqueConstraint('kind', 'ref', 'account', name=op.f('uq_ledger_entries_kind_ref_account'))
    )
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_entries_account_epoch'), ['account', 'epoch'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_entries_tx_id'), ['tx_id'], unique=False)

    op.create_table('nonces',
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('nonce', name=op.f('pk_nonces'))
    )
    op.create_table('data_requests',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('requester_id', sa.Integer(), nullable=False),
    sa.Column('spec', sa.JSON(), nullable=False),
    sa.Column('modality', sa.String(length=16), nullable=False),
    sa.Column('family', sa.String(length=64), nullable=False),
    sa.Column('redundancy', sa.Integer(), nullable=False),
    sa.Column('gold_rate', sa.Float(), nullable=False),
    sa.Column('reward_micro', sa.BigInteger(), nullable=False),
    sa.Column('min_tier', sa.Integer(), nullable=False),
    sa.Column('languages', sa.JSON(), nullable=False),
    sa.Column('skills', sa.JSON(), nullable=False),
    sa.Column('deadline', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['requester_id'], ['accounts.id'], name=op.f('fk_data_requests_requester_id_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_requests'))
    )
    with op.batch_alter_table('data_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_data_requests_requester_id'), ['requester_id'], unique=False)

    op.create_table('profiles',
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('xp', sa.BigInteger(), nullable=False),
    sa.Column('streak_days', sa.Integer(), nullable=False),
    sa.Column('last_active_day', sa.Date(), nullable=True),
    sa.Column('tasks_today', sa.Integer(), nullable=False),
    sa.Column('energy', sa.Integer(), nullable=False),
    sa.Column('energy_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_profiles_account_id_accounts')),
    sa.PrimaryKeyConstraint('account_id', name=op.f('pk_profiles'))
    )
    op.create_table('redemptions',
    sa.Column('epoch', sa.String(length=7), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('amount_micro', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_redemptions_account_id_accounts')),
    sa.ForeignKeyConstraint(['epoch'], ['epochs.id'], name=op.f('fk_redemptions_epoch_epochs')),
    sa.PrimaryKeyConstraint('epoch', 'account_id', name=op.f('pk_redemptions'))
    )
    op.create_table('reputations',
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('family', sa.String(length=64), nullable=False),
    sa.Column('alpha', sa.Float(), nullable=False),
    sa.Column('beta', sa.Float(), nullable=False),
    sa.Column('gold_seen', sa.Integer(), nullable=False),
    sa.Column('gold_failed', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_reputations_account_id_accounts')),
    sa.PrimaryKeyConstraint('account_id', 'family', name=op.f('pk_reputations'))
    )
    op.create_table('sessions',
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_sessions_account_id_accounts')),
    sa.PrimaryKeyConstraint('token_sha256', name=op.f('pk_sessions'))
    )
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sessions_account_id'), ['account_id'], unique=False)

    op.create_table('assets',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('request_id', sa.String(length=32), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('received', sa.BigInteger(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('media_type', sa.String(length=100), nullable=False),
    sa.Column('complete', sa.Boolean(), nullable=False),
    sa.Column('gold', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['data_requests.id'], name=op.f('fk_assets_request_id_data_requests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assets')),
    sa.UniqueConstraint('request_id', 'sha256', name=op.f('uq_assets_request_id_sha256'))
    )
    op.create_table('request_locks',
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.String(length=32), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_request_locks_account_id_accounts')),
    sa.ForeignKeyConstraint(['request_id'], ['data_requests.id'], name=op.f('fk_request_locks_request_id_data_requests')),
    sa.PrimaryKeyConstraint('account_id', 'request_id', name=op.f('pk_request_locks'))
    )
    op.create_table('items',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('rank', sa.BigInteger(), nullable=False),
    sa.Column('request_id', sa.String(length=32), nullable=False),
    sa.Column('asset_id', sa.String(length=32), nullable=False),
    sa.Column('is_gold', sa.Boolean(), nullable=False),
    sa.Column('gold_truth', sa.JSON(), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('needed', sa.Integer(), nullable=False),
    sa.Column('slots_open', sa.Integer(), nullable=False),
    sa.Column('submitted', sa.Integer(), nullable=False),
    sa.Column('lease_epoch', sa.Integer(), nullable=False),
    sa.Column('consensus', sa.JSON(), nullable=True),
    sa.Column('agreement', sa.Float(), nullable=True),
    sa.Column('decided_by', sa.String(length=16), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_items_asset_id_assets')),
    sa.ForeignKeyConstraint(['request_id'], ['data_requests.id'], name=op.f('fk_items_request_id_data_requests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_items')),
    sa.UniqueConstraint('asset_id', name=op.f('uq_items_asset_id'))
    )
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.create_index('ix_items_leasable', ['request_id', 'rank'], unique=False, postgresql_where=sa.text("state = 'open' AND is_gold = false AND slots_open > 0"))
        batch_op.create_index(batch_op.f('ix_items_request_id_state'), ['request_id', 'state'], unique=False)
        batch_op.create_index(batch_op.f('ix_items_state_is_gold_request_id_rank'), ['state', 'is_gold', 'request_id', 'rank'], unique=False)

    op.create_table('leases',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('item_id', sa.String(length=32), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('epoch', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_leases_account_id_accounts')),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_leases_item_id_items')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_leases')),
    sa.UniqueConstraint('item_id', 'account_id', name=op.f('uq_leases_item_id_account_id'))
    )
    with op.batch_alter_table('leases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_leases_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_leases_state_expires_at'), ['state', 'expires_at'], unique=False)

    op.create_table('reviews',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('item_id', sa.String(length=32), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('agreement', sa.Float(), nullable=True),
    sa.Column('proposal', sa.JSON(), nullable=True),
    sa.Column('reviewer_id', sa.Integer(), nullable=True),
    sa.Column('decision', sa.JSON(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_reviews_item_id_items')),
    sa.ForeignKeyConstraint(['reviewer_id'], ['accounts.id'], name=op.f('fk_reviews_reviewer_id_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reviews')),
    sa.UniqueConstraint('item_id', name=op.f('uq_reviews_item_id'))
    )
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reviews_decided_at_created_at'), ['decided_at', 'created_at'], unique=False)

    op.create_table('submissions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('submission_id', sa.String(length=64), nullable=False),
    sa.Column('item_id', sa.String(length=32), nullable=False),
    sa.Column('lease_id', sa.String(length=32), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('payload_sha256', sa.String(length=64), nullable=False),
    sa.Column('signature', sa.String(length=132), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=False),
    sa.Column('response', sa.JSON(), nullable=False),
    sa.Column('flagged', sa.Boolean(), nullable=False),
    sa.Column('flag_reason', sa.String(length=200), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=True),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_submissions_account_id_accounts')),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_submissions_item_id_items')),
    sa.ForeignKeyConstraint(['lease_id'], ['leases.id'], name=op.f('fk_submissions_lease_id_leases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_submissions')),
    sa.UniqueConstraint('account_id', 'submission_id', name=op.f('uq_submissions_account_id_submission_id'))
    )
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_submissions_item_id'), ['item_id'], unique=False)



def downgrade() -> None:
    # generated from coordinator/tables.py (tests/coordinator/test_schema.py keeps them equal)
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_submissions_item_id'))

    op.drop_table('submissions')
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reviews_decided_at_created_at'))

    op.drop_table('reviews')
    with op.batch_alter_table('leases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_leases_state_expires_at'))
        batch_op.drop_index(batch_op.f('ix_leases_account_id'))

    op.drop_table('leases')
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_items_state_is_gold_request_id_rank'))
        batch_op.drop_index(batch_op.f('ix_items_request_id_state'))
        batch_op.drop_index('ix_items_leasable', postgresql_where=sa.text("state = 'open' AND is_gold = false AND slots_open > 0"))

    op.drop_table('items')
    op.drop_table('request_locks')
    op.drop_table('assets')
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sessions_account_id'))

    op.drop_table('sessions')
    op.drop_table('reputations')
    op.drop_table('redemptions')
    op.drop_table('profiles')
    with op.batch_alter_table('data_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_data_requests_requester_id'))

    op.drop_table('data_requests')
    op.drop_table('nonces')
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_entries_tx_id'))
        batch_op.drop_index(batch_op.f('ix_ledger_entries_account_epoch'))

    op.drop_table('ledger_entries')
    op.drop_table('epochs')
    op.drop_table('accounts')
