"""An item's life through the real API: answers -> consensus -> accept / more / review -> pay.

Each test runs on SQLite and PostgreSQL. Contributors sign in with their own wallets, lease,
wait (fake clock) and submit signed answers; the requester uploads real bytes.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from coordinator.tasks import routing
from coordinator.tables import items, request_locks, reputations, submissions
from tests.coordinator.contributor import lease, submit
from tests.coordinator.requester import create_request, upload_asset
from coordinator.main import create_app
from tests.coordinator.conftest import ADMIN, drain
from tests.coordinator.wallets import Wallet, sign_in

REQUESTER = Wallet.numbered(300)
WORKERS = [Wallet.numbered(310 + i) for i in range(4)]
REVIEWER = Wallet.numbered(330)
SKY = {"annotations": [{"id": "a", "label": "sky", "shape": {"kind": "tag"}}]}
NOTHING: dict[str, Any] = {"annotations": []}
SEA = {"annotations": [{"id": "n", "label": "sea", "shape": {"kind": "tag"}}]}
CLASSIFY = {"name": "sky-or-sea", "version": 1, "classes": [{"name": "sky", "allowed_kinds": ["tag"]},
                                                           {"name": "sea", "allowed_kinds": ["tag"]}]}


def car(x: float) -> dict[str, Any]:
    return {"annotations": [{"id": "c", "label": "car", "shape": {"kind": "box", "x1": x, "y1": 0, "x2": x + 40, "y2": 30}}]}


@pytest.fixture
def world(client: TestClient, signed_in: Any) -> dict[str, Any]:
    return {"requester": signed_in(REQUESTER, roles=["requester"]),
            "workers": [signed_in(w) for w in WORKERS],
            "reviewer": signed_in(REVIEWER, roles=["reviewer"])}


def _request(client: TestClient, world: dict[str, Any], n_items: int = 1, gold: list | None = None, **spec: Any) -> dict:
    spec = {"gold_rate": 0.0, "reward": "1.5", "min_seconds_per_item": 2, **spec}
    req = create_request(client, world["requester"], **spec)
    uploaded = [upload_asset(client, world["requester"], req["id"], f"image {i}".encode()) for i in range(n_items)]
    uploaded += [upload_asset(client, world["requester"], req["id"], f"gold {i}".encode(), gold=g)
                 for i, g in enumerate(gold or [])]
    return {"request": req, "items": [u["item_id"] for u in uploaded]}


def _answer(client: TestClient, clock: Any, world: dict[str, Any], who: int, labels: dict, wait: float = 5) -> Any:
    (task,) = lease(client, world["workers"][who], 1)
    clock.advance(seconds=wait)
    response = submit(client, world["workers"][who], WORKERS[who], task, labels)
    assert response.status_code == 201, response.text
    drain(client)  # the quality step, as the worker runs it after ingest
    return response.json()


def _item(client: TestClient, item_id: str) -> Any:
    with client.app.state.ctx.db.read() as conn:
        return conn.execute(select(items).where(items.c.id == item_id)).one()


def _balance(client: TestClient, headers: dict[str, str]) -> Decimal:
    return Decimal(client.get("/v1/me/balance", headers=headers).json()["balance"])


def test_agreement_accepts_scores_and_pays(client: TestClient, clock: Any, world: dict[str, Any]) -> None:
    made = _request(client, world, redundancy=3)
    for who in range(3):
        _answer(client, clock, world, who, car(10 + who))
    item = _item(client, made["items"][0])
    assert (item.state, item.decided_by) == ("done", "consensus")
    (box,) = item.consensus["annotations"]
    assert box["label"] == "car" and box["shape"]["x1"] == pytest.approx(11, abs=0.01)
    for who in range(3):
        assert _balance(client, world["workers"][who]) == Decimal("1.5")
    with client.app.state.ctx.db.read() as conn:
        outcomes = conn.execute(select(submissions.c.outcome)).scalars().all()
        reps = conn.execute(select(reputations.c.alpha, reputations.c.beta)).all()
    assert outcomes == ["agreed"] * 3
    prior = client.app.state.ctx.config.reputation_prior
    assert all(alpha > prior[0] for alpha, _ in reps)
    profile = client.get("/v1/me", headers=world["workers"][0]).json()
    assert profile["xp"] > 0 and profile["tasks_today"] == 1


def test_disagreement_asks_for_more_then_an_expert_decides(client: TestClient, clock: Any, world: dict[str, Any]) -> None:
    made = _request(client, world, redundancy=2, max_extra_annotators=1, agreement_threshold=0.9)
    _answer(client, clock, world, 0, SKY)
    _answer(client, clock, world, 1, NOTHING)
    item = _item(client, made["items"][0])
    assert (item.state, item.needed, item.slots_open) == ("open", 3, 1)  # one more annotator
    _answer(client, clock, world, 2, SKY)
    assert _item(client, made["items"][0]).state == "review"
    assert _balance(client, world["workers"][0]) == 0  # nobody is paid before the decision

    queue = client.get("/v1/reviews", headers=world["reviewer"]).json()
    (review,) = queue
    assert len(review["submissions"]) == 3 and review["item_id"] == made["items"][0]
    forbidden = client.get("/v1/reviews", headers=world["workers"][0])
    assert forbidden.status_code == 403
    decided = client.post(f"/v1/reviews/{review['review_id']}/decision", headers=world["reviewer"],
                          json={"labels": SKY, "note": "the sky is visible"})
    assert decided.status_code == 200, decided.text
    item = _item(client, made["items"][0])
    assert (item.state, item.decided_by, item.consensus["annotations"][0]["label"]) == ("done", "expert", "sky")
    assert [_balance(client, world["workers"][w]) for w in range(3)] == [Decimal("1.5"), 0, Decimal("1.5")]
    again = client.post(f"/v1/reviews/{review['review_id']}/decision", headers=world["reviewer"], json={"labels": NOTHING})
    assert again.status_code == 409 and again.json()["error"] == "already_decided"
    assert client.get("/v1/reviews", headers=world["reviewer"]).json() == []


def test_a_decision_outside_the_schema_is_refused(client: TestClient, clock: Any, world: dict[str, Any]) -> None:
    _request(client, world, redundancy=2, max_extra_annotators=0, agreement_threshold=0.9)
    _answer(client, clock, world, 0, SKY)
    _answer(client, clock, world, 1, NOTHING)
    (review,) = client.get("/v1/reviews", headers=world["reviewer"]).json()
    bad = {"annotations": [{"id": "x", "label": "unicorn", "shape": {"kind": "tag"}}]}
    response = client.post(f"/v1/reviews/{review['review_id']}/decision", headers=world["reviewer"], json={"labels": bad})
    assert response.status_code == 422
    assert len(client.get("/v1/reviews", headers=world["reviewer"]).json()) == 1  # still open


def test_nobody_reviews_their_own_answer(client: TestClient, clock: Any, world: dict[str, Any], signed_in: Any) -> None:
    _request(client, world, redundancy=2, max_extra_annotators=0, agreement_threshold=0.9)
    signed_in(WORKERS[0], roles=["contributor", "reviewer"])
    _answer(client, clock, world, 0, SKY)
    _answer(client, clock, world, 1, NOTHING)
    assert client.get("/v1/reviews", headers=world["workers"][0]).json() == []
    assert len(client.get("/v1/reviews", headers=world["reviewer"]).json()) == 1


def test_honeypots_pay_on_a_pass_and_lock_out_repeated_failures(make_config: Any, clock: Any,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(routing.RNG, "random", lambda: 0.0)  # every slot draws a honeypot while unseen ones last
    # with the default floor, two failures already drop the reputation bound below routing;
    # without it the lock-out rule (3 failures in 5) is what stops the account
    with TestClient(create_app(make_config(min_reputation=0.0))) as client:
        admin = sign_in(client, ADMIN)
        world = {"requester": _grant(client, admin, REQUESTER, ["requester"]),
                 "workers": [sign_in(client, w) for w in WORKERS[:2]]}
        gold = [{"annotations": [{**car(100)["annotations"][0], "id": f"g{i}"}]} for i in range(4)]
        _request(client, world, n_items=4, gold=gold, gold_rate=0.5)
        _answer(client, clock, world, 0, car(101))
        assert _balance(client, world["workers"][0]) == Decimal("1.5")
        for _ in range(3):
            _answer(client, clock, world, 1, car(300))  # nowhere near the truth
        assert _balance(client, world["workers"][1]) == 0
        with client.app.state.ctx.db.read() as conn:
            locks = conn.execute(select(request_locks.c.account_id)).all()
        assert len(locks) == 1
        refused = client.post("/v1/leases", json={"count": 1}, headers=world["workers"][1])
        assert refused.status_code == 200 and refused.json()["tasks"] == []


def test_failed_honeypots_lower_the_reputation_below_routing(client: TestClient, clock: Any, world: dict[str, Any],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(routing.RNG, "random", lambda: 0.0)
    gold = [{"annotations": [{**car(100)["annotations"][0], "id": f"g{i}"}]} for i in range(3)]
    made = _request(client, world, n_items=4, gold=gold, gold_rate=0.5)
    seen = {_answer(client, clock, world, 1, car(300))["item_id"] for _ in range(2)}
    # below the floor: no normal work any more, only honeypots (probation): the one not seen yet
    probation = lease(client, world["workers"][1], 5)
    assert [t["item_id"] for t in probation] == sorted(set(made["items"][4:]) - seen)
    assert len(lease(client, world["workers"][0], 1)) == 1  # others still get work


def _grant(client: TestClient, admin: dict[str, str], wallet: Wallet, roles: list[str]) -> dict[str, str]:
    headers = sign_in(client, wallet)
    assert client.patch(f"/v1/accounts/{wallet.address}", json={"roles": roles}, headers=admin).status_code == 200
    return headers


def test_answers_faster_than_a_human_do_not_count(client: TestClient, clock: Any, world: dict[str, Any]) -> None:
    made = _request(client, world, redundancy=1)
    body = _answer(client, clock, world, 0, SKY, wait=0.5)
    assert body["flagged"] is True
    item = _item(client, made["items"][0])
    assert (item.state, item.slots_open) == ("open", 1)  # someone else must answer
    assert _balance(client, world["workers"][0]) == 0
    _answer(client, clock, world, 1, SKY)
    assert _item(client, made["items"][0]).state == "done"


def test_quality_report_runs_dawid_skene_over_a_classification_request(client: TestClient, clock: Any,
                                                                       world: dict[str, Any]) -> None:
    made = _request(client, world, n_items=4, redundancy=3, agreement_threshold=0.5, label_schema=CLASSIFY)
    for round_ in range(4):
        for who in range(3):  # the third worker is wrong every other time
            _answer(client, clock, world, who, SEA if who == 2 and round_ % 2 == 0 else SKY)
    report = client.get(f"/v1/requests/{made['request']['id']}/quality", headers=world["requester"])
    assert report.status_code == 200, report.text
    body = report.json()
    assert body["method"] == "dawid_skene" and body["items_done"] == 4 and body["compared"] == 4
    by_address = {w["address"]: w for w in body["workers"]}
    good, odd = by_address[WORKERS[0].address], by_address[WORKERS[2].address]
    assert good["agreed"] == 4 and (odd["agreed"], odd["disagreed"]) == (2, 2)
    assert good["estimated_accuracy"] > odd["estimated_accuracy"]
    other = client.get(f"/v1/requests/{made['request']['id']}/quality", headers=world["workers"][0])
    assert other.status_code == 403
