"""The coordinator's tables (SQLAlchemy Core: the ingest path cannot afford ORM bookkeeping).

One schema for SQLite and PostgreSQL. Money is integer micro-credits. Uniqueness that the
protocol promises is a database constraint, not a check in Python: a lease per (item,
account) — nobody gets the same item twice —, a submission per (account, submission id)
— deduplication is permanent —, one redemption per (epoch, account).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON, BigInteger, Boolean, Column, Date, DateTime, Float, ForeignKey, Index, Integer, MetaData,
    String, Table, Text, UniqueConstraint, false, literal,
)

metadata = MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})


def _at(name: str, nullable: bool = False) -> Column:
    return Column(name, DateTime(timezone=True), nullable=nullable)


accounts = Table(
    "accounts", metadata,
    Column("id", Integer, primary_key=True),
    Column("address", String(42), nullable=False, unique=True),  # EIP-55 checksummed
    Column("roles", JSON, nullable=False),  # list of wire.Role values
    Column("tier", Integer, nullable=False, default=0),
    Column("languages", JSON, nullable=False),
    Column("skills", JSON, nullable=False),
    Column("locked", Boolean, nullable=False, default=False),  # banned from the whole service
    _at("created_at"),
)

nonces = Table(
    "nonces", metadata,
    Column("nonce", String(64), primary_key=True),
    _at("expires_at"),
    _at("used_at", nullable=True),
)

sessions = Table(
    "sessions", metadata,
    Column("token_sha256", String(64), primary_key=True),  # the token itself is never stored
    Column("account_id", ForeignKey("accounts.id"), nullable=False, index=True),
    _at("created_at"),
    _at("expires_at"),
    _at("revoked_at", nullable=True),
)

data_requests = Table(
    "data_requests", metadata,
    Column("id", String(32), primary_key=True),
    Column("requester_id", ForeignKey("accounts.id"), nullable=False, index=True),
    Column("spec", JSON, nullable=False),  # wire.DataRequestIn as sent
    Column("modality", String(16), nullable=False),
    Column("family", String(64), nullable=False),  # task family for reputation, e.g. "image:box"
    Column("redundancy", Integer, nullable=False),
    Column("gold_rate", Float, nullable=False),
    Column("reward_micro", BigInteger, nullable=False),
    Column("min_tier", Integer, nullable=False),
    Column("languages", JSON, nullable=False),
    Column("skills", JSON, nullable=False),
    _at("deadline", nullable=True),
    Column("status", String(16), nullable=False),  # open | closed
    _at("created_at"),
)

assets = Table(
    "assets", metadata,
    Column("id", String(32), primary_key=True),
    Column("request_id", ForeignKey("data_requests.id"), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("received", BigInteger, nullable=False, default=0),
    Column("filename", String(255), nullable=False),
    Column("media_type", String(100), nullable=False),
    Column("complete", Boolean, nullable=False, default=False),
    Column("gold", JSON, nullable=True),  # a honeypot's truth (wire.Labels), declared with the asset
    _at("created_at"),
    UniqueConstraint("request_id", "sha256"),
)

items = Table(
    "items", metadata,
    Column("id", String(32), primary_key=True),  # random: gold and normal items look alike
    Column("rank", BigInteger, nullable=False),  # queue order within the service
    Column("request_id", ForeignKey("data_requests.id"), nullable=False),
    Column("asset_id", ForeignKey("assets.id"), nullable=False, unique=True),
    Column("is_gold", Boolean, nullable=False),
    Column("gold_truth", JSON, nullable=True),  # wire.Labels of a honeypot
    Column("state", String(16), nullable=False),  # wire.ItemState
    Column("needed", Integer, nullable=False),  # annotators wanted: k, plus extras on disagreement
    Column("slots_open", Integer, nullable=False),  # needed - live leases - counted submissions
    Column("submitted", Integer, nullable=False, default=0),
    Column("lease_epoch", Integer, nullable=False, default=0),  # fencing counter
    Column("consensus", JSON, nullable=True),  # wire.Labels
    Column("agreement", Float, nullable=True),
    Column("decided_by", String(16), nullable=True),  # consensus | expert
    _at("created_at"),
    _at("closed_at", nullable=True),
    Index(None, "state", "is_gold", "request_id", "rank"),
    Index(None, "request_id", "state"),  # a request's progress
)
# PostgreSQL: the leasable normal items of a request, in queue order (lease p50/p95 measured
# 18.9/26.2 -> 11.3/14.3 ms with 30k leases out); SQLite's planner keeps the index above
Index("ix_items_leasable", items.c.request_id, items.c.rank,
      postgresql_where=(items.c.state == literal("open")) & (items.c.is_gold == false()) & (items.c.slots_open > literal(0)))

leases = Table(
    "leases", metadata,
    Column("id", String(32), primary_key=True),
    Column("item_id", ForeignKey("items.id"), nullable=False),
    Column("account_id", ForeignKey("accounts.id"), nullable=False, index=True),
    Column("epoch", Integer, nullable=False),
    Column("state", String(16), nullable=False),  # active | submitted | expired
    _at("expires_at"),
    _at("created_at"),
    UniqueConstraint("item_id", "account_id"),
    Index(None, "state", "expires_at"),
)

submissions = Table(
    "submissions", metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", ForeignKey("accounts.id"), nullable=False),
    Column("submission_id", String(64), nullable=False),
    Column("item_id", ForeignKey("items.id"), nullable=False, index=True),
    Column("lease_id", ForeignKey("leases.id"), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("payload_sha256", String(64), nullable=False),
    Column("signature", String(132), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("response", JSON, nullable=False),  # replayed verbatim for the same key
    Column("flagged", Boolean, nullable=False, default=False),
    Column("flag_reason", String(200), nullable=True),
    Column("outcome", String(16), nullable=True),  # agreed | disagreed | gold_pass | gold_fail
    Column("score", Float, nullable=True),  # agreement with consensus or gold truth
    _at("created_at"),
    UniqueConstraint("account_id", "submission_id"),
)

reviews = Table(
    "reviews", metadata,
    Column("id", String(32), primary_key=True),
    Column("item_id", ForeignKey("items.id"), nullable=False, unique=True),
    Column("reason", String(200), nullable=False),
    Column("agreement", Float, nullable=True),
    Column("proposal", JSON, nullable=True),
    Column("reviewer_id", ForeignKey("accounts.id"), nullable=True),
    Column("decision", JSON, nullable=True),
    Column("note", Text, nullable=True),
    _at("created_at"),
    _at("decided_at", nullable=True),
    Index(None, "decided_at", "created_at"),
)

reputations = Table(
    "reputations", metadata,
    Column("account_id", ForeignKey("accounts.id"), primary_key=True),
    Column("family", String(64), primary_key=True),
    Column("alpha", Float, nullable=False),  # Beta posterior, decayed toward the prior
    Column("beta", Float, nullable=False),
    Column("gold_seen", Integer, nullable=False, default=0),
    Column("gold_failed", Integer, nullable=False, default=0),
    _at("updated_at"),
)

request_locks = Table(
    "request_locks", metadata,  # an account locked out of one data request (failed honeypots)
    Column("account_id", ForeignKey("accounts.id"), primary_key=True),
    Column("request_id", ForeignKey("data_requests.id"), primary_key=True),
    Column("reason", String(200), nullable=False),
    _at("created_at"),
)

ledger_entries = Table(
    "ledger_entries", metadata,  # double entry: the entries of one tx_id sum to zero
    Column("id", Integer, primary_key=True),
    Column("tx_id", String(32), nullable=False, index=True),
    Column("account", String(64), nullable=False),  # "user:<id>", "request:<id>", "redeemable:<epoch>"
    Column("amount_micro", BigInteger, nullable=False),
    Column("kind", String(32), nullable=False),  # reward | redemption | adjustment
    Column("ref", String(64), nullable=True),  # e.g. the submission row that earned it
    Column("epoch", String(7), nullable=False),  # "YYYY-MM"
    _at("created_at"),
    Index(None, "account", "epoch"),
    UniqueConstraint("kind", "ref", "account"),  # a submission is paid once
)

epochs = Table(
    "epochs", metadata,
    Column("id", String(7), primary_key=True),
    _at("closed_at", nullable=True),
    Column("total_micro", BigInteger, nullable=True),
)

redemptions = Table(
    "redemptions", metadata,  # an epoch's redeemable total per account, the voucher's amount
    Column("epoch", ForeignKey("epochs.id"), primary_key=True),
    Column("account_id", ForeignKey("accounts.id"), primary_key=True),
    Column("amount_micro", BigInteger, nullable=False),
)

profiles = Table(
    "profiles", metadata,  # the game layer: XP, streak, daily tasks, energy
    Column("account_id", ForeignKey("accounts.id"), primary_key=True),
    Column("xp", BigInteger, nullable=False, default=0),
    Column("streak_days", Integer, nullable=False, default=0),
    Column("last_active_day", Date, nullable=True),
    Column("tasks_today", Integer, nullable=False, default=0),
    Column("energy", Integer, nullable=False),
    _at("energy_at"),  # when `energy` was last brought up to date
)

# --- chain side (coordinator/chain): what was anchored, so proofs match the root on chain ----
chain_anchors = Table(
    "chain_anchors", metadata,  # one Merkle root per closed epoch with accepted work
    Column("epoch", ForeignKey("epochs.id"), primary_key=True),
    Column("root", String(66), nullable=False),  # 0x + 64 hex
    Column("leaf_count", Integer, nullable=False),
    Column("tx_hash", String(66), nullable=True),  # set once the root is on chain
    _at("created_at"),
    _at("anchored_at", nullable=True),
)

chain_anchor_leaves = Table(
    "chain_anchor_leaves", metadata,  # the leaves of an anchored root: a proof is rebuilt from them
    Column("epoch", ForeignKey("chain_anchors.epoch"), primary_key=True),
    Column("submission_row_id", ForeignKey("submissions.id"), primary_key=True),
    Column("leaf", String(66), nullable=False),
    UniqueConstraint("submission_row_id"),  # an accepted submission belongs to one epoch's tree
)

quality_queue = Table(
    "quality_queue", metadata,  # items waiting for the quality step (coordinator/quality/worker.py)
    # written in the ingest transaction that made the item ready (its k-th counted answer, or
    # any gold answer), so a crash between ingest and quality loses nothing
    Column("item_id", ForeignKey("items.id"), primary_key=True),
    _at("queued_at"),
    _at("not_before"),  # a failed attempt is retried after a back-off, not at once
    Column("attempts", Integer, nullable=False, default=0),  # failed attempts so far
    Column("last_error", String(500), nullable=True),
    Index(None, "not_before"),
)
