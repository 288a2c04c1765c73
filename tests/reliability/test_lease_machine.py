"""Leases: a hypothesis state machine with a fake clock, over 10,000 steps in all.

Three contributors lease, heartbeat, submit, replay, release and wait (the clock jumps) on the
items of one data request (redundancy 2) per example. Clients 1 and 2 call the coordinator's
lease and submission services directly (their real functions, a real SQLite database, the
service's injectable clock); client 0 is the workstation: its leases are registered in a real
workspace and its heartbeats, releases and submissions go through the real engine
(`LeaseKeeper`, `Pusher`) over HTTP to the same coordinator, so the engine's reading of each answer is checked
too. After every step:
- never more live holders of an item than it needs (live leases + counted answers <= needed),
  never two live leases of one account on one item, and the database's live leases are
  exactly the model's;
- a stale epoch is always refused (409 stale_epoch), by heartbeat and by submission;
- client 0's refused work is kept: its annotations stay, the task is marked conflicted or late
  with the server's words, and the submission is never sent again.
Bound: 400 s (75-110 s measured on a busy 2-core machine: most steps are a few milliseconds,
the HTTP ones of client 0 tens).
"""

from __future__ import annotations

import os
import random
import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test
from sqlalchemy import func, select

from app.annotators.annotation import Annotation
from app.annotators.shapes import Tag
from app.store.assets import NewAsset
from app.store.sync_queue import Lease
from app.store.workspace import Workspace
from app.sync import signing
from app.sync.backoff import Backoff
from app.sync.client import CoordinatorClient
from app.sync.leases import LeaseKeeper
from app.sync.push import Pusher
from app.sync.signer import KeySigner
from app.sync.submission import submit_leased_task
from app.sync.wire import HeartbeatIn, LeaseIn, Role, SubmissionIn
from coordinator.context import Ctx
from coordinator.errors import ApiError
from coordinator.security import Principal
from coordinator.submissions import service as submissions
from coordinator.tables import accounts, items, leases
from coordinator.tables import submissions as submission_rows
from coordinator.tasks import routing, service as lease_service
from tests.coordinator.contributor import make_payload, seed_request
from tests.coordinator.wallets import Wallet
from tests.sync.conftest import CONTRIBUTOR, Coordinator, running_coordinator

STEPS = int(os.environ.get("LEASE_STEPS", 10_000))
ITEMS, NEEDED = 4, 2
WALLETS = [CONTRIBUTOR, Wallet.numbered(801), Wallet.numbered(802)]  # client 0 is the workstation
DURATIONS = (60, 120, 600)


@dataclass
class Held:
    """One lease as the model knows it."""

    client: int
    lease_id: str
    item_id: str
    epoch: int
    expires_at: datetime
    state: str = "active"  # active | submitted | released (expiry is by the clock)
    task_id: int | None = None  # client 0: its local task
    local_epoch: int | None = None  # client 0: the epoch its workspace holds (may be made stale)
    queued: bool = False  # client 0: the task was submitted locally
    key: str | None = None  # clients 1, 2: the submission id that was stored


@dataclass
class Env:
    coordinator: Coordinator
    ctx: Ctx
    principals: list[Principal]
    ws: Workspace
    pusher: Pusher
    keeper: LeaseKeeper
    steps: int = 0


ENV: Env | None = None


def _principal(conn: Any, wallet: Wallet) -> Principal:
    row = conn.execute(select(accounts.c.id).where(accounts.c.address == wallet.address)).first()
    if row is None:
        account_id = conn.execute(accounts.insert().values(
            address=wallet.address, roles=["contributor"], tier=0, languages=[], skills=[], locked=False,
            created_at=datetime.now(timezone.utc))).inserted_primary_key[0]
    else:
        account_id = row.id
    return Principal(account_id, wallet.address, frozenset({Role.contributor}), 0, (), ())


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    global ENV
    monkeypatch.setattr(routing, "RNG", random.Random(0))
    fast = Path("/dev/shm") if Path("/dev/shm").is_dir() else tmp_path  # fsync-free: the steps are many
    with tempfile.TemporaryDirectory(dir=fast) as folder, \
            running_coordinator(Path(folder), session_ttl_s=10**8) as coordinator, \
            Workspace.open(Path(folder) / "ws") as ws:
        client = CoordinatorClient(coordinator.url, KeySigner(CONTRIBUTOR.key), timeout_s=30)
        client.session_token()  # signed in once, at the start: the fake clock only moves on
        with coordinator.db.write() as conn:
            principals = [_principal(conn, wallet) for wallet in WALLETS]
        ENV = Env(coordinator, Ctx(coordinator.config, coordinator.db), principals, ws,
                  Pusher(ws.sync, client, batch_size=10, backoff=Backoff(0.01, 0.05, random.Random(1))),
                  LeaseKeeper(ws, client, lease_s=600))
        try:
            yield ENV
        finally:
            ENV = None


