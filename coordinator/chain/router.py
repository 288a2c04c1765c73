"""/v1/chain (the chain this coordinator uses, published epochs) and my vouchers and proofs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from sqlalchemy import select

from app.sync.wire import ChainEpochOut, ChainInfoOut, ErrorOut, InclusionProofOut, VoucherOut
from app.wallet.merkle import epoch_id
from coordinator.chain import anchors
from coordinator.chain.service import ChainRefused, ChainService, Published
from coordinator.context import Ctx
from coordinator.deps import Admin, CtxDep, PrincipalDep, limit_by_address
from coordinator.errors import ApiError
from coordinator.ledger.service import EPOCH_PATTERN, to_credits
from coordinator.tables import epochs, redemptions

router = APIRouter(tags=["chain"])
EpochId = Annotated[str, Path(pattern=EPOCH_PATTERN, description="a UTC month, YYYY-MM")]
SubmissionId = Annotated[str, Path(min_length=1, max_length=64)]
CHAIN_ERRORS: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorOut, "description": "no chain configured, or not on chain yet"},
    502: {"model": ErrorOut, "description": "the chain node refused or did not answer"},
}


def chain_of(ctx: Ctx) -> ChainService:
    if ctx.chain is None:
        raise ApiError(409, "no_chain", "this coordinator runs without a chain (start it with --chain-rpc)")
    return ctx.chain


def refused(exc: ChainRefused) -> ApiError:
    return ApiError(502, "chain_refused", str(exc))


@router.get("/chain", response_model=ChainInfoOut, responses=CHAIN_ERRORS, dependencies=[Depends(limit_by_address)])
def chain_info(ctx: CtxDep) -> ChainInfoOut:
    """The chain, the contract addresses and the voucher signer: what a wallet checks a voucher against."""
    chain = chain_of(ctx)
    return ChainInfoOut(chain_id=chain.chain_id, contracts=chain.suite.addresses(), voucher_signer=chain.signer_address,
                        deployed_at_block=chain.config.deployed_at_block)


@router.get("/me/vouchers/{epoch}", response_model=VoucherOut,
            responses={**CHAIN_ERRORS, 404: {"model": ErrorOut, "description": "nothing to redeem for that month"}})
def my_voucher(epoch: EpochId, principal: PrincipalDep, ctx: CtxDep) -> VoucherOut:
    """My signed voucher for a closed month (the amount its close left me to redeem)."""
    chain = chain_of(ctx)
    with ctx.db.read() as conn:
        amount = conn.execute(select(redemptions.c.amount_micro).where(
            redemptions.c.epoch == epoch, redemptions.c.account_id == principal.account_id)).scalar()
    if amount is None:
        raise ApiError(404, "no_voucher", f"nothing to redeem for {epoch}: the month is not closed, or you earned "
                                          "nothing in it")
    try:
        voucher = chain.voucher(epoch, principal.address, amount)
    except ChainRefused as exc:
        raise ApiError(409, "pool_not_open", str(exc)) from None
    return VoucherOut(**voucher, credits=to_credits(amount))


@router.get("/me/submissions/{submission_id}/proof", response_model=InclusionProofOut,
            responses={**CHAIN_ERRORS, 404: {"model": ErrorOut, "description": "no such submission of mine"}})
def my_proof(submission_id: SubmissionId, principal: PrincipalDep, ctx: CtxDep) -> InclusionProofOut:
    """The Merkle proof that my accepted submission is in its epoch's anchored root."""
    chain = chain_of(ctx)
    with ctx.db.read() as conn:
        found = anchors.inclusion(conn, principal.account_id, submission_id)
    if found is None:
        raise ApiError(404, "not_found", f"you have no submission {submission_id!r}")
    if isinstance(found, str):
        raise ApiError(409, "not_anchored", f"submission {submission_id!r} is not in an anchored root: it was not "
                                            "accepted, or its month is not closed and published yet")
    return InclusionProofOut(
        submission_id=submission_id, epoch=found.epoch, chain_epoch=epoch_id(found.epoch),
        contributor=found.contributor, payload_sha256=found.payload_sha256, leaf="0x" + found.leaf.hex(),
        proof=["0x" + node.hex() for node in found.proof], root="0x" + found.anchor.root.hex(),
        leaf_count=found.anchor.leaf_count, anchor_tx=found.anchor.tx_hash, audit_anchor=chain.suite.audit_anchor.address)


def epoch_out(published: Published) -> ChainEpochOut:
    pool, anchor = published.pool, published.anchor
    return ChainEpochOut(
        epoch=published.epoch, chain_epoch=published.chain_epoch, pool_open=pool is not None,
        opens_at=pool.opens_at if pool else None, closes_at=pool.closes_at if pool else None,
        funded=str(pool.funded) if pool else None, root="0x" + anchor.root.hex() if anchor else None,
        leaf_count=anchor.leaf_count if anchor else 0, anchor_tx=anchor.tx_hash if anchor else None)


@router.post("/chain/epochs/{epoch}/publish", response_model=ChainEpochOut,
             responses={**CHAIN_ERRORS, 422: {"model": ErrorOut, "description": "malformed epoch id"}})
def publish_epoch(epoch: EpochId, _admin: Admin, ctx: CtxDep) -> ChainEpochOut:
    """Open the month's reward-pool epoch and anchor its accepted work (each once; closing the
    month does this too, this retries it after a chain failure)."""
    chain = chain_of(ctx)
    with ctx.db.read() as conn:
        closed_at = conn.execute(select(epochs.c.closed_at).where(epochs.c.id == epoch)).scalar()
    if closed_at is None:
        raise ApiError(409, "epoch_open", f"{epoch} is not closed yet: close it first (POST /v1/epochs/{epoch}/close)")
    try:
        return epoch_out(chain.publish(ctx.db, epoch, ctx.now()))
    except ChainRefused as exc:
        raise refused(exc) from None
