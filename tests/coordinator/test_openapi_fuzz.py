"""schemathesis over the published OpenAPI spec, against a real uvicorn on 127.0.0.1.

The schemathesis command line runs in its own process (so the fuzzer and the server do not
share a GIL) with every phase: the spec's examples, coverage, fuzzing, and the stateful phase,
which follows the spec's links (`coordinator/openapi_links.py`) and those schemathesis infers.
It sends an admin's session token (an admin has every role) and checks: no 5xx, every status,
content type, header and body as declared, invalid input refused, auth enforced. A request, an
uploaded asset, a lease and a submission are made first, and path parameters take their ids
most of the time (schemathesis dictionaries), so the fuzzer gets past 404 into the real work.
Sign-out and refresh revoke the token they are called with: they get a run and a token of
their own. Bounded by `--max-time` (ALAYA_FUZZ_SECONDS); CI uses a fixed seed, local runs a
random one (ALAYA_FUZZ_SEED repeats one). A failure prints schemathesis's report with a curl
command for each failing request.
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
from tests.coordinator.contributor import lease, submit
from tests.coordinator.live import LiveClient
from tests.coordinator.requester import create_request, declare, put_chunk
from tests.coordinator.wallets import Wallet, sign_in

ADMIN = Wallet.numbered(0)
BYSTANDER = Wallet.numbered(1)  # what PATCH /v1/accounts gets instead of the fuzzing admin (fuzz_hooks.py)
ROOT = Path(__file__).resolve().parents[2]
CHECKS = ",".join([
    "not_a_server_error", "status_code_conformance", "content_type_conformance", "response_headers_conformance",
    "response_schema_conformance", "negative_data_rejection", "missing_required_header", "unsupported_method",
    "use_after_free", "ensure_resource_availability", "ignored_auth",
])  # positive_data_acceptance left out: a valid-looking id of nothing is rightly a 404
TOKEN_REVOKERS = r"^/v1/auth/(sign-out|refresh)$"
MAX_EXAMPLES = int(os.environ.get("ALAYA_FUZZ_EXAMPLES", "10"))  # per operation and cycle
SECONDS = int(os.environ.get("ALAYA_FUZZ_SECONDS", "40"))  # budget of the main run, per backend
SEED = os.environ.get("ALAYA_FUZZ_SEED")  # read at import: the suite clears ALAYA_* around each test


@pytest.fixture
def make_config(make_config: Callable[..., CoordinatorConfig]) -> Callable[..., CoordinatorConfig]:
    """No rate limit worth the name: the fuzzer is one account sending as fast as it can."""
    def make(**overrides: Any) -> CoordinatorConfig:
        overrides.setdefault("rate_limit", RateLimit(per_second=1e6, burst=1_000_000))
        return make_config(**overrides)
    return make


def _seed(client: LiveClient, admin: dict[str, str]) -> dict[str, str]:
    """Real identifiers for the path parameters: a request, an uploaded asset, a lease, a submission."""
    request_id = create_request(client, admin)["id"]
    data = b"\x89PNG fuzz target"
    asset = declare(client, admin, request_id, data).json()
    assert put_chunk(client, admin, asset["id"], data, 0, len(data)).status_code == 200
    task = lease(client, admin, 1, request_id=request_id)[0]
    sent = submit(client, admin, ADMIN, task, ["sky"])
    assert sent.status_code == 201, sent.text
    return {"request_id": request_id, "asset_id": asset["id"], "lease_id": task["lease_id"],
            "submission_id": sent.json()["submission_id"], "address": BYSTANDER.address}


def _config(ids: dict[str, str], path: Path) -> Path:
    """schemathesis.toml: each path parameter takes a real identifier in most cases, else fuzz."""
    lines = [f'[dictionaries.{name}]\nvalues = ["{value}"]\n' for name, value in ids.items()]
    lines.append("[parameters]")
    lines += [f'"path.{name}" = {{ dictionary = "{name}", probability = 0.7 }}' for name in ids]
    path.write_text("\n".join(lines) + "\n")
    return path


def _schemathesis(url: str, token: str, *options: str, seed: int, config: Path,
                  report: Path) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run", f"{url}/openapi.json",
           "--checks", CHECKS, "--header", f"Authorization: Bearer {token}",
           "--max-examples", str(MAX_EXAMPLES),
           "--seed", str(seed), "--no-shrink", "--generation-database", "none", "--workers", "1",
           "--request-timeout", "30", "--suppress-health-check", "all", "--no-color",
           "--report", "junit", "--report-junit-path", str(report), *options]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": str(Path(__file__).with_name("fuzz_hooks.py")),
           "ALAYA_FUZZ_PROTECT": ADMIN.address, "ALAYA_FUZZ_BYSTANDER": BYSTANDER.address}
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)


def test_openapi_fuzz(live_server: str, tmp_path: Path) -> None:
    seed = int(SEED or (20261125 if os.environ.get("CI") else random.randrange(1 << 30)))
    with LiveClient(live_server) as client:
        main = sign_in(client, ADMIN)["Authorization"].removeprefix("Bearer ")
        own = sign_in(client, ADMIN)["Authorization"].removeprefix("Bearer ")
        sign_in(client, BYSTANDER)
        config = _config(_seed(client, {"Authorization": f"Bearer {main}"}), tmp_path / "schemathesis.toml")
    # the main run: `--max-time` is the budget; fuzzing and stateful cycles repeat until it is spent
    runs = [("main", main, ("--exclude-path-regex", TOKEN_REVOKERS, "--max-time", str(SECONDS),
                            "--phases", "examples,coverage,fuzzing,stateful")),
            ("token", own, ("--include-path-regex", TOKEN_REVOKERS, "--phases", "coverage,fuzzing"))]
    failed = []
    for name, token, options in runs:
        done = _schemathesis(live_server, token, *options, seed=seed, config=config, report=tmp_path / f"{name}.xml")
        (tmp_path / f"{name}.log").write_text(done.stdout + done.stderr)
        if done.returncode != 0:
            failed.append(f"--- schemathesis run {name!r} (seed {seed}) exited {done.returncode}\n"
                          f"{done.stdout[-20000:]}\n{done.stderr[-3000:]}")
    assert not failed, "\n".join(failed)
