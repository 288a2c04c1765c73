"""Verify that my accepted submission is in its epoch's anchored root: the coordinator's proof is
checked here (merkle.py, with the leaf recomputed from my address and the payload's SHA-256) and
on chain (the root AuditAnchor holds, and AuditAnchor.verifySubmission)."""

from __future__ import annotations

from dataclasses import dataclass

from app.sync.wire import InclusionProofOut
from app.wallet.chain import ChainWallet
from app.wallet.contracts import call
from app.wallet.errors import WalletError
from app.wallet.merkle import submission_leaf, verify_proof


@dataclass(frozen=True)
class Verified:
    submission_id: str
    epoch: str
    root: str
    leaf_count: int
    checked_locally: bool
    checked_on_chain: bool


def verify_inclusion(cw: ChainWallet, proof: InclusionProofOut, *, payload_sha256: str | None = None) -> Verified:
    """Both checks, or WalletError saying which failed. `payload_sha256`: my own copy's digest, when
    I kept it, so the coordinator cannot prove a payload other than the one I sent."""
    if proof.contributor.lower() != cw.address.lower():
        raise WalletError(f"the proof is for {proof.contributor}, not your account {cw.address}")
    if payload_sha256 is not None and payload_sha256.lower() != proof.payload_sha256.lower():
        raise WalletError(f"the coordinator proves payload {proof.payload_sha256}, not yours ({payload_sha256})")
    digest = bytes.fromhex(proof.payload_sha256)
    leaf = submission_leaf(proof.chain_epoch, cw.address, digest)
    if "0x" + leaf.hex() != proof.leaf.lower():
        raise WalletError("the proof's leaf is not the one your submission makes: it proves something else")
    nodes = [bytes.fromhex(node[2:]) for node in proof.proof]
    root = bytes.fromhex(proof.root[2:])
    if not verify_proof(root, leaf, nodes):
        raise WalletError(f"the proof does not lead to the root {proof.root}: it is wrong")
    anchored = cw.suite.anchor(proof.chain_epoch)
    if anchored is None:
        raise WalletError(f"no root is anchored on chain for {proof.epoch} yet")
    if anchored.root != root:
        raise WalletError(f"the root anchored on chain for {proof.epoch} is 0x{anchored.root.hex()}, "
                          f"not the coordinator's {proof.root}")
    anchor = cw.suite.audit_anchor.functions.verifySubmission(proof.chain_epoch, cw.address, digest, nodes)
    if call(anchor) is not True:
        raise WalletError("AuditAnchor on chain rejects the proof")
    return Verified(proof.submission_id, proof.epoch, proof.root, anchored.leaf_count, True, True)
