"""The game layer of a contributor: XP, level, streak, tasks today and an energy budget.

Energy: one point per lease; it regenerates one point per `config.energy_regen_s`, up to
`config.energy_max`. It is stored as (energy, energy_at) and brought up to date lazily, when
it is read or spent, so no timer runs on the server. `energy_at` keeps the fraction of a point
already regenerated, except at the cap, where it is `now` (a full bar does not bank time).

Days are UTC days. The streak counts consecutive days with at least one accepted task: a task
on the day after the last active day extends it, a missed day starts it again at 1 (and shows
as 0 until then). `tasks_today` belongs to `last_active_day` and reads as 0 on any other day.

Level curve: level n needs 100·(n−1)² XP — level 1 at 0, 2 at 100, 3 at 400, 4 at 900.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from math import isqrt
from typing import Any

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from coordinator.config import CoordinatorConfig
from coordinator.db import ChangedMeanwhile, aware
from coordinator.tables import profiles

XP_PER_TASK = 10
XP_LEVEL_STEP = 100


def level_of(xp: int) -> int:
    """Level n needs 100·(n−1)² XP (exact integer math, no float sqrt)."""
    return isqrt(max(xp, 0) // XP_LEVEL_STEP) + 1


def xp_for_level(level: int) -> int:
    return XP_LEVEL_STEP * (max(level, 1) - 1) ** 2


def utc_day(now: datetime) -> date:
    return now.astimezone(timezone.utc).date()


def _ensure_profile(conn: Connection, account_id: int, now: datetime, config: CoordinatorConfig) -> None:
    """Creates the profile at full energy on first use; a no-op (also under a race) after."""
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    conn.execute(insert(profiles).values(account_id=account_id, xp=0, streak_days=0, tasks_today=0,
                                         energy=config.energy_max, energy_at=now)
                 .on_conflict_do_nothing(index_elements=[profiles.c.account_id]))


def _locked_row(conn: Connection, account_id: int) -> Any:
    """The profile row, locked against concurrent writers on PostgreSQL. On SQLite the caller's
    write transaction (BEGIN IMMEDIATE) already holds the only write lock."""
    stmt = select(profiles).where(profiles.c.account_id == account_id)
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return conn.execute(stmt).mappings().one()


def regenerated(energy: int, energy_at: datetime, now: datetime, config: CoordinatorConfig) -> tuple[int, datetime]:
    """(energy, energy_at) brought up to `now`. A clock that went backwards regenerates nothing."""
    energy_at = aware(energy_at)
    if energy >= config.energy_max:
        return energy, max(energy_at, now)
    elapsed = (now - energy_at).total_seconds()
    points = int(elapsed // config.energy_regen_s) if elapsed > 0 else 0
    if energy + points >= config.energy_max:
        return config.energy_max, now
    return energy + points, energy_at + timedelta(seconds=points * config.energy_regen_s)


def spend_energy(conn: Connection, account_id: int, wanted: int, now: datetime, config: CoordinatorConfig) -> int:
    """Deducts min(wanted, energy up to date) and returns it (0 when the bar is empty).
    Call inside a write transaction (`ctx.db.write()`)."""
    _ensure_profile(conn, account_id, now, config)
    row = _locked_row(conn, account_id)
    energy, energy_at = regenerated(row["energy"], row["energy_at"], now, config)
    spent = max(0, min(wanted, energy))  # a full bar has energy_at == now: regeneration starts here
    conn.execute(update(profiles).where(profiles.c.account_id == account_id)
                 .values(energy=energy - spent, energy_at=energy_at))
    return spent


_SPEND_SEEN = (update(profiles)
               .where(profiles.c.account_id == bindparam("account"), profiles.c.energy == bindparam("seen_energy"),
                      profiles.c.energy_at == bindparam("seen_at"))
               .values(energy=bindparam("energy"), energy_at=bindparam("at")))


def spend_seen(conn: Connection, account_id: int, seen: tuple[int, datetime] | None, amount: int, now: datetime,
               config: CoordinatorConfig) -> int:
    """Deducts `amount` from the energy this transaction read earlier as `seen` ((energy,
    energy_at) as stored; None: no profile yet) and returns what is left. Without a row lock:
    the write applies only if the row is still as seen (one statement); if a concurrent call
    changed it meanwhile, the row is locked, read again and charged, and `ChangedMeanwhile`
    is raised (the caller's transaction runs again) when that leaves too little."""
    if seen is None:
        insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        left = max(0, config.energy_max - amount)  # a newcomer starts with a full bar
        if conn.execute(insert(profiles).values(
                account_id=account_id, xp=0, streak_days=0, tasks_today=0, energy=left, energy_at=now)
                .on_conflict_do_nothing(index_elements=[profiles.c.account_id])
                .returning(profiles.c.account_id)).first():  # (psycopg's rowcount is -1 here)
            if amount > config.energy_max:
                raise ChangedMeanwhile("more energy asked for than a full bar holds")
            return left
    else:
        energy, energy_at = regenerated(*seen, now, config)
        if amount <= energy and conn.execute(_SPEND_SEEN, {
                "account": account_id, "seen_energy": seen[0], "seen_at": seen[1], "energy": energy - amount,
                "at": energy_at}).rowcount == 1:
            return energy - amount
    row = _locked_row(conn, account_id)
    energy, energy_at = regenerated(row["energy"], row["energy_at"], now, config)
    if amount > energy:
        raise ChangedMeanwhile("the energy was spent by a concurrent call")
    conn.execute(update(profiles).where(profiles.c.account_id == account_id)
                 .values(energy=energy - amount, energy_at=energy_at))
    return energy - amount


def record_accepted(conn: Connection, account_id: int, now: datetime, config: CoordinatorConfig,
                    tasks: int = 1) -> None:
    """`tasks` accepted tasks: XP, the streak and today's count. Call once per accepted
    submission (the ledger calls it only when the reward posting is new, so a replay counts
    nothing)."""
    record_accepted_many(conn, {account_id: tasks}, now, config)


def record_accepted_many(conn: Connection, tasks: dict[int, int], now: datetime, config: CoordinatorConfig) -> None:
    """`record_accepted` for several accounts (account id -> accepted tasks) in three statements:
    the missing profiles created, all rows locked in account order, one executemany update."""
    if not tasks:
        return
    ids = sorted(tasks)
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    conn.execute(insert(profiles).on_conflict_do_nothing(index_elements=[profiles.c.account_id]),
                 [dict(account_id=a, xp=0, streak_days=0, tasks_today=0, energy=config.energy_max, energy_at=now)
                  for a in ids])
    stmt = select(profiles).where(profiles.c.account_id.in_(ids)).order_by(profiles.c.account_id)
    if conn.dialect.name == "postgresql":  # SQLite's write transaction already holds the only write lock
        stmt = stmt.with_for_update()
    today = utc_day(now)
    updates = [_accepted(row, tasks[row["account_id"]], today) for row in conn.execute(stmt).mappings()]
    conn.execute(_ACCEPTED, updates)


def _accepted(row: Any, tasks: int, today: date) -> dict[str, Any]:
    last: date | None = row["last_active_day"]
    if last == today:
        streak, today_count = row["streak_days"], row["tasks_today"] + tasks
    else:
        streak = row["streak_days"] + 1 if last == today - timedelta(days=1) else 1
        today_count = tasks
    if last is not None and last > today:  # clock went backwards: keep the later day's state
        streak, today_count, today = row["streak_days"], row["tasks_today"], last
    return dict(b_account=row["account_id"], b_xp=XP_PER_TASK * tasks, b_streak=streak, b_today=today_count,
                b_day=today)


_ACCEPTED = update(profiles).where(profiles.c.account_id == bindparam("b_account")).values(
    xp=profiles.c.xp + bindparam("b_xp"), streak_days=bindparam("b_streak"), tasks_today=bindparam("b_today"),
    last_active_day=bindparam("b_day"))


def profile(conn: Connection, account_id: int, now: datetime, config: CoordinatorConfig) -> dict[str, int]:
    """The game state as of `now`, read-only (energy up to date but not deducted; a newcomer
    without a profile row reads as a fresh one)."""
    row = conn.execute(select(profiles).where(profiles.c.account_id == account_id)).mappings().first()
    if row is None:
        return {"xp": 0, "level": 1, "streak_days": 0, "tasks_today": 0, "daily_goal": config.daily_goal,
                "energy": config.energy_max, "energy_max": config.energy_max}
    today = utc_day(now)
    last: date | None = row["last_active_day"]
    alive = last is not None and last >= today - timedelta(days=1)
    energy, _ = regenerated(row["energy"], row["energy_at"], now, config)
    return {"xp": row["xp"], "level": level_of(row["xp"]), "streak_days": row["streak_days"] if alive else 0,
            "tasks_today": row["tasks_today"] if last is not None and last >= today else 0,
            "daily_goal": config.daily_goal, "energy": energy, "energy_max": config.energy_max}
