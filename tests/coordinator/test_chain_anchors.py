"""The anchored tree of an epoch: only paid (accepted) submissions are leaves, the tree is stored
once and stays what was anchored, and a proof is served only once the root is on chain."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from app.wallet.merkle import epoch_id, submission_leaf, verify_proof
from coordinator.chain import anchors
from coordinator.config import CoordinatorConfig
from coordinator.ledger.service import pay_reward
from coordinator.tables import accounts, epochs, leases, submissions
from tests.coordinator.contributor import seed_request
from tests.coordinator.wallets import Wallet

NOW = datetime(2026, 11, 20, tzinfo=timezone.utc)
EPOCH = "2026-11"


def _submit(conn: Any, account_id: int, item_id: str, n: int) -> tuple[int, str, str]:
    lease_id = secrets.token_hex(8)
    conn.execute(leases.insert().values(id=lease_id, item_id=item_id, account_id=account_id, epoch=1,
                                        state="submitted", expires_at=NOW, created_at=NOW))
    digest = hashlib.sha256(f"payload {n}".encode()).hexdigest()
    row = conn.execute(submissions.insert().values(
        account_id=account_id, submission_id=f"s{n}", item_id=item_id, lease_id=lease_id, payload={"n": n},
        payload_sha256=digest, signature="0x" + "00" * 65, status_code=201, response={}, flagged=False,
        created_at=NOW)).inserted_primary_key[0]
    return row, f"s{n}", digest


def test_only_paid_submissions_are_leaves_and_the_tree_stays_as_anchored(db: Any) -> None:
    config = CoordinatorConfig(db_url="sqlite://", storage_dir=Path("unused"))
    seeded = seed_request(db, items_n=4)
    people = [Wallet.numbered(700 + i) for i in range(3)]
    with db.write() as conn:
        ids = [conn.execute(accounts.insert().values(address=p.address, roles=["contributor"], tier=0, languages=[],
                                                     skills=[], locked=False, created_at=NOW)).inserted_primary_key[0]
               for p in people]
        made = [_submit(conn, ids[i % 3], seeded.items[i], i) for i in range(4)]
        for row, _, _ in made[:3]:  # the fourth was not accepted: never paid
            account_id = conn.execute(submissions.select().where(submissions.c.id == row)).one().account_id
            pay_reward(conn, account_id=account_id, tier=0, request_id=seeded.request_id, reward_micro=500_000,
                       submission_row_id=row, now=NOW, config=config)
        conn.execute(epochs.insert().values(id=EPOCH, closed_at=NOW, total_micro=0))  # published after the close
        stored = anchors.build_anchor(conn, EPOCH, NOW)
        assert stored is not None and stored.leaf_count == 3 and stored.tx_hash is None
        assert anchors.inclusion(conn, ids[0], "s0") == "not_anchored"  # not on chain yet
        anchors.mark_anchored(conn, EPOCH, "0x" + "ab" * 32, NOW)
        late = _submit(conn, ids[1], seeded.items[3], 9)  # paid in the epoch after its tree was built
        pay_reward(conn, account_id=ids[1], tier=0, request_id=seeded.request_id, reward_micro=500_000,
                   submission_row_id=late[0], now=NOW, config=config)
        assert anchors.build_anchor(conn, EPOCH, NOW).root == stored.root  # stored once: the anchored tree
        proof = anchors.inclusion(conn, ids[1], "s1")
        unpaid, later = anchors.inclusion(conn, ids[0], "s3"), anchors.inclusion(conn, ids[1], "s9")
        stranger = anchors.inclusion(conn, ids[2], "s0")
    assert (unpaid, later, stranger) == ("not_anchored", "not_anchored", None)
    leaf = submission_leaf(epoch_id(EPOCH), people[1].address, made[1][2])
    assert proof.leaf == leaf and verify_proof(stored.root, leaf, proof.proof)
    assert proof.anchor.tx_hash == "0x" + "ab" * 32
