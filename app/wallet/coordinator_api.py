"""The few coordinator calls the wallet needs: sign in (EIP-4361) with the wallet's signer, the
chain the coordinator uses, my vouchers, my redemptions, my submissions' inclusion proofs.

Every refusal becomes a `WalletError` with the coordinator's own words; a malformed answer is
refused as such (the wire models validate it), and the session token is never logged.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pydantic
import requests

from app.sync.siwe import SiweMessage
from app.sync.wire import API_PREFIX, ChainInfoOut, InclusionProofOut, NonceOut, RedemptionOut, SessionOut, VoucherOut
from app.wallet.errors import WalletError
from app.wallet.signer import Signer

T = TypeVar("T", bound=pydantic.BaseModel)
TIMEOUT_S = 30
SIGN_IN_LIFETIME = timedelta(minutes=5)


class CoordinatorApi:
    def __init__(self, base_url: str, signer: Signer, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 session: requests.Session | None = None) -> None:
        self.base_url = base_url.rstrip("/") + API_PREFIX
        self.signer, self.clock = signer, clock
        self.http = session or requests.Session()
        self._token: str | None = None

    def __repr__(self) -> str:  # never the token
        return f"CoordinatorApi({self.base_url}, {self.signer.address})"

    def sign_in(self) -> None:
        nonce = self._call("POST", "/auth/nonce", NonceOut, signed=False)
        issued = self.clock()
        text = SiweMessage.create(domain=nonce.domain, address=self.signer.address, uri=nonce.uri,
                                  chain_id=nonce.chain_id, nonce=nonce.nonce, issued_at=issued,
                                  statement="Sign in to the Alaya coordinator.",
                                  expiration_time=issued + SIGN_IN_LIFETIME).to_text()
        body = {"message": text, "signature": self.signer.sign_message(text)}
        self._token = self._call("POST", "/auth/sign-in", SessionOut, signed=False, json=body).token

    def chain_info(self) -> ChainInfoOut:
        return self._call("GET", "/chain", ChainInfoOut, signed=False)

    def voucher(self, epoch: str) -> VoucherOut:
        return self._call("GET", f"/me/vouchers/{epoch}", VoucherOut)

    def redemptions(self) -> list[RedemptionOut]:
        return self._call("GET", "/me/redemptions", pydantic.TypeAdapter(list[RedemptionOut]))

    def proof(self, submission_id: str) -> InclusionProofOut:
        return self._call("GET", f"/me/submissions/{requests.utils.quote(submission_id, safe='')}/proof",
                          InclusionProofOut)

    def _call(self, method: str, path: str, shape: Any, *, signed: bool = True, **kwargs: Any) -> Any:
        if signed and self._token is None:
            self.sign_in()
        headers = {"Authorization": f"Bearer {self._token}"} if signed else {}
        try:
            response = self.http.request(method, self.base_url + path, headers=headers, timeout=TIMEOUT_S, **kwargs)
        except requests.RequestException as exc:
            raise WalletError(f"the coordinator at {self.base_url} does not answer ({type(exc).__name__})") from None
        if response.status_code >= 400:
            raise WalletError(f"the coordinator refused: {_detail(response)}")
        try:
            if isinstance(shape, pydantic.TypeAdapter):
                return shape.validate_json(response.content)
            return shape.model_validate_json(response.content)
        except pydantic.ValidationError as exc:
            raise WalletError(f"the coordinator's answer to {path} is malformed ({exc.error_count()} errors)") from None


def _detail(response: requests.Response) -> str:
    try:
        body = response.json()
        return f"{body['detail']} ({body['error']}, HTTP {response.status_code})"
    except (ValueError, KeyError, TypeError):
        return f"HTTP {response.status_code}"
