"""The coordinator client: a `requests` session signed in with the wallet (EIP-4361).

- The session token is renewed (`/v1/auth/refresh`) before it expires; a 401 signs in again
  once and repeats the request, a second 401 is an `AuthError` in plain words.
- The server's clock is read from each reply's `Date` header: sign-in messages are dated by
  it (so a wrong local clock does not break sign-in), and a large offset is reported.
- Network trouble is an `OfflineError`, a 5xx or 429 a `ServerError`, a reply that is not
  the protocol's (malformed JSON, wrong content) a `BadReplyError`: never a traceback.
- No retries in here: the callers own their retry loops (`push`, `engine`) with full-jitter
  backoff, and the transport never repeats a POST by itself.
"""

from __future__ import annotations

import email.utils
import threading
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar
from urllib.parse import urlsplit

import pydantic
import requests

from app.sync import siwe
from app.sync.errors import AuthError, BadReplyError, OfflineError, RefusedError, ServerError
from app.sync.signer import Signer
from app.sync.wire import API_PREFIX, NonceOut, SessionOut

M = TypeVar("M", bound=pydantic.BaseModel)
STATEMENT = "Sign in to the Alaya coordinator."
CLOCK_WARN_S = 120  # the coordinator accepts sign-in messages up to 300 s in its future
_MIN_RENEW_AHEAD_S = 60


class CoordinatorClient:
    def __init__(self, base_url: str, signer: Signer, *, timeout_s: float = 30, proxy: str | None = None,
                 session: requests.Session | None = None) -> None:
        self.base_url = str(base_url).rstrip("/")
        self.signer = signer
        self.timeout_s = timeout_s
        self.http = session or requests.Session()
        if proxy:
            self.http.proxies = {"http": proxy, "https": proxy}
        self.clock_offset_s: float | None = None  # server clock minus ours, from `Date`
        self._token: str | None = None
        self._expires_at: datetime | None = None
        self._ttl_s = 3600.0
        self._lock = threading.RLock()  # the push loop and heartbeats share one session

    # -- requests ------------------------------------------------------------------------
    def call(self, method: str, path: str, *, json: Any = None,
             headers: dict[str, str] | None = None) -> requests.Response:
        """An authenticated request; the reply whatever its status, except that a 401 signs in
        again once (a second one is an AuthError) and network trouble is an OfflineError."""
        token = self.session_token()
        response = self._send(method, path, json=json, headers=headers, token=token)
        if _needs_sign_in(response):
            token = self.sign_in(stale=token)
            response = self._send(method, path, json=json, headers=headers, token=token)
            if _needs_sign_in(response):
                code, detail = error_of(response)
                raise AuthError(f"the coordinator refuses this wallet's session even after signing in again "
                                f"({code}: {detail})")
        return response

    def _send(self, method: str, path: str, *, json: Any = None, headers: dict[str, str] | None = None,
              token: str | None = None) -> requests.Response:
        all_headers = dict(headers or {})
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        try:
            response = self.http.request(method, self.base_url + path, json=json, headers=all_headers,
                                         timeout=self.timeout_s)
        except requests.Timeout:
            raise OfflineError(f"the coordinator at {self.base_url} did not answer "
                               f"within {self.timeout_s:g} s") from None
        except requests.RequestException as exc:
            raise OfflineError(f"cannot reach the coordinator at {self.base_url} ({_reason(exc)})") from None
        self._note_clock(response)
        return response

    # -- sign-in and the session ----------------------------------------------------------
    def session_token(self) -> str:
        """A live session token: signs in, or renews one that is about to expire."""
        with self._lock:
            if self._token is None or self._expires_at is None:
                return self.sign_in()
            left = (self._expires_at - self.server_now()).total_seconds()
            if left < max(_MIN_RENEW_AHEAD_S, self._ttl_s / 10):
                return self._refresh()
            return self._token

    def sign_in(self, stale: str | None = None) -> str:
        """Nonce, EIP-4361 message dated by the server's clock, signature, session. `stale`:
        the token that was just refused (another thread may have signed in meanwhile)."""
        with self._lock:
            if stale is not None and self._token not in (None, stale):
                return self._token
            nonce = parse_reply(self._send("POST", f"{API_PREFIX}/auth/nonce"), NonceOut)
            where = urlsplit(self.base_url).netloc
            if nonce.domain != where:  # what a wallet checks: never sign in for another site
                raise AuthError(f"the coordinator at {where} asks to sign in for {nonce.domain!r}; refused")
            issued = self.server_now().replace(microsecond=0)
            message = siwe.SiweMessage.create(
                domain=nonce.domain, address=self.signer.address, uri=nonce.uri, chain_id=nonce.chain_id,
                nonce=nonce.nonce, issued_at=issued, statement=STATEMENT,
                expiration_time=issued + timedelta(minutes=10)).to_text()
            body = {"message": message, "signature": self.signer.sign_text(message)}
            response = self._send("POST", f"{API_PREFIX}/auth/sign-in", json=body)
            if response.status_code in (401, 403, 422):
                code, detail = error_of(response)
                raise AuthError(f"the coordinator refused the sign-in of {self.signer.address}: {detail}"
                                + self._clock_hint(code))
            return self._keep(parse_reply(response, SessionOut))

    def _refresh(self) -> str:
        response = self._send("POST", f"{API_PREFIX}/auth/refresh", token=self._token)
        if response.status_code == 401:
            return self.sign_in(stale=self._token)
        return self._keep(parse_reply(response, SessionOut))

    def _keep(self, session: SessionOut) -> str:
        self._token, self._expires_at = session.token, session.expires_at
        # also on the session itself, for calls made with it directly (asset downloads)
        self.http.headers["Authorization"] = f"Bearer {session.token}"
        self._ttl_s = max(1.0, (session.expires_at - self.server_now()).total_seconds())
        return session.token

    def sign_out_locally(self) -> None:
        """Forget the session (the next request signs in again)."""
        with self._lock:
            self._token = self._expires_at = None

    # -- the server's clock ---------------------------------------------------------------
    def _note_clock(self, response: requests.Response) -> None:
        date = response.headers.get("Date")
        if not date:
            return
        try:
            server = email.utils.parsedate_to_datetime(date)
        except (TypeError, ValueError):
            return
        if server.tzinfo is None:
            return
        # `Date` has whole seconds: half a second is the expected error of one reading
        self.clock_offset_s = (server - datetime.now(timezone.utc)).total_seconds() + 0.5

    def server_now(self) -> datetime:
        offset = self.clock_offset_s or 0.0
        return datetime.now(timezone.utc) + timedelta(seconds=offset if abs(offset) > 2 else 0)

    def clock_warning(self) -> str | None:
        """Plain words when our clock is far off the coordinator's; None when it is close."""
        offset = self.clock_offset_s
        if offset is None or abs(offset) < CLOCK_WARN_S:
            return None
        minutes = abs(offset) / 60
        side = "behind" if offset > 0 else "ahead of"
        return (f"this computer's clock is {minutes:.0f} minutes {side} the coordinator's: "
                "set the clock right (lease times and sign-in depend on it)")

    def _clock_hint(self, code: str) -> str:
        warning = self.clock_warning()
        return f" ({warning})" if warning and code in ("not_yet_valid", "expired_message") else ""


