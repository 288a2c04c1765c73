"""Administrators set roles and routing attributes; nobody else can, and no admin locks themself out."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.coordinator.conftest import ADMIN
from tests.coordinator.wallets import Wallet, sign_in

USER = Wallet.numbered(700)


def test_admin_grants_roles_and_attributes(client: TestClient, admin: dict[str, str]) -> None:
    sign_in(client, USER)
    response = client.patch(f"/v1/accounts/{USER.address.lower()}", headers=admin,
                            json={"roles": ["contributor", "reviewer"], "tier": 2, "languages": ["en"]})
    assert response.status_code == 200, response.text
    assert response.json()["roles"] == ["contributor", "reviewer"] and response.json()["tier"] == 2


def test_refusals(client: TestClient, admin: dict[str, str]) -> None:
    user = sign_in(client, USER)
    assert client.patch(f"/v1/accounts/{ADMIN.address}", headers=user, json={"tier": 3}).status_code == 403
    unknown = client.patch(f"/v1/accounts/{Wallet.numbered(701).address}", headers=admin, json={"tier": 1})
    assert unknown.status_code == 404
    for body in ({"locked": True}, {"roles": ["contributor"]}):
        own = client.patch(f"/v1/accounts/{ADMIN.address}", headers=admin, json=body)
        assert own.status_code == 409 and own.json()["error"] == "own_account"
    assert client.get("/v1/me", headers=admin).status_code == 200  # still in
    bad: Any = client.patch(f"/v1/accounts/{USER.address}", headers=admin, json={"tier": 99})
    assert bad.status_code == 422
