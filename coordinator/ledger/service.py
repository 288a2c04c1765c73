"""Credits: a double-entry ledger in integer micro-credits (1 AIA = 10^6), closed monthly.

Accounts are strings: `user:<account id>` (a contributor), `request:<request id>` (the
requester's budget: it goes negative, that is what the requester owes) and
`redeemable:<epoch>` (what the epoch's vouchers pay out). Every transaction's entries sum to
zero, so the sum of all entries is zero and a balance is a plain SUM.

Idempotency is the unique (kind, ref, account) constraint: posting the same reward twice
finds the first transaction and returns it — under a race the loser's insert fails inside a
savepoint and it does the same — so nothing is ever paid twice.

Epochs are UTC months, "YYYY-MM". Closing a month that has ended moves, per user, what was
earned up to that month and not yet redeemed to `redeemable:<epoch>` and writes one
`redemptions` row per user (the voucher's amount). Later earnings stay in the balance. "Up to"
rather than "in": a reward whose transaction began before midnight and committed after the
close, or a month nobody closed, is swept by the next close instead of being stranded; and
since redemptions already made are subtracted, closing months out of order never pays twice.
"""

from __future__ import annotations

import re
import secrets
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from coordinator.config import CoordinatorConfig
from coordinator.db import aware
from coordinator.ledger import game
from coordinator.tables import accounts, epochs, ledger_entries, redemptions

MICRO = 1_000_000
REWARD, REDEMPTION = "reward", "redemption"
EPOCH_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2])$"
_EPOCH = re.compile(EPOCH_PATTERN)
_MAX_ACCOUNT, _MAX_KIND, _MAX_REF = 64, 32, 64  # the column widths


class EpochNotOver(Exception):
    """The month has not ended yet: it cannot be closed."""


@dataclass(frozen=True)
class EpochTotals:
    epoch: str
    closed_at: datetime | None
    total_micro: int | None  # the vouchers' total, once closed
    accounts: int  # redemption rows (users with something to redeem)
    earned_micro: int  # credited to users in this epoch (redemptions not counted)


def user_account(account_id: int) -> str:
    return f"user:{account_id}"


def request_account(request_id: str) -> str:
    return f"request:{request_id}"


def redeemable_account(epoch: str) -> str:
    return f"redeemable:{epoch}"


def to_credits(micro: int) -> Decimal:
    """Micro-credits as the wire's decimal credits, always with six places ("1.500000")."""
    return (Decimal(micro) / MICRO).quantize(Decimal("0.000001"))


def epoch_of(now: datetime) -> str:
    utc = now.astimezone(timezone.utc)
    return f"{utc.year:04d}-{utc.month:02d}"


