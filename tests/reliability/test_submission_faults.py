"""Submissions through a network that cuts 30% of connections, half before the request reaches
the coordinator and half after it committed: plain `requests` retrying each submission with its
Idempotency-Key ends with every submission stored once: 0 lost, 0 duplicated, and every reply the
client lost after a commit answered by a replay. After a blackhole (accepted, never answered),
sending resumes as soon as it ends."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests
from sqlalchemy import func, select

from coordinator.db import CoordinatorDB
from coordinator.tables import submissions
from tests.coordinator.contributor import lease, seed_request, submission
from tests.coordinator.live import LiveClient
from tests.coordinator.wallets import Wallet, sign_in
from tests.reliability.coordinator_site import Site
from tests.reliability.fault_proxy import FaultProxy, FaultRates

WORKER = Wallet.numbered(702)
N = 200


def _leased_tasks(site: Site, worker: Wallet, n: int) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """`n` open items (redundancy 1) written straight into the database, leased by `worker`."""
    db = CoordinatorDB(site.db_url)
    try:
        seeded = seed_request(db, items_n=n, redundancy=1, gold_rate=0.0)
    finally:
        db.close()
    with LiveClient(site.base_url) as client:
        headers = sign_in(client, worker)
        tasks = [task for start in range(0, n, 100)
                 for task in lease(client, headers, min(100, n - start), request_id=seeded.request_id)]
    assert len(tasks) == n
    return headers, tasks


def _stored(site: Site, prefix: str) -> dict[str, int]:
    """How many times the coordinator holds each submission id that starts with `prefix`."""
    db = CoordinatorDB(site.db_url)
    try:
        with db.read() as conn:
            return dict(conn.execute(select(submissions.c.submission_id, func.count())
                                     .where(submissions.c.submission_id.like(f"{prefix}%"))
                                     .group_by(submissions.c.submission_id)).all())
    finally:
        db.close()


def _send(session: requests.Session, url: str, headers: dict[str, str], body: dict[str, Any], *,
          timeout: float = 10, close: bool = True) -> tuple[int, bool]:
    """POST until a reply arrives: (attempts, whether the reply was a replay)."""
    keyed = {**headers, "Idempotency-Key": body["submission_id"], **({"Connection": "close"} if close else {})}
    for attempt in range(1, 50):
        try:
            reply = session.post(url, json=body, headers=keyed, timeout=timeout)
        except (requests.ConnectionError, requests.Timeout):
            continue  # cut before or after the commit: the client cannot tell, so it sends again
        assert reply.status_code == 201, reply.text
        return attempt, reply.headers.get("Idempotent-Replayed") == "true"
    raise AssertionError(f"submission {body['submission_id']} never got a reply")


@pytest.mark.slow
def test_thirty_percent_of_connections_cut_nothing_lost_nothing_duplicated(
        site: tuple[Site, list[Any]]) -> None:
    coordinator = site[0]
    headers, tasks = _leased_tasks(coordinator, WORKER, N)
    bodies = [submission(WORKER, task, ["car"], f"net-{i:04d}") for i, task in enumerate(tasks)]
    with FaultProxy(coordinator.port, rates=FaultRates.split_cuts(0.30), seed=5) as proxy:
        session = requests.Session()
        outcomes = [_send(session, proxy.url + "/v1/submissions", headers, body) for body in bodies]
    counts = proxy.counters()  # after close: its connection threads have finished counting
    attempts = sum(tries for tries, _ in outcomes)
    assert counts.connections == attempts and counts.passed == N  # one connection per attempt
    assert 0.2 < (counts.cut_request + counts.cut_after_commit) / attempts < 0.4, counts
    assert counts.cut_request > 0 and counts.cut_after_commit > 0
    stored = _stored(coordinator, "net-")
    assert set(stored) == {body["submission_id"] for body in bodies}  # 0 lost
    assert set(stored.values()) == {1}  # 0 duplicated
    replayed = sum(replay for _, replay in outcomes)
    assert 0 < replayed <= counts.cut_after_commit  # a lost reply is answered by the stored one


def test_after_a_blackhole_sending_resumes_within_one_read_timeout(site: tuple[Site, list[Any]]) -> None:
    coordinator = site[0]
    headers, tasks = _leased_tasks(coordinator, Wallet.numbered(703), 20)
    bodies = [submission(Wallet.numbered(703), task, ["car"], f"hole-{i:02d}") for i, task in enumerate(tasks)]
    with FaultProxy(coordinator.port) as proxy:
        session, url = requests.Session(), proxy.url + "/v1/submissions"  # pooled: its live connection freezes too
        for body in bodies[:10]:
            _send(session, url, headers, body, close=False)
        proxy.blackhole(2.0)
        ends = time.monotonic() + 2.0
        _send(session, url, headers, bodies[10], timeout=0.5, close=False)
        resumed_after = time.monotonic() - ends
        for body in bodies[11:]:
            _send(session, url, headers, body, timeout=0.5, close=False)
    assert 0 <= resumed_after < 1.0, resumed_after  # the attempt in flight at the end, then the retry
    assert proxy.counters().blackholed >= 2  # the pooled connection and each attempt during the hole
    stored = _stored(coordinator, "hole-")
    assert set(stored) == {body["submission_id"] for body in bodies} and set(stored.values()) == {1}
