"""The requester API: data requests (create, list, get, close), progress figures, native export."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select, update

from app.formats import native
from coordinator.quality import queue
from coordinator.tables import accounts, data_requests, items, leases, submissions
from tests.coordinator.requester import SCHEMA, create_request, request_spec, upload_asset
from tests.coordinator.wallets import Wallet

REQUESTER, OTHER, WORKERS = Wallet.numbered(1), Wallet.numbered(2), [Wallet.numbered(n) for n in (3, 4, 5)]


@pytest.fixture
def requester(signed_in: Any) -> dict[str, str]:
    return signed_in(REQUESTER, roles=["requester"])


def _db(client: Any) -> Any:
    return client.app.state.ctx.db


def _account_id(client: Any, wallet: Wallet) -> int:
    with _db(client).read() as conn:
        return conn.execute(select(accounts.c.id).where(accounts.c.address == wallet.address)).scalar_one()


# -- create, read, close ------------------------------------------------------------------------

def test_create_get_list_close(client: Any, requester: dict[str, str], admin: dict[str, str], clock: Any) -> None:
    deadline = (clock.now + timedelta(days=3)).isoformat()
    out = create_request(client, requester, reward="1.5", deadline=deadline,
                         requirements={"min_tier": 2, "languages": ["en", "de"], "skills": ["driving"]})
    assert out["status"] == "open" and Decimal(out["reward"]) == Decimal("1.5")
    assert out["label_schema"] == SCHEMA and out["requirements"]["min_tier"] == 2
    with _db(client).read() as conn:
        row = conn.execute(select(data_requests).where(data_requests.c.id == out["id"])).one()
    assert row.reward_micro == 1_500_000 and row.family == "image:box+mask+points+polygon+tag"
    assert (row.redundancy, row.min_tier, row.languages, row.skills) == (3, 2, ["en", "de"], ["driving"])
    assert client.get(f"/v1/requests/{out['id']}", headers=requester).json() == out
    assert client.get("/v1/requests", headers=requester).json() == [out]
    assert [r["id"] for r in client.get("/v1/requests", headers=admin).json()] == [out["id"]]
    closed = client.post(f"/v1/requests/{out['id']}/close", headers=requester)
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    again = client.post(f"/v1/requests/{out['id']}/close", headers=requester)
    assert again.status_code == 200 and again.json() == closed.json()


def test_family_of_audio_and_default_kinds(client: Any, requester: dict[str, str]) -> None:
    schema = {"name": "speech", "version": 1, "classes": [{"name": "speech", "colour": "#000000"}]}
    audio = create_request(client, requester, modality="audio", label_schema=schema)
    video = create_request(client, requester, modality="video", label_schema=schema)
    with _db(client).read() as conn:
        families = dict(conn.execute(select(data_requests.c.id, data_requests.c.family)).all())
    assert families[audio["id"]] == "audio:segment"
    assert families[video["id"]] == "video:box+mask+points+polygon+polyline+rotated_box+tag"


def test_permissions(client: Any, requester: dict[str, str], signed_in: Any) -> None:
    out = create_request(client, requester)
    worker = signed_in(WORKERS[0], roles=["contributor"])
    assert client.post("/v1/requests", json=request_spec(), headers=worker).status_code == 403
    assert client.post("/v1/requests", json=request_spec()).status_code == 401
    other = signed_in(OTHER, roles=["requester"])
    for method, path in (("get", ""), ("post", "/close"), ("get", "/progress"), ("get", "/export")):
        response = getattr(client, method)(f"/v1/requests/{out['id']}{path}", headers=other)
        assert response.status_code == 404, (path, response.text)
        assert response.json()["error"] == "not_found"
    assert client.get("/v1/requests", headers=other).json() == []
    assert client.get(f"/v1/requests/{out['id']}", headers=requester).json()["status"] == "open"


def _with_classes(*classes: dict[str, Any]) -> dict[str, Any]:
    return {"name": "s", "version": 1, "classes": list(classes)}


BAD_SPECS = [
    ({"label_schema": {}}, "label_schema.name"),
    ({"label_schema": {"name": "s", "version": 0, "classes": [{"name": "a"}]}}, "label_schema.version"),
    ({"label_schema": _with_classes()}, "label_schema.classes"),
    ({"label_schema": _with_classes({"name": "a"}, {"name": "a"})}, "label_schema.classes[1].name"),
    ({"label_schema": _with_classes({"name": ""})}, "label_schema.classes[0].name"),
    ({"label_schema": _with_classes({"name": "a", "allowed_kinds": ["cube"]})},
     "label_schema.classes[0].allowed_kinds"),
    ({"label_schema": _with_classes({"name": "a", "description": "x" * 300_000})}, "label_schema"),
    ({"reward": "-1"}, "reward"),
    ({"reward": "0.0000001"}, "reward"),
    ({"reward": "2000000"}, "reward"),
    ({"redundancy": 0}, "redundancy"),
    ({"modality": "smell"}, "modality"),
    ({"gold_rate": 0.9}, "gold_rate"),
    ({"requirements": {"min_tier": 99}}, "requirements.min_tier"),
]


@pytest.mark.parametrize(("change", "field"), BAD_SPECS)
def test_bad_specs_are_refused_naming_the_field(client: Any, requester: dict[str, str],
                                                change: dict[str, Any], field: str) -> None:
    response = client.post("/v1/requests", json=request_spec(**change), headers=requester)
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith(f"{field}:"), response.json()
    assert client.get("/v1/requests", headers=requester).json() == []


def test_deadline_in_the_past_is_refused(client: Any, requester: dict[str, str], clock: Any) -> None:
    past = (clock.now - timedelta(seconds=1)).isoformat()
    response = client.post("/v1/requests", json=request_spec(deadline=past), headers=requester)
    assert response.status_code == 422 and response.json()["detail"].startswith("deadline:")
    naive_future = (clock.now + timedelta(hours=1)).replace(tzinfo=None).isoformat()
    out = create_request(client, requester, deadline=naive_future)  # naive is read as UTC
    assert out["deadline"].endswith("Z") or out["deadline"].endswith("+00:00")


# -- progress -----------------------------------------------------------------------------------

def _seed_submission(conn: Any, item_id: str, account_id: int, n: int, now: Any, **values: Any) -> None:
    lease_id = f"lease{n:027d}"
    conn.execute(insert(leases).values(id=lease_id, item_id=item_id, account_id=account_id, epoch=1,
                                       state="submitted", expires_at=now, created_at=now))
    conn.execute(insert(submissions).values(
        account_id=account_id, submission_id=f"sub-{n}", item_id=item_id, lease_id=lease_id, payload={},
        payload_sha256="0" * 64, signature="0x" + "0" * 130, status_code=201, response={},
        created_at=now, **{"flagged": False, **values}))


def test_progress_figures(client: Any, requester: dict[str, str], signed_in: Any, clock: Any) -> None:
    out = create_request(client, requester)
    real = [upload_asset(client, requester, out["id"], f"image {n}".encode())["item_id"] for n in range(3)]
    gold = {"annotations": [{"id": "g1", "label": "sky", "shape": {"kind": "tag"}}]}
    gold_item = upload_asset(client, requester, out["id"], b"gold image", gold=gold)["item_id"]
    empty = client.get(f"/v1/requests/{out['id']}/progress", headers=requester).json()
    assert empty == {"items": 3, "gold_items": 1, "open": 3, "in_review": 0, "done": 0, "submissions": 0,
                     "mean_agreement": None, "gold_accuracy": None, "flagged_submissions": 0, "awaiting_quality": 0}
    for wallet in WORKERS:
        signed_in(wallet, roles=["contributor"])
    w1, w2, w3 = (_account_id(client, wallet) for wallet in WORKERS)
    with _db(client).write() as conn:
        for item_id, state, agreement in ((real[0], "done", 0.9), (real[1], "done", 0.7), (real[2], "review", 0.2)):
            conn.execute(update(items).where(items.c.id == item_id).values(state=state, agreement=agreement))
        seeds = [(real[0], w1, {"outcome": "agreed"}), (real[0], w2, {"outcome": "agreed"}),
                 (real[1], w1, {"flagged": True}), (gold_item, w1, {"outcome": "gold_pass"}),
                 (gold_item, w2, {"outcome": "gold_fail"}), (gold_item, w3, {"outcome": "gold_pass"})]
        for n, (item_id, account_id, values) in enumerate(seeds):
            _seed_submission(conn, item_id, account_id, n, clock.now, **values)
        queue.mark_ready(conn, [gold_item], clock.now)  # a fourth answer waits for the quality step
    figures = client.get(f"/v1/requests/{out['id']}/progress", headers=requester).json()
    assert figures.pop("mean_agreement") == pytest.approx(0.8)
    assert figures.pop("gold_accuracy") == pytest.approx(2 / 3)
    assert figures == {"items": 3, "gold_items": 1, "open": 0, "in_review": 1, "done": 2,
                       "submissions": 6, "flagged_submissions": 1, "awaiting_quality": 1}


# -- export -------------------------------------------------------------------------------------

CONSENSUS_A = {"annotations": [
    {"id": "a1", "label": "car", "shape": {"kind": "box", "x1": 1.5, "y1": 2.0, "x2": 30.25, "y2": 40.0},
     "attributes": {"parked": True, "score": 0.5}, "confidence": 0.8},
    {"id": "a2", "label": "person", "shape": {"kind": "points", "points": [[1.0, 2.0], [3.0, 4.0]]}},
    {"id": "a3", "label": "sky", "shape": {"kind": "tag"}},
]}
CONSENSUS_B = {
    "annotations": [{"id": "b1", "label": "car", "shape": {"kind": "polygon", "parts": [
        {"exterior": [[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 0.0]], "holes": []}]}}],
    "segments": [{"start": 2.0, "end": 1.0, "label": "car"}],  # ends before it starts: left out
}


def test_export_reads_back_with_the_native_reader(client: Any, requester: dict[str, str], tmp_path: Path) -> None:
    out = create_request(client, requester)
    a = upload_asset(client, requester, out["id"], b"first image", filename="train/a.png")
    b = upload_asset(client, requester, out["id"], b"second image", filename="../b.png")
    upload_asset(client, requester, out["id"], b"not done yet")
    gold = {"annotations": [{"id": "g", "label": "sky", "shape": {"kind": "tag"}}]}
    gold_asset = upload_asset(client, requester, out["id"], b"gold", gold=gold)
    with _db(client).write() as conn:
        for asset, labels in ((a, CONSENSUS_A), (b, CONSENSUS_B), (gold_asset, gold)):
            conn.execute(update(items).where(items.c.id == asset["item_id"]).values(
                state="done", consensus=labels, agreement=0.9, decided_by="consensus"))
    response = client.get(f"/v1/requests/{out['id']}/export", headers=requester)
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
    path = tmp_path / "export.json"
    path.write_bytes(response.content)
    dataset = native.load(path)
    assert dataset.labels == ["car", "person", "sky"] and dataset.schema is None
    assert dataset.meta["label_schema"] == SCHEMA and dataset.meta["items"] == 2
    assert len(dataset.meta["skipped"]) == 1 and "segments[0]" in dataset.meta["skipped"][0]
    by_name = {item.name: item for item in dataset.items}
    assert sorted(by_name) == ["b.png", "train/a.png"]
    first, second = by_name["train/a.png"], by_name["b.png"]
    assert first.sha256 == a["sha256"] and first.media == "image" and second.segments == []
    assert [(x.label, x.shape.to_dict()) for x in first.annotations] == [
        ("car", CONSENSUS_A["annotations"][0]["shape"]),
        ("person", {"kind": "points", "points": [[1.0, 2.0], [3.0, 4.0]], "visibility": [2, 2], "names": None}),
        ("sky", {"kind": "tag"})]
    assert dict(first.annotations[0].attributes) == {"parked": True, "score": 0.5}
    assert first.annotations[0].source == "consensus" and first.annotations[0].confidence == 0.8
    assert second.annotations[0].shape.to_dict()["parts"][0]["exterior"] == [[0.0, 0.0], [10.0, 0.0], [10.0, 10.0]]


def test_export_of_an_empty_request_is_valid(client: Any, requester: dict[str, str], tmp_path: Path) -> None:
    out = create_request(client, requester)
    path = tmp_path / "empty.json"
    path.write_bytes(client.get(f"/v1/requests/{out['id']}/export", headers=requester).content)
    dataset = native.load(path)
    assert dataset.items == [] and dataset.meta["request_id"] == out["id"]
    assert json.loads(path.read_text())["format"] == "alaya-native"


def test_spec_is_stored_as_sent(client: Any, requester: dict[str, str]) -> None:
    spec = request_spec(label_schema=copy.deepcopy(SCHEMA) | {"description": "unicode ✓"})
    response = client.post("/v1/requests", json=spec, headers=requester)
    assert response.status_code == 201
    assert response.json()["label_schema"]["description"] == "unicode ✓"


def test_lone_surrogates_and_far_deadlines_are_refused(client: Any, requester: dict[str, str]) -> None:
    body = json.dumps(request_spec(name="bad \ud800 text"))  # valid JSON, not valid Unicode
    response = client.post("/v1/requests", content=body, headers={**requester, "Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    far = client.post("/v1/requests", json=request_spec(deadline="9999-12-31T23:59:59-05:00"), headers=requester)
    assert far.status_code == 422 and far.json()["detail"].startswith("deadline:")
    assert client.get("/v1/requests", headers=requester).json() == []
