"""The game layer: level curve, energy (spend, regeneration, cap, concurrency), streak and the
daily count across UTC days, and GET /v1/me."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, insert, select

from coordinator.config import CoordinatorConfig
from coordinator.db import ChangedMeanwhile, CoordinatorDB
from coordinator.ledger import game, service
from coordinator.tables import accounts, profiles
from tests.coordinator.conftest import FakeClock
from tests.coordinator.threads import at_once
from tests.coordinator.wallets import Wallet

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def config(db_url: str, tmp_path: Path) -> CoordinatorConfig:
    return CoordinatorConfig(db_url=db_url, storage_dir=tmp_path, energy_max=10, energy_regen_s=60, daily_goal=3)


def add_account(conn: Connection, account_id: int) -> int:
    conn.execute(insert(accounts).values(id=account_id, address=f"0x{account_id:040x}", roles=["contributor"],
                                         tier=0, languages=[], skills=[], locked=False, created_at=T0))
    return account_id


@pytest.fixture
def account(db: CoordinatorDB) -> int:
    with db.write() as conn:
        return add_account(conn, 1)


def spend(db: CoordinatorDB, account: int, wanted: int, now: datetime, config: CoordinatorConfig) -> int:
    with db.write() as conn:
        return game.spend_energy(conn, account, wanted, now, config)


def state(db: CoordinatorDB, account: int, now: datetime, config: CoordinatorConfig) -> dict[str, int]:
    with db.read() as conn:
        return game.profile(conn, account, now, config)


def accept(db: CoordinatorDB, account: int, now: datetime, config: CoordinatorConfig) -> None:
    with db.write() as conn:
        game.record_accepted(conn, account, now, config)


def test_level_curve_is_100_times_n_minus_1_squared() -> None:
    assert [game.level_of(xp) for xp in (0, 99, 100, 399, 400, 899, 900)] == [1, 1, 2, 2, 3, 3, 4]
    for level in range(2, 60):
        assert game.level_of(game.xp_for_level(level)) == level
        assert game.level_of(game.xp_for_level(level) - 1) == level - 1
    assert game.level_of(-5) == 1


def test_a_newcomer_reads_as_a_fresh_profile(db: CoordinatorDB, account: int, config: CoordinatorConfig) -> None:
    assert state(db, account, T0, config) == {"xp": 0, "level": 1, "streak_days": 0, "tasks_today": 0,
                                              "daily_goal": 3, "energy": 10, "energy_max": 10}


def test_spend_energy_starts_full_and_never_goes_below_zero(db: CoordinatorDB, account: int,
                                                            config: CoordinatorConfig) -> None:
    assert spend(db, account, 3, T0, config) == 3
    assert state(db, account, T0, config)["energy"] == 7
    assert spend(db, account, 100, T0, config) == 7
    assert spend(db, account, 5, T0, config) == 0
    assert spend(db, account, 0, T0, config) == spend(db, account, -4, T0, config) == 0
    assert state(db, account, T0, config)["energy"] == 0


def test_energy_regenerates_one_point_per_period_keeping_the_fraction(
        db: CoordinatorDB, account: int, config: CoordinatorConfig) -> None:
    spend(db, account, 10, T0, config)
    assert state(db, account, T0 + timedelta(seconds=59), config)["energy"] == 0
    assert state(db, account, T0 + timedelta(seconds=150), config)["energy"] == 2  # read-only: nothing deducted
    assert spend(db, account, 1, T0 + timedelta(seconds=150), config) == 1  # 2.5 points regenerated, 1 spent
    assert state(db, account, T0 + timedelta(seconds=179), config)["energy"] == 1
    assert state(db, account, T0 + timedelta(seconds=180), config)["energy"] == 2  # the half point was kept


def test_energy_is_capped_and_a_full_bar_banks_no_time(db: CoordinatorDB, account: int,
                                                      config: CoordinatorConfig) -> None:
    spend(db, account, 4, T0, config)
    later = T0 + timedelta(days=3)
    assert state(db, account, later, config)["energy"] == 10
    assert spend(db, account, 1, later, config) == 1
    assert state(db, account, later + timedelta(seconds=59), config)["energy"] == 9
    assert state(db, account, later + timedelta(seconds=60), config)["energy"] == 10


def test_a_clock_that_goes_back_regenerates_nothing(db: CoordinatorDB, account: int,
                                                    config: CoordinatorConfig) -> None:
    spend(db, account, 5, T0, config)
    assert spend(db, account, 10, T0 - timedelta(hours=1), config) == 5


def test_concurrent_spending_never_overdraws(db: CoordinatorDB, config: CoordinatorConfig) -> None:
    with db.write() as conn:
        fresh = add_account(conn, 2)  # no profile yet: the first-use insert races too
    spent = [n for batch in at_once(8, lambda: [spend(db, fresh, 1, T0, config) for _ in range(3)]) for n in batch]
    assert sum(spent) == 10 and len(spent) == 24
    with db.read() as conn:
        assert conn.execute(select(profiles.c.energy).where(profiles.c.account_id == fresh)).scalar() == 0


def seen_energy(conn: Connection, account: int) -> tuple[int, datetime] | None:
    """What a lease call reads without a lock at its start: (energy, energy_at) as stored."""
    row = conn.execute(select(profiles.c.energy, profiles.c.energy_at).where(profiles.c.account_id == account)).first()
    return None if row is None else (row.energy, row.energy_at)


def spend_seen(db: CoordinatorDB, account: int, seen: tuple[int, datetime] | None, amount: int,
               config: CoordinatorConfig) -> int:
    with db.write() as conn:
        return game.spend_seen(conn, account, seen, amount, T0, config)


def test_spending_what_was_seen_charges_the_row_as_it_is(db: CoordinatorDB, account: int,
                                                         config: CoordinatorConfig) -> None:
    assert spend_seen(db, account, None, 3, config) == 7  # a newcomer: its profile starts full
    with db.read() as conn:
        before = seen_energy(conn, account)
    assert spend_seen(db, account, before, 2, config) == 5  # unchanged since it was read
    # `before` is stale now (a concurrent call spent meanwhile): charged against the row as it is
    assert spend_seen(db, account, before, 4, config) == 1
    with pytest.raises(ChangedMeanwhile):  # what the stale view allowed is more than is left
        spend_seen(db, account, before, 3, config)
    assert state(db, account, T0, config)["energy"] == 1  # the refused spend changed nothing
    assert spend_seen(db, account, None, 1, config) == 0  # seen as a newcomer, but the profile exists


def test_concurrent_lease_calls_spend_what_they_saw_without_overdrawing(db: CoordinatorDB,
                                                                        config: CoordinatorConfig) -> None:
    with db.write() as conn:
        fresh = add_account(conn, 3)

    def lease_like(conn: Connection) -> int:  # read without a lock, spend what that allows
        seen = seen_energy(conn, fresh)
        energy = game.regenerated(*seen, T0, config)[0] if seen else config.energy_max
        if energy == 0:
            return 0
        game.spend_seen(conn, fresh, seen, 1, T0, config)
        return 1

    spent = [n for batch in at_once(8, lambda: [db.retried(lease_like) for _ in range(3)]) for n in batch]
    assert sum(spent) == 10 and len(spent) == 24
    assert state(db, fresh, T0, config)["energy"] == 0


def test_xp_streak_and_tasks_today_across_utc_days(db: CoordinatorDB, account: int,
                                                   config: CoordinatorConfig) -> None:
    late = T0.replace(hour=23, minute=59)
    for _ in range(2):
        accept(db, account, late, config)
    assert {k: state(db, account, late, config)[k] for k in ("xp", "streak_days", "tasks_today")} == \
        {"xp": 20, "streak_days": 1, "tasks_today": 2}
    next_day = late + timedelta(minutes=2)  # past UTC midnight
    assert state(db, account, next_day, config)["tasks_today"] == 0
    assert state(db, account, next_day, config)["streak_days"] == 1  # still alive today
    accept(db, account, next_day, config)
    today = state(db, account, next_day, config)
    assert (today["streak_days"], today["tasks_today"]) == (2, 1)
    accept(db, account, next_day + timedelta(days=1), config)
    assert state(db, account, next_day + timedelta(days=1), config)["streak_days"] == 3
    gap = next_day + timedelta(days=3)  # a whole day missed
    assert state(db, account, gap, config)["streak_days"] == 0
    accept(db, account, gap, config)
    after = state(db, account, gap, config)
    assert (after["streak_days"], after["tasks_today"], after["xp"]) == (1, 1, 50)


def test_level_rises_with_accepted_tasks(db: CoordinatorDB, account: int, config: CoordinatorConfig) -> None:
    for i in range(10):
        accept(db, account, T0 + timedelta(minutes=i), config)
    assert state(db, account, T0 + timedelta(minutes=10), config)["level"] == 2  # 100 XP


def test_a_clock_that_goes_back_keeps_the_later_day(db: CoordinatorDB, account: int,
                                                    config: CoordinatorConfig) -> None:
    accept(db, account, T0, config)
    accept(db, account, T0 - timedelta(days=2), config)
    assert {k: state(db, account, T0, config)[k] for k in ("xp", "streak_days", "tasks_today")} == \
        {"xp": 20, "streak_days": 1, "tasks_today": 1}


# --- GET /v1/me --------------------------------------------------------------------------
def account_id_of(client: TestClient, address: str) -> int:
    with client.app.state.ctx.db.read() as conn:
        return conn.execute(select(accounts.c.id).where(accounts.c.address == address)).scalar_one()


def test_get_me_shows_the_principal_and_its_game_state(client: TestClient, signed_in: Callable[..., dict[str, str]],
                                                       clock: FakeClock) -> None:
    wallet = Wallet.numbered(41)
    headers = signed_in(wallet, roles=["contributor", "reviewer"], tier=2)
    ctx = client.app.state.ctx
    body = client.get("/v1/me", headers=headers).json()
    assert body == {"address": wallet.address, "roles": ["contributor", "reviewer"], "tier": 2, "xp": 0,
                    "level": 1, "streak_days": 0, "tasks_today": 0, "daily_goal": ctx.config.daily_goal,
                    "energy": ctx.config.energy_max, "energy_max": ctx.config.energy_max}
    account = account_id_of(client, wallet.address)
    with ctx.db.write() as conn:
        game.spend_energy(conn, account, 7, clock(), ctx.config)
        service.pay_reward(conn, account_id=account, tier=2, request_id="r1", reward_micro=1_000_000,
                           submission_row_id=1, now=clock(), config=ctx.config)
    body = client.get("/v1/me", headers=headers).json()
    assert (body["xp"], body["streak_days"], body["tasks_today"]) == (10, 1, 1)
    assert body["energy"] == ctx.config.energy_max - 7  # reading does not deduct
    assert client.get("/v1/me", headers=headers).json()["energy"] == ctx.config.energy_max - 7
    clock.advance(seconds=ctx.config.energy_regen_s * 3)
    assert client.get("/v1/me", headers=headers).json()["energy"] == ctx.config.energy_max - 4


def test_get_me_needs_a_session(client: TestClient) -> None:
    response = client.get("/v1/me")
    assert response.status_code == 401 and response.json()["error"] == "not_signed_in"