def epoch_end(epoch: str) -> datetime | None:
    """When the month ends (UTC); None for 9999-12, which never does. ValueError if malformed."""
    match = _EPOCH.fullmatch(epoch) if isinstance(epoch, str) else None
    if match is None or int(epoch[:4]) < 1:
        raise ValueError(f"an epoch is a month, YYYY-MM: not {epoch!r}")
    year, month = int(epoch[:4]), int(epoch[5:])
    if (year, month) == (9999, 12):
        return None
    return datetime(year + month // 12, month % 12 + 1, 1, tzinfo=timezone.utc)


def _check_lines(kind: str, ref: str | None, lines: list[tuple[str, int]], epoch: str) -> None:
    if not kind or len(kind) > _MAX_KIND or (ref is not None and not 0 < len(ref) <= _MAX_REF):
        raise ValueError("a posting needs a kind (≤ 32 characters) and a ref (1..64) or none")
    epoch_end(epoch)
    if len(lines) < 2:
        raise ValueError("a posting has at least two lines")
    accounts = [account for account, _ in lines]
    if len(set(accounts)) != len(accounts) or any(not a or len(a) > _MAX_ACCOUNT for a in accounts):
        raise ValueError("the accounts of a posting are distinct, 1..64 characters")
    if any(type(amount) is not int for _, amount in lines):
        raise ValueError("amounts are integer micro-credits")
    if sum(amount for _, amount in lines) != 0:
        raise ValueError("the lines of a posting must sum to zero")


def _tx_of(conn: Connection, kind: str, ref: str) -> str | None:
    return conn.execute(select(ledger_entries.c.tx_id).where(
        ledger_entries.c.kind == kind, ledger_entries.c.ref == ref).limit(1)).scalar()


def _post(conn: Connection, kind: str, ref: str | None, lines: list[tuple[str, int]], epoch: str,
          now: datetime) -> tuple[str, bool]:
    """(tx_id, whether it is new): an existing (kind, ref) posting is returned, not repeated."""
    _check_lines(kind, ref, lines, epoch)
    if ref is not None and (existing := _tx_of(conn, kind, ref)) is not None:
        return existing, False
    tx_id = secrets.token_hex(16)
    rows = [dict(tx_id=tx_id, account=account, amount_micro=amount, kind=kind, ref=ref, epoch=epoch,
                 created_at=now) for account, amount in lines]
    try:
        with conn.begin_nested():  # a lost race rolls back to here, not the caller's transaction
            conn.execute(insert(ledger_entries), rows)
    except IntegrityError:
        existing = _tx_of(conn, kind, ref) if ref is not None else None
        if existing is None:
            raise
        return existing, False
    return tx_id, True


def post(conn: Connection, kind: str, ref: str | None, lines: list[tuple[str, int]], epoch: str,
         now: datetime) -> str:
    """One balanced transaction; ValueError if its lines do not sum to zero. Idempotent per
    (kind, ref): a second post returns the first transaction's id and writes nothing."""
    return _post(conn, kind, ref, lines, epoch, now)[0]


def reward_amount(reward_micro: int, tier: int, config: CoordinatorConfig) -> int:
    """reward × the tier's multiplier, rounded down to a micro-credit, in exact decimal math."""
    multipliers = config.tier_multipliers or (1.0,)
    multiplier = Decimal(repr(multipliers[min(max(tier, 0), len(multipliers) - 1)]))
    if reward_micro < 0 or not multiplier.is_finite() or multiplier < 0:
        raise ValueError("rewards and multipliers are not negative")
    return int((Decimal(reward_micro) * multiplier).to_integral_value(rounding=ROUND_FLOOR))


def pay_reward(conn: Connection, *, account_id: int, tier: int, request_id: str, reward_micro: int,
               submission_row_id: int, now: datetime, config: CoordinatorConfig) -> int:
    """Pays an accepted submission once: user <- request, and the game layer counts the task.
    Returns the credits paid: the original amount when this submission was paid before (0 if
    that payment went to another account — a caller's bug, never a second payment)."""
    amount = reward_amount(reward_micro, tier, config)
    user = user_account(account_id)
    tx_id, new = _post(conn, REWARD, str(submission_row_id),
                       [(user, amount), (request_account(request_id), -amount)], epoch_of(now), now)
    if not new:
        return int(conn.execute(select(ledger_entries.c.amount_micro).where(
            ledger_entries.c.tx_id == tx_id, ledger_entries.c.account == user)).scalar() or 0)
    game.record_accepted(conn, account_id, now, config)
    return amount


@dataclass(frozen=True)
class Reward:
    """An accepted submission to pay: `reward_micro` is the request's reward before the tier."""

    account_id: int
    submission_row_id: int
    request_id: str
    reward_micro: int


def pay_rewards(conn: Connection, rewards: list[Reward], now: datetime, config: CoordinatorConfig) -> None:
    """`pay_reward` for many submissions in a few statements: the tiers in one query, the
    submissions paid before in one, the new postings in one INSERT, the game layer once per
    account (account order: the lock order every settling transaction shares). Should a
    concurrent payer win a race meanwhile, each is paid through `pay_reward`, idempotent."""
    paid = {str(ref) for ref in conn.execute(select(ledger_entries.c.ref).where(
        ledger_entries.c.kind == REWARD, ledger_entries.c.ref.in_([str(r.submission_row_id) for r in rewards])
    )).scalars()} if rewards else set()
    todo = sorted({r.submission_row_id: r for r in rewards if str(r.submission_row_id) not in paid}.values(),
                  key=lambda r: (r.account_id, r.submission_row_id))
    if not todo:
        return
    tiers = dict(conn.execute(select(accounts.c.id, accounts.c.tier)
                              .where(accounts.c.id.in_(sorted({r.account_id for r in todo})))).all())
    epoch, rows = epoch_of(now), []
    for r in todo:
        amount = reward_amount(r.reward_micro, tiers[r.account_id], config)
        lines = [(user_account(r.account_id), amount), (request_account(r.request_id), -amount)]
        _check_lines(REWARD, str(r.submission_row_id), lines, epoch)
        tx_id = secrets.token_hex(16)
        rows += [dict(tx_id=tx_id, account=account, amount_micro=value, kind=REWARD, ref=str(r.submission_row_id),
                      epoch=epoch, created_at=now) for account, value in lines]
    try:
        with conn.begin_nested():
            conn.execute(insert(ledger_entries), rows)
    except IntegrityError:
        for r in todo:
            pay_reward(conn, account_id=r.account_id, tier=tiers[r.account_id], request_id=r.request_id,
                       reward_micro=r.reward_micro, submission_row_id=r.submission_row_id, now=now, config=config)
        return
    game.record_accepted_many(conn, Counter(r.account_id for r in todo), now, config)


def balance(conn: Connection, account: str) -> int:
    return int(conn.execute(select(func.coalesce(func.sum(ledger_entries.c.amount_micro), 0))
                            .where(ledger_entries.c.account == account)).scalar_one())


def earned_in(conn: Connection, account: str, epoch: str) -> int:
    """Credited to `account` in `epoch`, redemptions not counted."""
    return int(conn.execute(select(func.coalesce(func.sum(ledger_entries.c.amount_micro), 0)).where(
        ledger_entries.c.account == account, ledger_entries.c.epoch == epoch,
        ledger_entries.c.kind != REDEMPTION)).scalar_one())


def _user_sums(conn: Connection, *where: Any) -> dict[str, int]:
    rows = conn.execute(select(ledger_entries.c.account, func.sum(ledger_entries.c.amount_micro))
                        .where(ledger_entries.c.account.like("user:%"), *where)
                        .group_by(ledger_entries.c.account))
    return {account: int(total) for account, total in rows}


def _redeemable(conn: Connection, epoch: str) -> dict[str, int]:
    """Per user: earned up to and including `epoch`, less everything already redeemed."""
    earned = _user_sums(conn, ledger_entries.c.kind != REDEMPTION, ledger_entries.c.epoch <= epoch)
    redeemed = _user_sums(conn, ledger_entries.c.kind == REDEMPTION)  # negative sums
    amounts = {account: total + redeemed.get(account, 0) for account, total in earned.items()}
    return {account: amount for account, amount in sorted(amounts.items())
            if amount > 0 and account.split(":", 1)[1].isdigit()}  # only user:<account id> redeems


def _lock_epoch(conn: Connection, epoch: str) -> Any:
    """The epoch's row, created if missing and locked on PostgreSQL (a second close waits,
    then sees it closed); SQLite's write transaction already holds the only write lock."""
    upsert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    conn.execute(upsert(epochs).values(id=epoch).on_conflict_do_nothing(index_elements=[epochs.c.id]))
    stmt = select(epochs).where(epochs.c.id == epoch)
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return conn.execute(stmt).mappings().one()


def close_epoch(conn: Connection, epoch: str, now: datetime) -> EpochTotals:
    """Closes an ended month once; a second call returns the same totals and posts nothing.
    ValueError for a malformed epoch, EpochNotOver before the month has ended."""
    end = epoch_end(epoch)
    if end is None or now < end:
        raise EpochNotOver(f"{epoch} is not over yet" + (f": it ends {end.isoformat()}" if end else ""))
    if _lock_epoch(conn, epoch)["closed_at"] is None:
        amounts = _redeemable(conn, epoch)
        total = sum(amounts.values())
        if amounts:
            lines = [(account, -amount) for account, amount in amounts.items()]
            _post(conn, REDEMPTION, epoch, lines + [(redeemable_account(epoch), total)], epoch, now)
            conn.execute(insert(redemptions), [dict(epoch=epoch, account_id=int(account.split(":", 1)[1]),
                                                    amount_micro=amount) for account, amount in amounts.items()])
        conn.execute(update(epochs).where(epochs.c.id == epoch).values(closed_at=now, total_micro=total))
    return epoch_totals(conn, epoch)


def epoch_totals(conn: Connection, epoch: str) -> EpochTotals:
    """An epoch's figures, open or closed (ValueError for a malformed epoch)."""
    epoch_end(epoch)
    row = conn.execute(select(epochs).where(epochs.c.id == epoch)).mappings().first()
    accounts = conn.execute(select(func.count()).select_from(redemptions)
                            .where(redemptions.c.epoch == epoch)).scalar_one()
    earned = sum(_user_sums(conn, ledger_entries.c.epoch == epoch, ledger_entries.c.kind != REDEMPTION).values())
    closed_at = aware(row["closed_at"]) if row is not None and row["closed_at"] is not None else None
    return EpochTotals(epoch, closed_at, row["total_micro"] if closed_at else None, int(accounts), earned)


def entries(conn: Connection, account: str, *, limit: int, before: int | None = None) -> list[dict[str, Any]]:
    """An account's entries, newest first; `before` is an entry id (the previous page's last)."""
    stmt = select(ledger_entries).where(ledger_entries.c.account == account)
    if before is not None:
        stmt = stmt.where(ledger_entries.c.id < before)
    rows = conn.execute(stmt.order_by(ledger_entries.c.id.desc()).limit(limit)).mappings()
    return [{**row, "created_at": aware(row["created_at"])} for row in rows]


def redemptions_of(conn: Connection, account_id: int) -> list[dict[str, Any]]:
    """The account's redemption rows, one per closed epoch with something to redeem, oldest first."""
    rows = conn.execute(select(redemptions.c.epoch, redemptions.c.amount_micro, epochs.c.closed_at)
                        .join(epochs, epochs.c.id == redemptions.c.epoch)
                        .where(redemptions.c.account_id == account_id).order_by(redemptions.c.epoch)).mappings()
    return [{**row, "closed_at": aware(row["closed_at"])} for row in rows]
