"""Submissions: stored once, replayed verbatim, signed by the signed-in wallet, fenced by the
lease; hostile input refused with the right status and nothing changed; batches item by item."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from coordinator.main import create_app
from coordinator.submissions.service import Ingest
from coordinator.tables import items, leases, submissions
from tests.coordinator.contributor import lease, make_payload, seed_request, submission, submit
from tests.coordinator.requester import create_request, upload_asset
from tests.coordinator.wallets import Wallet, sign_in

ME, OTHER = Wallet.numbered(200), Wallet.numbered(201)


def db(client: TestClient) -> Any:
    return client.app.state.ctx.db


def snapshot(client: TestClient) -> tuple[Any, ...]:
    """Row counts and counters that a refused submission must leave as they were."""
    with db(client).read() as conn:
        return (conn.execute(select(func.count()).select_from(submissions)).scalar(),
                tuple(conn.execute(select(leases.c.id, leases.c.state).order_by(leases.c.id))),
                tuple(conn.execute(select(items.c.id, items.c.slots_open, items.c.submitted).order_by(items.c.id))))


@pytest.fixture
def setup(client: TestClient, signed_in: Any, clock: Any) -> dict[str, Any]:
    seeded = seed_request(db(client), items_n=4, redundancy=2)
    me, other = signed_in(ME), signed_in(OTHER)
    mine, theirs = lease(client, me, 2), lease(client, other, 2)
    clock.advance(seconds=30)  # a human's pace: not flagged
    return {"seeded": seeded, "me": me, "other": other, "mine": mine, "theirs": theirs}


def test_happy_path_and_replay(client: TestClient, setup: dict[str, Any]) -> None:
    task = setup["mine"][0]
    body = submission(ME, task, ["car", "person"], "sub-1")
    headers = {**setup["me"], "Idempotency-Key": "sub-1"}
    first = client.post("/v1/submissions", json=body, headers=headers)
    assert first.status_code == 201, first.text
    out = first.json()
    assert out["submission_id"] == "sub-1" and out["item_id"] == task["item_id"] and out["flagged"] is False
    assert "Idempotent-Replayed" not in first.headers
    with db(client).read() as conn:
        assert conn.execute(select(leases.c.state).where(leases.c.id == task["lease_id"])).scalar() == "submitted"
        assert conn.execute(select(items.c.submitted).where(items.c.id == task["item_id"])).scalar() == 1
    before = snapshot(client)
    again = client.post("/v1/submissions", json=body, headers=headers)
    assert again.status_code == 201 and again.content == first.content
    assert again.headers["Idempotent-Replayed"] == "true"
    assert snapshot(client) == before
    fetched = client.get("/v1/submissions/sub-1", headers=setup["me"])
    assert fetched.status_code == 200 and fetched.json() == out
    assert client.get("/v1/submissions/sub-1", headers=setup["other"]).status_code == 404


def test_same_key_other_payload_is_409(client: TestClient, setup: dict[str, Any]) -> None:
    task = setup["mine"][0]
    assert submit(client, setup["me"], ME, task, ["car"], "k").status_code == 201
    before = snapshot(client)
    reused = submit(client, setup["me"], ME, setup["mine"][1], ["car"], "k")
    assert reused.status_code == 409 and reused.json()["error"] == "idempotency_key_reused"
    other_labels = submit(client, setup["me"], ME, task, ["person"], "k")
    assert other_labels.status_code == 409
    assert snapshot(client) == before


def test_another_lease_under_a_new_key_is_already_submitted(client: TestClient, setup: dict[str, Any]) -> None:
    task = setup["mine"][0]
    assert submit(client, setup["me"], ME, task, ["car"], "a").status_code == 201
    before = snapshot(client)
    second = submit(client, setup["me"], ME, task, ["car"], "b")
    assert second.status_code == 409 and second.json()["error"] == "already_submitted"
    assert snapshot(client) == before


def refusal(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"] == code, response.text
    assert "Traceback" not in response.text


def test_hostile_submissions_are_refused_and_change_nothing(client: TestClient, setup: dict[str, Any]) -> None:
    me, task, theirs = setup["me"], setup["mine"][0], setup["theirs"][0]
    before = snapshot(client)
    # signed by another wallet (the payload is fine): 401
    forged = submission(ME, task, ["car"], "f1")
    forged["signature"] = OTHER.sign_payload(forged["payload"])
    refusal(client.post("/v1/submissions", json=forged, headers={**me, "Idempotency-Key": "f1"}), 401, "bad_signature")
    # signed, then tampered with: 401
    tampered = submission(ME, task, ["car"], "f2")
    tampered["payload"]["labels"]["annotations"][0]["label"] = "person"
    refusal(client.post("/v1/submissions", json=tampered, headers={**me, "Idempotency-Key": "f2"}),
            401, "bad_signature")
    # a signature that recovers to nothing
    junk = submission(ME, task, ["car"], "f3")
    junk["signature"] = "0x" + "ff" * 65
    refusal(client.post("/v1/submissions", json=junk, headers={**me, "Idempotency-Key": "f3"}), 401, "bad_signature")
    # another user's lease, signed by me: looks like no lease at all
    refusal(submit(client, me, ME, theirs, ["car"]), 404, "not_found")
    refusal(submit(client, me, ME, task, ["car"], epoch=task["epoch"] + 1), 409, "stale_epoch")
    refusal(submit(client, me, ME, task, ["car"], item_id=setup["mine"][1]["item_id"]), 422, "item_mismatch")
    refusal(submit(client, me, ME, task, ["truck"]), 422, "unknown_label")
    refusal(submit(client, me, ME, task, ["car"], lease_id="no-such-lease"), 404, "not_found")
    body = submission(ME, task, ["car"], "m1")
    refusal(client.post("/v1/submissions", json=body, headers=me), 400, "missing_idempotency_key")
    refusal(client.post("/v1/submissions", json=body, headers={**me, "Idempotency-Key": "other"}),
            422, "idempotency_key_mismatch")
    refusal(client.post("/v1/submissions", content=b'{"submission_id": "x", "payload": {',
                        headers={**me, "Idempotency-Key": "x", "Content-Type": "application/json"}),
            422, "invalid_input")
    refusal(client.post("/v1/submissions", json={**body, "extra": 1}, headers={**me, "Idempotency-Key": "m1"}),
            422, "invalid_input")
    refusal(client.post("/v1/submissions", json=body, headers={"Idempotency-Key": "m1"}), 401, "not_signed_in")
    assert snapshot(client) == before


def test_oversized_body_is_413(make_config: Any, clock: Any) -> None:
    with TestClient(create_app(make_config(max_body_bytes=20_000))) as small:
        seed_request(db(small), items_n=1)
        headers = sign_in(small, ME)
        [task] = lease(small, headers, 1)
        clock.advance(seconds=30)
        before = snapshot(small)
        refusal(submit(small, headers, ME, task, ["car"] * 400), 413, "too_large")
        assert snapshot(small) == before
        assert submit(small, headers, ME, task, ["car"] * 10).status_code == 201


def test_signature_covers_the_payload_as_sent(client: TestClient, setup: dict[str, Any]) -> None:
    """A client that writes 10 (not 10.0) and its own time spelling: pydantic would re-dump both
    differently, but the server hashes what was sent, so the signature still holds."""
    task = setup["mine"][0]
    labels = {"annotations": [{"id": "b", "label": "car", "shape": {"kind": "box", "x1": 1, "y1": 2, "x2": 10,
                                                                       "y2": 20.5}}]}
    payload = make_payload(task, labels, started_at="2026-01-01T00:00:00.000+00:00",
                           finished_at="2026-01-01T00:01:00.000+00:00")
    body = {"submission_id": "raw", "payload": payload, "signature": ME.sign_payload(payload)}
    text = json.dumps(body, separators=(", ", ": "))
    response = client.post("/v1/submissions", content=text.encode(),
                           headers={**setup["me"], "Idempotency-Key": "raw", "Content-Type": "application/json"})
    assert response.status_code == 201, response.text


def test_fast_submission_is_flagged_and_does_not_count(client: TestClient, signed_in: Any) -> None:
    seed_request(db(client), items_n=1, redundancy=1, min_seconds_per_item=5)
    headers = signed_in(ME)
    [task] = lease(client, headers, 1)
    response = submit(client, headers, ME, task, ["car"])
    assert response.status_code == 201 and response.json()["flagged"] is True
    with db(client).read() as conn:
        row = conn.execute(select(items.c.slots_open, items.c.submitted)).one()
        reason = conn.execute(select(submissions.c.flag_reason)).scalar()
    assert tuple(row) == (1, 0) and "5 s" in reason  # its slot went back to the queue
    assert len(lease(client, signed_in(OTHER), 1)) == 1


def test_batch_judges_each_item_on_its_own(client: TestClient, signed_in: Any, clock: Any) -> None:
    seed_request(db(client), items_n=6, redundancy=1)
    me = signed_in(ME)
    tasks = lease(client, me, 6)
    clock.advance(seconds=30)
    good = [submission(ME, t, ["car"], f"g{i}") for i, t in enumerate(tasks[:3])]
    forged = submission(ME, tasks[3], ["car"], "forged")
    forged["signature"] = OTHER.sign_payload(forged["payload"])
    unknown = submission(ME, tasks[4], ["truck"], "unknown")
    stale = submission(ME, tasks[5], ["car"], "stale", epoch=tasks[5]["epoch"] + 7)
    twice = dict(good[0])  # the same submission twice in one batch: the second is a replay
    reused = submission(ME, tasks[1], ["person"], "g0")
    batch = [*good, forged, unknown, stale, twice, reused]
    response = client.post("/v1/submissions/batch", json={"submissions": batch}, headers=me)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["status"] for r in results] == [201, 201, 201, 401, 422, 409, 201, 409]
    assert [r["error"]["error"] for r in results if r["error"]] == [
        "bad_signature", "unknown_label", "stale_epoch", "idempotency_key_reused"]
    assert results[6]["result"] == results[0]["result"]
    with db(client).read() as conn:
        assert conn.execute(select(func.count()).select_from(submissions)).scalar() == 3
        assert conn.execute(select(func.sum(items.c.submitted))).scalar() == 3
    again = client.post("/v1/submissions/batch", json={"submissions": good}, headers=me).json()["results"]
    assert [r["result"] for r in again] == [r["result"] for r in results[:3]]


def test_batch_bounds(client: TestClient, signed_in: Any) -> None:
    me = signed_in(ME)
    refusal(client.post("/v1/submissions/batch", json={"submissions": []}, headers=me), 422, "invalid_input")
    one = {"submission_id": "x", "payload": {}, "signature": "0x" + "1" * 130}
    refusal(client.post("/v1/submissions/batch", json={"submissions": [one] * 501}, headers=me), 422,
            "invalid_input")


def test_a_key_stored_concurrently_is_answered_without_a_500(client: TestClient, setup: dict[str, Any],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A concurrent request stores the same key (another payload) between our checks and our
    insert: our item gets 409, its lease flips back to active, the batch's other items stand."""
    task, other_task = setup["mine"]
    twin = submission(ME, task, ["person"], "twin")
    mine = [submission(ME, task, ["car"], "twin"), submission(ME, other_task, ["car"], "solo")]
    real_lock = Ingest._lock_items

    def race(self: Ingest, item_ids: Any) -> None:
        real_lock(self, item_ids)
        self.conn.execute(submissions.insert().values(
            account_id=self.principal.account_id, submission_id="twin", item_id=task["item_id"],
            lease_id=task["lease_id"], payload=twin["payload"], payload_sha256="0" * 64,
            signature=twin["signature"], status_code=201, response={"stored": "by the twin"},
            flagged=False, created_at=self.now))

    monkeypatch.setattr(Ingest, "_lock_items", race)
    results = client.post("/v1/submissions/batch", json={"submissions": mine}, headers=setup["me"]).json()["results"]
    assert [(r["status"], (r["error"] or {}).get("error")) for r in results] == [
        (409, "idempotency_key_reused"), (201, None)]
    with db(client).read() as conn:
        states = dict(conn.execute(select(leases.c.id, leases.c.state)
                                   .where(leases.c.id.in_([task["lease_id"], other_task["lease_id"]]))).all())
    assert states == {task["lease_id"]: "active", other_task["lease_id"]: "submitted"}


def test_through_the_requester_api(client: TestClient, signed_in: Any, clock: Any) -> None:
    """A request and assets made through the requester API: leased, downloaded, submitted;
    a shape kind its class does not allow is refused."""
    requester = signed_in(Wallet.numbered(210), roles=["requester"])
    request = create_request(client, requester, redundancy=1, gold_rate=0.0)
    data = [bytes([i]) * 2048 for i in range(2)]
    uploaded = {upload_asset(client, requester, request["id"], d)["item_id"]: d for d in data}
    me = signed_in(ME)
    tasks = lease(client, me, 5)
    assert {t["item_id"] for t in tasks} == set(uploaded)
    assert tasks[0]["label_schema"] == request["label_schema"]
    download = client.get(tasks[0]["asset"]["url"], headers=me)
    assert download.status_code == 200 and download.content == uploaded[tasks[0]["item_id"]]
    clock.advance(seconds=30)
    box = {"annotations": [{"id": "a", "label": "car", "shape": {"kind": "box", "x1": 0, "y1": 0, "x2": 5, "y2": 5}}]}
    assert submit(client, me, ME, tasks[0], box).status_code == 201
    refusal(submit(client, me, ME, tasks[1], ["car"]), 422, "shape_not_allowed")  # car allows box, polygon
