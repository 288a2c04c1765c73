"""The Merkle tree of an epoch's accepted submissions, kept in the database.

"Accepted in epoch E" = the submission earned a reward posted in E (the ledger's `reward`
entries, one per paid submission). The tree is built once, when E is published, and its leaves
are stored with the root: a reward that commits after that lands in a later tree, and a proof
served later is always rebuilt from exactly the leaves behind the root on chain.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, String, cast, insert, select, update

from app.wallet.merkle import MerkleTree, epoch_id, submission_leaf
from coordinator.ledger.service import REWARD
from coordinator.tables import accounts, chain_anchor_leaves, chain_anchors, ledger_entries, submissions


@dataclass(frozen=True)
class StoredAnchor:
    epoch: str
    root: bytes
    leaf_count: int
    tx_hash: str | None
    anchored_at: datetime | None


@dataclass(frozen=True)
class Inclusion:
    """What a contributor needs to prove one submission: the leaf, its proof, the root."""

    epoch: str
    submission_id: str
    contributor: str
    payload_sha256: str
    leaf: bytes
    proof: list[bytes]
    anchor: StoredAnchor


def _accepted(conn: Connection, epoch: str) -> list[tuple[int, str, str]]:
    """(submission row id, contributor address, payload sha256) of the submissions paid in `epoch`."""
    rows = conn.execute(
        select(submissions.c.id, accounts.c.address, submissions.c.payload_sha256)
        .join(ledger_entries, ledger_entries.c.ref == cast(submissions.c.id, String))
        .join(accounts, accounts.c.id == submissions.c.account_id)
        .where(ledger_entries.c.kind == REWARD, ledger_entries.c.epoch == epoch,
               ledger_entries.c.account.like("user:%"), ledger_entries.c.amount_micro > 0)
        .order_by(submissions.c.id))
    return [(row.id, row.address, row.payload_sha256) for row in rows]


def stored_anchor(conn: Connection, epoch: str) -> StoredAnchor | None:
    row = conn.execute(select(chain_anchors).where(chain_anchors.c.epoch == epoch)).first()
    if row is None:
        return None
    return StoredAnchor(row.epoch, bytes.fromhex(row.root[2:]), row.leaf_count, row.tx_hash, row.anchored_at)


def build_anchor(conn: Connection, epoch: str, now: datetime) -> StoredAnchor | None:
    """The epoch's stored tree, built and stored on the first call; None when nothing was accepted."""
    existing = stored_anchor(conn, epoch)
    if existing is not None:
        return existing
    chain_epoch, leaves = epoch_id(epoch), {}
    for row_id, address, payload_sha256 in _accepted(conn, epoch):
        leaf = submission_leaf(chain_epoch, address, payload_sha256)
        leaves.setdefault(leaf, row_id)  # the same leaf twice would make a proof ambiguous
    if not leaves:
        return None
    tree = MerkleTree.build(list(leaves))
    conn.execute(insert(chain_anchors).values(epoch=epoch, root="0x" + tree.root.hex(), leaf_count=tree.leaf_count,
                                              created_at=now))
    conn.execute(insert(chain_anchor_leaves), [dict(epoch=epoch, submission_row_id=row_id, leaf="0x" + leaf.hex())
                                               for leaf, row_id in leaves.items()])
    return stored_anchor(conn, epoch)


def mark_anchored(conn: Connection, epoch: str, tx_hash: str, now: datetime) -> None:
    conn.execute(update(chain_anchors).where(chain_anchors.c.epoch == epoch)
                 .values(tx_hash=tx_hash, anchored_at=now))


def inclusion(conn: Connection, account_id: int, submission_id: str) -> Inclusion | None | str:
    """My submission's proof; None if I have no such submission, "not_anchored" when it is not
    (yet) in an anchored tree."""
    sub = conn.execute(select(submissions.c.id, submissions.c.payload_sha256, accounts.c.address)
                       .join(accounts, accounts.c.id == submissions.c.account_id)
                       .where(submissions.c.account_id == account_id,
                              submissions.c.submission_id == submission_id)).first()
    if sub is None:
        return None
    mine = conn.execute(select(chain_anchor_leaves.c.epoch, chain_anchor_leaves.c.leaf)
                        .where(chain_anchor_leaves.c.submission_row_id == sub.id)).first()
    if mine is None:
        return "not_anchored"
    anchor = stored_anchor(conn, mine.epoch)
    if anchor is None or anchor.tx_hash is None:
        return "not_anchored"
    leaves = conn.execute(select(chain_anchor_leaves.c.leaf).where(chain_anchor_leaves.c.epoch == mine.epoch)).scalars()
    tree = MerkleTree.build([bytes.fromhex(leaf[2:]) for leaf in leaves])
    leaf = bytes.fromhex(mine.leaf[2:])
    return Inclusion(mine.epoch, submission_id, sub.address, sub.payload_sha256, leaf, tree.proof(leaf), anchor)
