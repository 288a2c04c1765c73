"""schemathesis over the published OpenAPI spec, against a real uvicorn on 127.0.0.1.

The schemathesis command line runs in its own process (so the fuzzer and the server do not
share a GIL) with every phase: the spec's examples, coverage, fuzzing, and the stateful phase,
whose links schemathesis infers from the spec (response fields -> path parameters). It sends
an admin's session token (an admin has every role) and checks: no 5xx, every status, content
type, header and body as declared, invalid input refused, auth enforced. Sign-out and refresh
revoke the token they are called with, so they get their own run with a token of their own.
Bounded: a few examples per operation, no shrinking; a failure prints schemathesis's report
with a curl command for each failing request.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from coordinator.config import CoordinatorConfig, RateLimit
from tests.coordinator.live import LiveClient
from tests.coordinator.wallets import Wallet, sign_in

ADMIN = Wallet.numbered(0)
ROOT = Path(__file__).resolve().parents[2]
CHECKS = ",".join([
    "not_a_server_error", "status_code_conformance", "content_type_conformance", "response_headers_conformance",
    "response_schema_conformance", "negative_data_rejection", "missing_required_header", "unsupported_method",
    "use_after_free", "ensure_resource_availability", "ignored_auth",
])  # positive_data_acceptance left out: a valid-looking id of nothing is rightly a 404
TOKEN_REVOKERS = r"^/v1/auth/(sign-out|refresh)$"
MAX_EXAMPLES = int(os.environ.get("ALAYA_FUZZ_EXAMPLES", "8"))


@pytest.fixture
def make_config(make_config: Callable[..., CoordinatorConfig]) -> Callable[..., CoordinatorConfig]:
    """No rate limit worth the name: the fuzzer is one account sending as fast as it can."""
    def make(**overrides: Any) -> CoordinatorConfig:
        overrides.setdefault("rate_limit", RateLimit(per_second=1e6, burst=1_000_000))
        return make_config(**overrides)
    return make


def _schemathesis(url: str, token: str, *filters: str, seed: int, report: Path) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "schemathesis.cli", "run", f"{url}/openapi.json",
           "--checks", CHECKS, "--header", f"Authorization: Bearer {token}",
           "--phases", "examples,coverage,fuzzing,stateful", "--max-examples", str(MAX_EXAMPLES),
           "--seed", str(seed), "--no-shrink", "--generation-database", "none", "--workers", "1",
           "--request-timeout", "30", "--suppress-health-check", "all", "--no-color",
           "--report", "junit", "--report-junit-path", str(report), *filters]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": ""}
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)


def test_openapi_fuzz(live_server: str, tmp_path: Path) -> None:
    seed = 20261125 if os.environ.get("CI") else random.randrange(1 << 30)
    with LiveClient(live_server) as client:
        main = sign_in(client, ADMIN)["Authorization"].removeprefix("Bearer ")
        own = sign_in(client, ADMIN)["Authorization"].removeprefix("Bearer ")
    runs = [("main", main, ("--exclude-path-regex", TOKEN_REVOKERS)),
            ("token", own, ("--include-path-regex", TOKEN_REVOKERS))]
    failed = []
    for name, token, filters in runs:
        done = _schemathesis(live_server, token, *filters, seed=seed, report=tmp_path / f"{name}.xml")
        if done.returncode != 0:
            failed.append(f"--- schemathesis run {name!r} (seed {seed}) exited {done.returncode}\n"
                          f"{done.stdout[-20000:]}\n{done.stderr[-3000:]}")
    assert not failed, "\n".join(failed)