def _code(call: Any) -> tuple[int, str | None, Any]:
    """(status, error code, result) of a service call."""
    try:
        return 200, None, call()
    except ApiError as exc:
        return exc.status, exc.code, None


def _one_of(data: st.DataObject, choices: list[Any]) -> Any:
    """One of `choices`, drawn the same way whatever their number: the lists come from the
    coordinator's answers, and hypothesis needs the draws of a replayed run to match."""
    return choices[data.draw(st.integers(0, 1 << 16)) % len(choices)]


class LeaseMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        assert ENV is not None
        self.env = ENV
        self.clock = ENV.coordinator.clock
        self.request_id = seed_request(ENV.coordinator.db, items_n=ITEMS, redundancy=NEEDED, min_seconds_per_item=0,
                                       now=self.clock()).request_id
        self.held: list[Held] = []
        routing.RNG.seed(0)  # which items a lease call gets: the same in a replayed run

    # -- what the model expects --------------------------------------------------------------
    def live(self, held: Held) -> bool:
        return held.state == "active" and held.expires_at > self.clock()

    def expected(self, held: Held, epoch: int) -> str | None:
        """The refusal the coordinator must give to a submission with `epoch` (None: stored)."""
        if epoch != held.epoch:
            return "stale_epoch"
        if held.state == "submitted":
            return "already_submitted"
        return None if self.live(held) else "lease_expired"

    def item_open(self, item_id: str) -> bool:
        with self.env.coordinator.db.read() as conn:
            return conn.execute(select(items.c.state).where(items.c.id == item_id)).scalar_one() == "open"

    def stale_epoch(self, data: st.DataObject, held: Held) -> int:
        """Another lease's epoch on the same item when there is one (a real fencing token of the
        past or the future), else one off."""
        others = sorted({h.epoch for h in self.held if h.item_id == held.item_id and h.epoch != held.epoch})
        return _one_of(data, others + [held.epoch - 1, held.epoch + 1])

    def pick(self, data: st.DataObject, clients: tuple[int, ...], **want: Any) -> Held:
        candidates = [h for h in self.held if h.client in clients and all(getattr(h, k) == v for k, v in want.items())]
        return _one_of(data, candidates)

    def has(self, clients: tuple[int, ...], **want: Any) -> bool:
        return any(h.client in clients and all(getattr(h, k) == v for k, v in want.items()) for h in self.held)

    # -- rules -----------------------------------------------------------------------------------
    @rule(client=st.integers(0, 2), count=st.integers(1, 3), duration=st.sampled_from(DURATIONS))
    def lease(self, client: int, count: int, duration: int) -> None:
        self.env.steps += 1
        body = LeaseIn(count=count, duration_s=duration, request_id=self.request_id)
        granted = lease_service.lease(self.env.ctx, self.env.principals[client], body).tasks
        mine = {h.item_id for h in self.held if h.client == client}
        assert not mine & {t.item_id for t in granted}, "an account leased the same item twice"
        new = [Held(client, t.lease_id, t.item_id, t.epoch, t.expires_at) for t in granted]
        for item_id in {h.item_id for h in new}:
            assert all(h.epoch > old.epoch for h in new if h.item_id == item_id
                       for old in self.held if old.item_id == item_id), "an epoch did not grow"
        if client == 0 and new:
            self.register_locally(new)
        self.held += new

    def register_locally(self, new: list[Held]) -> None:
        project = self.env.ws.sync.project_for_request(self.request_id, "leased")
        entries = [(NewAsset(secrets.token_hex(32), "image", "managed", f"blobs/{h.lease_id}", "x.png", 1, {}),
                    Lease(h.item_id, h.lease_id, h.epoch, h.expires_at)) for h in new]
        for h, task in zip(new, self.env.ws.sync.add_leased_many(project.id, entries)):
            h.task_id, h.local_epoch = task.id, h.epoch

    @precondition(lambda self: self.has((1, 2)))
    @rule(data=st.data(), stale=st.booleans(), duration=st.sampled_from(DURATIONS))
    def heartbeat(self, data: st.DataObject, stale: bool, duration: int) -> None:
        self.env.steps += 1
        held = self.pick(data, (1, 2))
        epoch = self.stale_epoch(data, held) if stale else held.epoch
        want = self.expected(held, epoch)
        if want is None and not self.item_open(held.item_id):
            want = "item_closed"
        status, code, out = _code(lambda: lease_service.heartbeat(
            self.env.ctx, self.env.principals[held.client], held.lease_id, HeartbeatIn(epoch=epoch, duration_s=duration)))
        assert code == want, (status, code, want)
        if out is not None:
            held.expires_at = out.expires_at

    @precondition(lambda self: self.has((1, 2)))
    @rule(data=st.data(), stale=st.booleans())
    def submit(self, data: st.DataObject, stale: bool) -> None:
        self.env.steps += 1
        held = self.pick(data, (1, 2))
        epoch = self.stale_epoch(data, held) if stale else held.epoch
        want = self.expected(held, epoch)
        key = secrets.token_hex(8)
        [answer] = submissions.submit_batch(self.env.ctx, self.env.principals[held.client],
                                            [self.verified(held, epoch, key)])
        code = answer.code if isinstance(answer, ApiError) else None
        assert code == want, (answer, want)
        if want is None:
            held.state, held.key = "submitted", key

    def verified(self, held: Held, epoch: int, key: str) -> submissions.Verified:
        wallet = WALLETS[held.client]
        payload = make_payload({"item_id": held.item_id, "lease_id": held.lease_id, "epoch": epoch}, "car")
        sub = SubmissionIn.model_validate({"submission_id": key, "payload": payload,
                                           "signature": wallet.sign_payload(payload)})
        return submissions.Verified(sub, signing.payload_digest(payload), payload)

    @precondition(lambda self: self.has((1, 2), state="submitted"))
    @rule(data=st.data())
    def replay(self, data: st.DataObject) -> None:
        """The same key again (a lost answer): the stored answer, never a second row."""
        self.env.steps += 1
        held = self.pick(data, (1, 2), state="submitted")
        assert held.key is not None
        with self.env.coordinator.db.read() as conn:
            payload = conn.execute(select(submission_rows.c.payload)
                                   .where(submission_rows.c.submission_id == held.key)).scalar_one()
        sub = SubmissionIn.model_validate({"submission_id": held.key, "payload": payload,
                                           "signature": WALLETS[held.client].sign_payload(payload)})
        [answer] = submissions.submit_batch(self.env.ctx, self.env.principals[held.client],
                                            [submissions.Verified(sub, signing.payload_digest(payload), payload)])
        assert not isinstance(answer, ApiError) and answer.replayed and answer.status == 201, answer

    @precondition(lambda self: self.has((1, 2), state="active"))
    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        self.env.steps += 1
        held = self.pick(data, (1, 2), state="active")
        lease_service.release(self.env.ctx, self.env.principals[held.client], held.lease_id)
        held.state = "released"

    @rule(seconds=st.sampled_from((1, 30, 59, 61, 200, 700)))
    def wait(self, seconds: int) -> None:
        self.env.steps += 1
        self.clock.advance(seconds=seconds)

    # -- client 0: the workstation's engine over HTTP ----------------------------------------------
    @precondition(lambda self: self.has((0,), queued=False))
    @rule(data=st.data(), stale=st.booleans())
    def engine_submit(self, data: st.DataObject, stale: bool) -> None:
        self.env.steps += 1
        held, ws = self.pick(data, (0,), queued=False), self.env.ws
        assert held.task_id is not None
        task = ws.tasks.get(held.task_id)
        if stale:
            held.local_epoch = self.stale_epoch(data, held)
            ws.tasks.set_lease(task.id, lease_id=held.lease_id, epoch=held.local_epoch, expires_at=task.lease_expires_at)
        ws.annotations.save(Annotation.new(asset_id=task.asset_id, label="car", shape=Tag(), author="me"),
                            task_id=task.id)
        submit_leased_task(ws, task.id, author="me")
        held.queued = True
        want = self.expected(held, held.local_epoch or 0)
        report = self.env.pusher.drain()
        assert report.error is None and report.handled == 1, report
        after = ws.tasks.get(task.id)
        assert after.sync_state == {None: "sent", "lease_expired": "late"}.get(want, "conflicted"), (after, want)
        assert (want is None) is (after.sync_detail is None), after.sync_detail  # a refusal is shown in words
        assert len(ws.annotations.for_asset(task.asset_id)) == 1, "the local work was dropped"
        assert self.env.pusher.drain().handled == 0, "a final answer was sent again"
        if want is None:
            held.state = "submitted"

    @precondition(lambda self: self.has((0,), queued=False))
    @rule(data=st.data(), stale=st.booleans())
    def engine_heartbeat(self, data: st.DataObject, stale: bool) -> None:
        self.env.steps += 1
        held, ws = self.pick(data, (0,), queued=False), self.env.ws
        assert held.task_id is not None
        if stale:
            held.local_epoch = self.stale_epoch(data, held)
            task = ws.tasks.get(held.task_id)
            ws.tasks.set_lease(task.id, lease_id=held.lease_id, epoch=held.local_epoch, expires_at=task.lease_expires_at)
        want = self.expected(held, held.local_epoch or 0)
        if want is None and not self.item_open(held.item_id):
            want = "item_closed"
        beat = self.env.keeper.beat(held.task_id)
        assert beat.alive is (want is None), (beat, want)
        mark = {None: None, "stale_epoch": "conflicted", "lease_expired": "late", "item_closed": "late"}[want]
        assert beat.mark == mark and ws.tasks.get(held.task_id).sync_state == mark, (beat, want)
        if beat.alive:
            held.expires_at = ws.tasks.get(held.task_id).lease_expires_at

    @precondition(lambda self: self.has((0,), queued=False, state="active"))
    @rule(data=st.data())
    def engine_release(self, data: st.DataObject) -> None:
        """The user gives a task back: the slot reopens, the task is marked, its work stays."""
        self.env.steps += 1
        held, ws = self.pick(data, (0,), queued=False, state="active"), self.env.ws
        assert held.task_id is not None
        self.env.keeper.release(held.task_id)
        held.state = "released"
        assert ws.tasks.get(held.task_id).sync_state == "late"

    # -- invariants ------------------------------------------------------------------------------
    @invariant()
    def never_more_live_holders_than_needed(self) -> None:
        now = self.clock()
        with self.env.coordinator.db.read() as conn:
            live = conn.execute(select(leases.c.id, leases.c.item_id, leases.c.account_id)
                                .join(items, items.c.id == leases.c.item_id)
                                .where(items.c.request_id == self.request_id, leases.c.state == "active",
                                       leases.c.expires_at > now)).all()
            counted = dict(conn.execute(select(submission_rows.c.item_id, func.count())
                                        .join(items, items.c.id == submission_rows.c.item_id)
                                        .where(items.c.request_id == self.request_id,
                                               submission_rows.c.flagged.is_(False))
                                        .group_by(submission_rows.c.item_id)).all())
            needed = dict(conn.execute(select(items.c.id, items.c.needed)
                                       .where(items.c.request_id == self.request_id)).all())
        for item_id, limit in needed.items():
            holders = [row for row in live if row.item_id == item_id]
            assert len(holders) + counted.get(item_id, 0) <= limit, f"item {item_id}: more holders than it needs"
            assert len({row.account_id for row in holders}) == len(holders), "two live leases of one account"
        assert {row.id for row in live} == {h.lease_id for h in self.held if self.live(h)}


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_leases_state_machine_10000_steps(env: Env) -> None:
    examples = 0
    while env.steps < STEPS:  # hypothesis may end an example early: go on until the steps are done
        run_state_machine_as_test(LeaseMachine, settings=settings(
            max_examples=240, stateful_step_count=50, deadline=None,
            suppress_health_check=list(HealthCheck)))
        examples += 1
    print(f"\n{env.steps} steps in {examples} runs of the machine")
