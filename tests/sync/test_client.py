"""The coordinator client: sign-in, renewal, one re-sign on 401, clock offset, bad replies."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import requests

from app.sync.client import CoordinatorClient, parse_reply
from app.sync.errors import AuthError, BadReplyError, OfflineError, ServerError
from app.sync.signer import KeySigner
from app.sync.wire import BatchOut, ProfileOut
from tests.coordinator.wallets import Wallet
from tests.sync.conftest import Coordinator, running_coordinator
from tests.sync.stub import Canned, stub_coordinator


def test_signs_in_with_the_wallet_and_calls_the_api(coordinator: Coordinator, client: CoordinatorClient,
                                                    signer: KeySigner) -> None:
    profile = parse_reply(client.call("GET", "/v1/me"), ProfileOut)
    assert profile.address == signer.address
    assert client.clock_warning() is None and client.clock_offset_s is not None


def test_a_token_about_to_expire_is_renewed_first(tmp_path: Path, signer: KeySigner) -> None:
    # sessions of 30 s are always inside the renewal margin (60 s): each call renews first
    with running_coordinator(tmp_path, session_ttl_s=30) as short:
        client = CoordinatorClient(short.url, signer)
        client.call("GET", "/v1/me")
        first = client.session_token()
        assert client.call("GET", "/v1/me").status_code == 200
        assert client.session_token() != first


def test_a_revoked_session_signs_in_again_once(coordinator: Coordinator, client: CoordinatorClient) -> None:
    client.call("GET", "/v1/me")
    stale = client.session_token()
    client.call("POST", "/v1/auth/sign-out")  # the server forgets the token; the client does not know
    assert client.call("GET", "/v1/me").status_code == 200
    assert client.session_token() != stale


class _Refusing(requests.Session):
    """The transport (not ours) answering 401 to everything but sign-in."""

    def request(self, method: str, url: str, *args: object, **kwargs: object) -> requests.Response:
        response = super().request(method, url, *args, **kwargs)
        if "/auth/" not in url:
            response.status_code = 401
            response._content = b'{"error": "unauthorized", "detail": "session unknown"}'
        return response


def test_a_second_401_is_a_plain_auth_error(coordinator: Coordinator, signer: KeySigner) -> None:
    client = CoordinatorClient(coordinator.url, signer, session=_Refusing())
    with pytest.raises(AuthError, match="even after signing in again"):
        client.call("GET", "/v1/me")


def test_a_locked_account_cannot_sign_in(coordinator: Coordinator) -> None:
    from coordinator.tables import accounts

    wallet = Wallet.numbered(31)
    client = CoordinatorClient(coordinator.url, KeySigner(wallet.key))
    client.call("GET", "/v1/me")
    with coordinator.db.write() as conn:
        conn.execute(accounts.update().where(accounts.c.address == wallet.address).values(locked=True))
    client.sign_out_locally()
    with pytest.raises(AuthError, match="refused the sign-in"):
        client.call("GET", "/v1/me")


def test_no_server_is_offline_in_plain_words(signer: KeySigner) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once the block ends: nobody listens there
    client = CoordinatorClient(f"http://127.0.0.1:{port}", signer, timeout_s=2)
    with pytest.raises(OfflineError, match="cannot reach the coordinator"):
        client.call("GET", "/v1/me")


@pytest.mark.parametrize(("canned", "error", "words"), [
    (Canned(body=b'{"results": [tru'), BadReplyError, "not valid JSON"),
    (Canned(content_type="text/html", body=b"<html>captive portal</html>"), BadReplyError, "text/html"),
    (Canned(body=b'{"results": [{"oops": 1}]}'), BadReplyError, "does not match the protocol"),
    (Canned(status=500, content_type="text/plain", body=b"boom"), ServerError, "HTTP 500"),
])
def test_bad_replies_are_clear_errors(canned: Canned, error: type[Exception], words: str,
                                      signer: KeySigner) -> None:
    with stub_coordinator(canned) as url:
        client = CoordinatorClient(url, signer)
        with pytest.raises(error, match=words):
            parse_reply(client.call("POST", "/v1/submissions/batch", json={}), BatchOut)


def test_a_clock_far_off_is_reported_and_sign_in_uses_the_servers_time(signer: KeySigner) -> None:
    canned = Canned(clock_offset_s=-3600)
    with stub_coordinator(canned) as url:
        client = CoordinatorClient(url, signer)
        client.call("GET", "/v1/me")
    assert client.clock_offset_s == pytest.approx(-3600, abs=3)
    assert "60 minutes ahead of the coordinator's" in (client.clock_warning() or "")


def test_sign_in_for_another_domain_is_refused(signer: KeySigner, coordinator: Coordinator) -> None:
    other = coordinator.url.replace("127.0.0.1", "localhost")
    with pytest.raises(AuthError, match="asks to sign in for"):
        CoordinatorClient(other, signer).call("GET", "/v1/me")
