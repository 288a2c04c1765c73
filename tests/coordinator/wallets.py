"""Deterministic test wallets and the EIP-4361 sign-in dance, as a real client does it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from eth_account import Account

from app.sync import siwe
from app.sync.signing import payload_digest, sign_digest


@dataclass(frozen=True)
class Wallet:
    key: str
    address: str

    @classmethod
    def numbered(cls, n: int) -> Wallet:
        key = "0x" + hashlib.sha256(f"alaya-test-wallet-{n}".encode()).hexdigest()
        return cls(key, Account.from_key(key).address)

    def sign_in_message(self, nonce_out: dict[str, Any], *, issued_at: datetime | None = None,
                        expires_in: timedelta | None = timedelta(minutes=10), **overrides: Any) -> str:
        issued = issued_at or datetime.now(timezone.utc)
        fields = dict(domain=nonce_out["domain"], address=self.address, uri=nonce_out["uri"],
                      chain_id=nonce_out["chain_id"], nonce=nonce_out["nonce"], issued_at=issued,
                      statement="Sign in to the Alaya coordinator.",
                      expiration_time=issued + expires_in if expires_in else None)
        fields.update(overrides)
        return siwe.SiweMessage.create(**fields).to_text()

    def sign_text(self, text: str) -> str:
        return siwe.sign(text, self.key)

    def sign_payload(self, payload: dict[str, Any]) -> str:
        return sign_digest(payload_digest(payload), self.key)


def sign_in(client: Any, wallet: Wallet, **message_overrides: Any) -> dict[str, str]:
    """Nonce, message, signature, session: the Authorization header of a fresh session."""
    nonce = client.post("/v1/auth/nonce").json()
    text = wallet.sign_in_message(nonce, **message_overrides)
    response = client.post("/v1/auth/sign-in", json={"message": text, "signature": wallet.sign_text(text)})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}
