"""Requester steps other coordinator tests reuse: a data request, an uploaded asset and its item."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select

from coordinator.tables import items

SCHEMA = {
    "name": "test-scenes", "version": 1,
    "classes": [
        {"name": "car", "colour": "#1f77b4", "allowed_kinds": ["box", "polygon"]},
        {"name": "person", "colour": "#d62728", "allowed_kinds": ["box", "points"]},
        {"name": "sky", "colour": "#2ca02c", "allowed_kinds": ["tag", "mask"]},
    ],
}


def request_spec(**spec: Any) -> dict[str, Any]:
    """A valid DataRequestIn body, with `spec` overriding its fields."""
    body: dict[str, Any] = {"name": "street scenes", "modality": "image", "label_schema": SCHEMA,
                            "redundancy": 3, "gold_rate": 0.1, "reward": "0.25"}
    body.update(spec)
    return body


def create_request(client: Any, headers: dict[str, str], **spec: Any) -> dict[str, Any]:
    """POST /v1/requests; the DataRequestOut as a dict."""
    response = client.post("/v1/requests", json=request_spec(**spec), headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def declare(client: Any, headers: dict[str, str], request_id: str, data: bytes,
            gold: dict[str, Any] | None = None, filename: str = "image.png",
            media_type: str = "image/png") -> Any:
    body: dict[str, Any] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data),
                            "filename": filename, "media_type": media_type}
    if gold is not None:
        body["gold"] = gold
    return client.post(f"/v1/requests/{request_id}/assets", json=body, headers=headers)


def put_chunk(client: Any, headers: dict[str, str], asset_id: str, data: bytes, start: int,
              total: int) -> Any:
    return client.put(f"/v1/uploads/{asset_id}", content=data,
                      headers={**headers, "Content-Type": "application/octet-stream",
                               "Content-Range": f"bytes {start}-{start + len(data) - 1}/{total}"})


def upload_asset(client: Any, headers: dict[str, str], request_id: str, data: bytes,
                 gold: dict[str, Any] | None = None, chunk: int = 1 << 20, **declared: Any) -> dict[str, Any]:
    """Declare and upload `data` (in chunks of `chunk` bytes); the final AssetOut as a dict,
    plus `item_id`, the item the completed upload created."""
    response = declare(client, headers, request_id, data, gold, **declared)
    assert response.status_code in (200, 201), response.text
    asset = response.json()
    for start in range(asset["received"], len(data), chunk):
        response = put_chunk(client, headers, asset["id"], data[start:start + chunk], start, len(data))
        assert response.status_code == 200, response.text
        asset = response.json()
    assert asset["complete"], asset
    return {**asset, "item_id": item_of(client, asset["id"])}


def item_of(client: Any, asset_id: str) -> str:
    """The id of the item created for an uploaded asset."""
    with client.app.state.ctx.db.read() as conn:
        return conn.execute(select(items.c.id).where(items.c.asset_id == asset_id)).scalar_one()