def _needs_sign_in(response: requests.Response) -> bool:
    # a 401 bad_signature is about one payload, not about the session
    return response.status_code == 401 and error_of(response)[0] != "bad_signature"


def error_of(response: requests.Response) -> tuple[str, str]:
    """(code, detail) of a refusal: the coordinator's ErrorOut, or the status in words."""
    try:
        body = response.json()
        if isinstance(body, dict) and isinstance(body.get("error"), str):
            return body["error"], str(body.get("detail", ""))
    except ValueError:
        pass
    text = " ".join(response.text.split())[:200]
    return f"http_{response.status_code}", text or response.reason or f"HTTP {response.status_code}"


def check(response: requests.Response) -> requests.Response:
    """The response when 2xx; ServerError for 5xx and 429, RefusedError for other refusals."""
    status = response.status_code
    if 200 <= status < 300:
        return response
    code, detail = error_of(response)
    if status >= 500 or status in (408, 429):
        retry_after = response.headers.get("Retry-After")
        wait = float(retry_after) if retry_after and retry_after.isdigit() else None
        raise ServerError(f"the coordinator has trouble (HTTP {status}: {detail}); trying again later",
                          status=status, retry_after_s=wait)
    raise RefusedError(f"the coordinator refused the request (HTTP {status} {code}: {detail})",
                       status=status, code=code)


def parse_reply(response: requests.Response, model: type[M]) -> M:
    """The 2xx reply's JSON as `model`; BadReplyError when it is not JSON or not that shape."""
    check(response)
    kind = response.headers.get("Content-Type", "")
    if "json" not in kind:
        raise BadReplyError(f"the coordinator sent {kind or 'an untyped reply'} where JSON was expected "
                            f"(HTTP {response.status_code}); nothing was changed")
    try:
        return model.model_validate_json(response.content)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "body"
        what = ("is not valid JSON" if first.get("type") == "json_invalid"
                else f"does not match the protocol at {where}: {first.get('msg')}")
        raise BadReplyError(f"the coordinator's reply {what}; nothing was changed") from None


def _reason(exc: requests.RequestException) -> str:
    text = str(exc)
    for words in ("Connection refused", "Name or service not known", "Network is unreachable",
                  "Connection reset", "Connection aborted", "Remote end closed"):
        if words in text:
            return words.lower()
    return type(exc).__name__

