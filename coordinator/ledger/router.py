"""/v1/me (profile, balance, ledger, redemptions) and /v1/epochs (an administrator closes a month)."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from app.sync.wire import (
    BalanceOut, EpochOut, ErrorOut, LedgerEntryOut, LedgerPageOut, ProfileOut, RedemptionOut,
)
from coordinator.chain.service import ChainRefused
from coordinator.deps import Admin, CtxDep, PrincipalDep
from coordinator.errors import ApiError
from coordinator.ledger import game, service
from coordinator.ledger.service import EPOCH_PATTERN, to_credits

router = APIRouter(tags=["credits"])
log = logging.getLogger(__name__)
EpochId = Annotated[str, Path(pattern=EPOCH_PATTERN, description="a UTC month, YYYY-MM")]
SIGNED_IN: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "not signed in"},
    403: {"model": ErrorOut, "description": "account locked"},
    429: {"model": ErrorOut, "description": "rate limited"},
}
ADMIN: dict[int | str, dict[str, Any]] = {
    **SIGNED_IN, 403: {"model": ErrorOut, "description": "not an administrator, or locked"},
    422: {"model": ErrorOut, "description": "malformed epoch id"},
}


@router.get("/me", response_model=ProfileOut, responses=SIGNED_IN)
def me(principal: PrincipalDep, ctx: CtxDep) -> ProfileOut:
    """Who I am and my game state: XP, level, streak, tasks today, energy (up to date)."""
    with ctx.db.read() as conn:
        state = game.profile(conn, principal.account_id, ctx.now(), ctx.config)
    return ProfileOut(address=principal.address, roles=sorted(principal.roles), tier=principal.tier, **state)


@router.get("/me/balance", response_model=BalanceOut, responses=SIGNED_IN)
def my_balance(principal: PrincipalDep, ctx: CtxDep) -> BalanceOut:
    """My credits (not yet redeemed), the open epoch and what I earned in it."""
    epoch, account = service.epoch_of(ctx.now()), service.user_account(principal.account_id)
    with ctx.db.read() as conn:
        balance, earned = service.balance(conn, account), service.earned_in(conn, account, epoch)
    return BalanceOut(account=principal.address, balance=to_credits(balance), epoch=epoch,
                      earned_this_epoch=to_credits(max(earned, 0)))


@router.get("/me/ledger", response_model=LedgerPageOut, responses={**SIGNED_IN, 422: {"model": ErrorOut}})
def my_ledger(principal: PrincipalDep, ctx: CtxDep,
              limit: Annotated[int, Query(ge=1, le=200)] = 50,
              before: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None) -> LedgerPageOut:  # entry ids are 32-bit
    """My ledger entries, newest first; page with `before` = the previous page's `next_before`."""
    with ctx.db.read() as conn:
        rows = service.entries(conn, service.user_account(principal.account_id), limit=limit, before=before)
    entries = [LedgerEntryOut(id=r["id"], tx_id=r["tx_id"], kind=r["kind"], ref=r["ref"],
                              amount=to_credits(r["amount_micro"]), epoch=r["epoch"], created_at=r["created_at"])
               for r in rows]
    return LedgerPageOut(entries=entries, next_before=entries[-1].id if len(entries) == limit else None)


@router.get("/me/redemptions", response_model=list[RedemptionOut], responses=SIGNED_IN)
def my_redemptions(principal: PrincipalDep, ctx: CtxDep) -> list[RedemptionOut]:
    """What each closed month left me to redeem (the vouchers' amounts), oldest first."""
    with ctx.db.read() as conn:
        rows = service.redemptions_of(conn, principal.account_id)
    return [RedemptionOut(epoch=r["epoch"], amount=to_credits(r["amount_micro"]), closed_at=r["closed_at"])
            for r in rows]


def _epoch_out(totals: service.EpochTotals) -> EpochOut:
    return EpochOut(epoch=totals.epoch, closed=totals.closed_at is not None, closed_at=totals.closed_at,
                    earned=to_credits(totals.earned_micro), accounts=totals.accounts,
                    redeemable=None if totals.total_micro is None else to_credits(totals.total_micro))


@router.post("/epochs/{epoch}/close", response_model=EpochOut,
             responses={**ADMIN, 409: {"model": ErrorOut, "description": "the month is not over"}})
def close_epoch(epoch: EpochId, _admin: Admin, ctx: CtxDep) -> EpochOut:
    """Closes an ended month into redemption totals; closing it again returns the same totals."""
    try:
        with ctx.db.write() as conn:
            totals = service.close_epoch(conn, epoch, ctx.now())
    except service.EpochNotOver as exc:
        raise ApiError(409, "epoch_open", str(exc)) from None
    except ValueError as exc:
        raise ApiError(422, "invalid_epoch", str(exc)) from None
    if ctx.chain is not None:  # open the pool epoch, anchor the accepted work; retried by /chain/epochs/…/publish
        try:
            ctx.chain.publish(ctx.db, epoch, ctx.now())
        except ChainRefused as exc:
            log.warning("epoch %s closed, but publishing it on chain failed: %s", epoch, exc)
    return _epoch_out(totals)


@router.get("/epochs/{epoch}", response_model=EpochOut, responses=ADMIN)
def get_epoch(epoch: EpochId, _admin: Admin, ctx: CtxDep) -> EpochOut:
    """A month's totals: earned so far, and once closed, the vouchers' total."""
    try:
        with ctx.db.read() as conn:
            totals = service.epoch_totals(conn, epoch)
    except ValueError as exc:
        raise ApiError(422, "invalid_epoch", str(exc)) from None
    return _epoch_out(totals)
