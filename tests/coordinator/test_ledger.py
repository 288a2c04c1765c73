"""The credits ledger: balanced, idempotent postings, tier multipliers, monthly epochs (unit
tests with a fake clock, hypothesis invariants, a payment race) and the /v1/me and /v1/epochs
routes on both backends."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, func, insert, select

from coordinator.config import CoordinatorConfig
from coordinator.db import CoordinatorDB
from coordinator.ledger import game, service
from coordinator.ledger.service import EpochNotOver, close_epoch, epoch_end, epoch_of, pay_reward, post
from coordinator.main import create_app
from coordinator.tables import accounts, epochs, ledger_entries, redemptions
from tests.coordinator.conftest import FakeClock
from tests.coordinator.threads import at_once
from tests.coordinator.wallets import Wallet

NOV = datetime(2026, 11, 15, 12, 0, tzinfo=timezone.utc)
DEC = datetime(2026, 12, 10, 9, 0, tzinfo=timezone.utc)
JAN = datetime(2027, 1, 2, 0, 0, tzinfo=timezone.utc)


@pytest.fixture
def config(db_url: str, tmp_path: Path) -> CoordinatorConfig:
    return CoordinatorConfig(db_url=db_url, storage_dir=tmp_path)


def add_accounts(conn: Connection, *ids: int) -> None:
    conn.execute(insert(accounts), [dict(id=i, address=f"0x{i:040x}", roles=["contributor"], tier=0, languages=[],
                                         skills=[], locked=False, created_at=NOV) for i in ids])


@pytest.fixture
def users(db: CoordinatorDB) -> tuple[int, int]:
    with db.write() as conn:
        add_accounts(conn, 1, 2)
    return 1, 2


def pay(conn: Connection, config: CoordinatorConfig, user: int, sub: int, now: datetime, reward: int = 1_000_000,
        tier: int = 0, request: str = "req1") -> int:
    return pay_reward(conn, account_id=user, tier=tier, request_id=request, reward_micro=reward,
                      submission_row_id=sub, now=now, config=config)


def entry_count(conn: Connection) -> int:
    return conn.execute(select(func.count()).select_from(ledger_entries)).scalar_one()


# --- postings ---------------------------------------------------------------------------
@pytest.mark.parametrize("lines", [
    [("user:1", 5), ("request:r", -4)],  # unbalanced
    [("user:1", 0)],  # one line
    [("user:1", 5), ("user:1", -5)],  # one account twice
    [("user:1", 1.5), ("request:r", -1.5)],  # not integer micro-credits
    [("", 5), ("request:r", -5)],
])
def test_post_refuses_bad_lines(db: CoordinatorDB, lines: list[tuple[str, Any]]) -> None:
    with db.write() as conn:
        with pytest.raises(ValueError):
            post(conn, "adjustment", "x", lines, "2026-11", NOV)
        assert entry_count(conn) == 0


def test_post_refuses_a_malformed_epoch(db: CoordinatorDB) -> None:
    with db.write() as conn, pytest.raises(ValueError):
        post(conn, "adjustment", "x", [("a", 1), ("b", -1)], "2026-13", NOV)


def test_post_is_idempotent_per_kind_and_ref(db: CoordinatorDB) -> None:
    with db.write() as conn:
        first = post(conn, "adjustment", "a1", [("user:1", 5), ("request:r", -5)], "2026-11", NOV)
        again = post(conn, "adjustment", "a1", [("user:1", 5), ("request:r", -5)], "2026-11", NOV)
        other = post(conn, "adjustment", "a2", [("user:1", 5), ("request:r", -5)], "2026-11", NOV)
        assert first == again != other and entry_count(conn) == 4
        assert service.balance(conn, "user:1") == 10 and service.balance(conn, "request:r") == -10


# --- rewards ----------------------------------------------------------------------------
@pytest.mark.parametrize(("tier", "paid"), [(0, 1_000_001), (1, 1_100_001), (2, 1_250_001), (3, 1_500_001),
                                            (9, 1_500_001), (-1, 1_000_001)])
def test_reward_uses_the_tier_multiplier_rounded_down(db: CoordinatorDB, users: tuple[int, int],
                                                      config: CoordinatorConfig, tier: int, paid: int) -> None:
    with db.write() as conn:
        assert pay(conn, config, users[0], 7, NOV, reward=1_000_001, tier=tier) == paid
        assert service.balance(conn, "user:1") == paid and service.balance(conn, "request:req1") == -paid


def test_reward_math_is_exact_decimal(config: CoordinatorConfig) -> None:
    assert service.reward_amount(10, 1, config) == 11  # 10 * 1.1 in binary floats is 11.000000000000002
    assert service.reward_amount(3, 1, config) == 3  # 3.3 rounds down
    assert service.reward_amount(0, 3, config) == 0
    with pytest.raises(ValueError):
        service.reward_amount(-1, 0, config)


def test_paying_a_submission_twice_pays_once_and_counts_once(db: CoordinatorDB, users: tuple[int, int],
                                                            config: CoordinatorConfig) -> None:
    with db.write() as conn:
        assert pay(conn, config, users[0], 7, NOV, tier=1) == 1_100_000
        assert pay(conn, config, users[0], 7, NOV + timedelta(days=30), tier=3) == 1_100_000  # the original
        assert entry_count(conn) == 2 and service.balance(conn, "user:1") == 1_100_000
        assert game.profile(conn, users[0], NOV, config)["xp"] == game.XP_PER_TASK


def test_concurrent_payments_of_one_submission_pay_once(db: CoordinatorDB, users: tuple[int, int],
                                                        config: CoordinatorConfig) -> None:
    def pay_once() -> int:
        with db.write() as conn:
            return pay(conn, config, users[0], 99, NOV)

    paid = at_once(8, pay_once)
    assert paid == [1_000_000] * 8
    with db.read() as conn:
        assert entry_count(conn) == 2 and service.balance(conn, "user:1") == 1_000_000
        assert game.profile(conn, users[0], NOV, config)["xp"] == game.XP_PER_TASK


# --- epochs -----------------------------------------------------------------------------
def test_epoch_of_and_its_end_are_utc_months() -> None:
    assert epoch_of(datetime(2026, 11, 30, 23, 59, 59, tzinfo=timezone.utc)) == "2026-11"
    assert epoch_of(datetime(2026, 12, 1, 0, 30, tzinfo=timezone(timedelta(hours=2)))) == "2026-11"
    assert epoch_end("2026-12") == datetime(2027, 1, 1, tzinfo=timezone.utc)
    assert epoch_end("2026-02") == datetime(2026, 3, 1, tzinfo=timezone.utc)
    assert epoch_end("9999-12") is None
    for bad in ("2026-13", "2026-00", "26-11", "2026-1", "0000-05", "2026-11 ", "２０２６-11"):
        with pytest.raises(ValueError):
            epoch_end(bad)


def test_closing_november_redeems_november_and_keeps_december(db: CoordinatorDB, users: tuple[int, int],
                                                              config: CoordinatorConfig) -> None:
    u1, u2 = users
    with db.write() as conn:
        pay(conn, config, u1, 1, NOV)
        pay(conn, config, u1, 2, NOV, reward=500_000)
        pay(conn, config, u2, 3, NOV, reward=250_000, tier=3)
        with pytest.raises(EpochNotOver):
            close_epoch(conn, "2026-11", datetime(2026, 11, 30, 23, 59, 59, tzinfo=timezone.utc))
        pay(conn, config, u1, 4, DEC, reward=2_000_000)
        totals = close_epoch(conn, "2026-11", DEC)
        assert (totals.total_micro, totals.accounts, totals.earned_micro) == (1_875_000, 2, 1_875_000)
        assert service.balance(conn, "user:1") == 2_000_000 and service.balance(conn, "user:2") == 0
        assert service.balance(conn, "redeemable:2026-11") == 1_875_000
        assert service.redemptions_of(conn, u1)[0]["amount_micro"] == 1_500_000
        count = entry_count(conn)
        assert close_epoch(conn, "2026-11", JAN) == totals and entry_count(conn) == count
        december = close_epoch(conn, "2026-12", JAN)
        assert (december.total_micro, december.accounts) == (2_000_000, 1)
        assert service.balance(conn, "user:1") == 0
        assert [r["epoch"] for r in service.redemptions_of(conn, u1)] == ["2026-11", "2026-12"]


def test_a_late_november_posting_is_swept_by_the_next_close(db: CoordinatorDB, users: tuple[int, int],
                                                            config: CoordinatorConfig) -> None:
    with db.write() as conn:
        pay(conn, config, users[0], 1, NOV)
        close_epoch(conn, "2026-11", DEC)
        pay(conn, config, users[0], 2, NOV)  # its transaction began before midnight
        assert close_epoch(conn, "2026-12", JAN).total_micro == 1_000_000
        assert service.balance(conn, "user:1") == 0


def test_closing_out_of_order_never_pays_twice(db: CoordinatorDB, users: tuple[int, int],
                                               config: CoordinatorConfig) -> None:
    with db.write() as conn:
        pay(conn, config, users[0], 1, NOV)
        pay(conn, config, users[0], 2, DEC)
        assert close_epoch(conn, "2026-12", JAN).total_micro == 2_000_000  # sweeps the unclosed November
        november = close_epoch(conn, "2026-11", JAN)
        assert (november.total_micro, november.accounts, november.earned_micro) == (0, 0, 1_000_000)
        assert service.balance(conn, "user:1") == 0


def test_an_empty_epoch_closes_with_nothing(db: CoordinatorDB) -> None:
    with db.write() as conn:
        totals = close_epoch(conn, "2026-11", DEC)
        assert (totals.total_micro, totals.accounts, totals.closed_at) == (0, 0, DEC) and entry_count(conn) == 0
        assert service.epoch_totals(conn, "2026-10").closed_at is None


# --- invariants (hypothesis) ----------------------------------------------------------
MONTHS = [datetime(2026, 10 + m, 1, tzinfo=timezone.utc) if m < 3 else datetime(2027, m - 2, 1, tzinfo=timezone.utc)
          for m in range(4)]
PAY = st.tuples(st.just("pay"), st.integers(0, 3), st.integers(0, 5_000_000), st.integers(0, 4),
                st.integers(0, 15))  # month, reward, tier, submission (whose owner is fixed)
CLOSE = st.tuples(st.just("close"), st.integers(0, 3))


def check_invariants(conn: Connection, earned: dict[int, int]) -> None:
    assert conn.execute(select(func.coalesce(func.sum(ledger_entries.c.amount_micro), 0))).scalar_one() == 0
    unbalanced = select(ledger_entries.c.tx_id).group_by(ledger_entries.c.tx_id).having(
        func.sum(ledger_entries.c.amount_micro) != 0)
    assert conn.execute(unbalanced).first() is None
    for user in (1, 2, 3):
        redeemed = conn.execute(select(func.coalesce(func.sum(redemptions.c.amount_micro), 0))
                                .where(redemptions.c.account_id == user)).scalar_one()
        balance = service.balance(conn, f"user:{user}")
        assert balance >= 0 and balance + redeemed == earned.get(user, 0)
    for row in conn.execute(select(epochs).where(epochs.c.closed_at.is_not(None))).mappings():
        assert service.balance(conn, f"redeemable:{row['id']}") == row["total_micro"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(st.one_of(PAY, CLOSE), max_size=25))
def test_ledger_invariants_hold_for_any_sequence(db: CoordinatorDB, config: CoordinatorConfig,
                                                 ops: list[tuple[Any, ...]]) -> None:
    with db.engine.connect() as conn:
        outer = conn.begin()  # every example starts from an empty ledger: rolled back at the end
        try:
            add_accounts(conn, 1, 2, 3)
            run_ops(conn, config, ops)
        finally:
            outer.rollback()


def run_ops(conn: Connection, config: CoordinatorConfig, ops: list[tuple[Any, ...]]) -> None:
    earned: dict[int, int] = {}
    paid: dict[int, tuple[int, int]] = {}  # submission -> (user, amount) of its first payment
    for op in ops:
        if op[0] == "pay":
            _, month, micro, tier, sub = op
            user = sub % 3 + 1  # a submission row belongs to one account
            amount = pay(conn, config, user, sub, MONTHS[month] + timedelta(days=3), micro, tier)
            if sub in paid:
                assert amount == paid[sub][1]  # a replay, never a second payment
            else:
                paid[sub] = (user, amount)
                earned[user] = earned.get(user, 0) + amount
        else:
            epoch, now = epoch_of(MONTHS[op[1]]), MONTHS[op[1]] + timedelta(days=40)
            first, count = close_epoch(conn, epoch, now), entry_count(conn)
            assert close_epoch(conn, epoch, now + timedelta(days=1)) == first and entry_count(conn) == count
        check_invariants(conn, earned)


# --- routes -----------------------------------------------------------------------------
@pytest.fixture
def client(make_config: Callable[..., CoordinatorConfig]) -> Iterator[TestClient]:
    """Sessions that outlive the month the tests move the clock across."""
    with TestClient(create_app(make_config(session_ttl_s=400 * 86400))) as test_client:
        yield test_client


def account_id_of(client: TestClient, address: str) -> int:
    with client.app.state.ctx.db.read() as conn:
        return conn.execute(select(accounts.c.id).where(accounts.c.address == address)).scalar_one()


def reward(client: TestClient, account: int, sub: int, micro: int, tier: int = 0) -> None:
    ctx = client.app.state.ctx
    with ctx.db.write() as conn:
        pay_reward(conn, account_id=account, tier=tier, request_id="req1", reward_micro=micro,
                   submission_row_id=sub, now=ctx.now(), config=ctx.config)


def test_balance_ledger_and_redemptions_through_a_month_end(client: TestClient, admin: dict[str, str],
                                                            signed_in: Callable[..., dict[str, str]],
                                                            clock: FakeClock) -> None:
    wallet = Wallet.numbered(51)
    headers = signed_in(wallet)
    me = account_id_of(client, wallet.address)
    epoch = epoch_of(clock())
    assert client.get("/v1/me/balance", headers=headers).json() == {
        "account": wallet.address, "balance": "0.000000", "epoch": epoch, "earned_this_epoch": "0.000000"}
    for sub in range(1, 6):
        reward(client, me, sub, 1_500_000)
    reward(client, me, 1, 1_500_000)  # a replay pays nothing
    assert client.get("/v1/me/balance", headers=headers).json()["balance"] == "7.500000"
    page = client.get("/v1/me/ledger?limit=3", headers=headers).json()
    assert [e["ref"] for e in page["entries"]] == ["5", "4", "3"] and page["entries"][0]["amount"] == "1.500000"
    rest = client.get(f"/v1/me/ledger?limit=3&before={page['next_before']}", headers=headers).json()
    assert [e["ref"] for e in rest["entries"]] == ["2", "1"] and rest["next_before"] is None

    response = client.post(f"/v1/epochs/{epoch}/close", headers=admin)
    assert response.status_code == 409 and response.json()["error"] == "epoch_open"
    clock.now = epoch_end(epoch) + timedelta(hours=1)
    reward(client, me, 6, 2_000_000)  # next month's: stays in the balance
    closed = client.post(f"/v1/epochs/{epoch}/close", headers=admin).json()
    assert closed["closed"] and closed["accounts"] == 1
    assert (closed["redeemable"], closed["earned"]) == ("7.500000", "7.500000")
    assert client.post(f"/v1/epochs/{epoch}/close", headers=admin).json() == closed
    assert client.get(f"/v1/epochs/{epoch}", headers=admin).json() == closed
    balance = client.get("/v1/me/balance", headers=headers).json()
    assert (balance["balance"], balance["earned_this_epoch"]) == ("2.000000", "2.000000")
    assert balance["epoch"] == epoch_of(clock())
    assert [(r["epoch"], r["amount"]) for r in client.get("/v1/me/redemptions", headers=headers).json()] == \
        [(epoch, "7.500000")]
    newest = client.get("/v1/me/ledger", headers=headers).json()["entries"][:2]
    assert [(e["kind"], e["ref"], e["amount"]) for e in newest] == [("redemption", epoch, "-7.500000"),
                                                                     ("reward", "6", "2.000000")]


def test_an_open_epoch_reads_as_open(client: TestClient, admin: dict[str, str], clock: FakeClock) -> None:
    body = client.get(f"/v1/epochs/{epoch_of(clock())}", headers=admin).json()
    assert (body["closed"], body["closed_at"], body["redeemable"], body["accounts"]) == (False, None, None, 0)


@pytest.mark.parametrize("epoch", ["2026-13", "2026-1", "abcd-ef", "0000-01"])
def test_a_malformed_epoch_is_422(client: TestClient, admin: dict[str, str], epoch: str) -> None:
    for response in (client.post(f"/v1/epochs/{epoch}/close", headers=admin),
                     client.get(f"/v1/epochs/{epoch}", headers=admin)):
        assert response.status_code == 422, response.text
        assert "error" in response.json()


def test_epochs_are_for_administrators(client: TestClient, signed_in: Callable[..., dict[str, str]]) -> None:
    headers = signed_in(Wallet.numbered(52))
    assert client.post("/v1/epochs/2020-01/close", headers=headers).status_code == 403
    assert client.get("/v1/epochs/2020-01", headers=headers).status_code == 403
    assert client.post("/v1/epochs/2020-01/close").status_code == 401


@pytest.mark.parametrize("query", ["limit=0", "limit=201", "limit=x", "before=0", "before=99999999999999999999"])
def test_a_bad_ledger_query_is_422(client: TestClient, signed_in: Callable[..., dict[str, str]], query: str) -> None:
    response = client.get(f"/v1/me/ledger?{query}", headers=signed_in(Wallet.numbered(53)))
    assert response.status_code == 422 and response.json()["error"] == "invalid_input"


def test_credits_are_decimal_strings(client: TestClient, signed_in: Callable[..., dict[str, str]]) -> None:
    wallet = Wallet.numbered(54)
    headers = signed_in(wallet)
    reward(client, account_id_of(client, wallet.address), 1, 1, tier=0)
    assert Decimal(client.get("/v1/me/balance", headers=headers).json()["balance"]) == Decimal("0.000001")
