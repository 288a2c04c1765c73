"""A real anvil node for tests: spawned from the npm package's binary, stopped by its PID.

`npm ci` (run by `make test`) installs `@foundry-rs/anvil`; its platform package holds the
binary, which is spawned directly (not through the node wrapper in node_modules/.bin) so that
the PID we hold is anvil's own. Without node_modules the chain tests skip, except under CI,
where a missing node is a failure.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from web3 import HTTPProvider, Web3

REPO_ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = REPO_ROOT / "node_modules"
ANVIL_BINARY = NODE_MODULES / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"
START_TIMEOUT_S = 20.0


def require_node_modules(path: Path = ANVIL_BINARY) -> None:
    """Skip the test when the npm packages are missing (fail instead under CI)."""
    if path.exists():
        return
    reason = f"{path.relative_to(REPO_ROOT)} is missing: run `npm ci` (or `make test`, which does)"
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the chain tests: {reason}")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_ready(process: subprocess.Popen, w3: Web3) -> bool:
    """True once anvil answers; False if it exited (a port taken between probe and bind)."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        if w3.is_connected():
            return True
        time.sleep(0.02)
    raise TimeoutError(f"anvil did not answer within {START_TIMEOUT_S} s")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def running_anvil(*extra_args: str, attempts: int = 3) -> Iterator[Web3]:
    """Start anvil (cancun, chain id 31337, 10 unlocked dev accounts) on a free loopback port."""
    require_node_modules()
    for _ in range(attempts):
        port = _free_port()
        process = subprocess.Popen(
            [str(ANVIL_BINARY), "--host", "127.0.0.1", "--port", str(port), "--hardfork", "cancun",
             "--chain-id", "31337", "--silent", *extra_args],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        w3 = Web3(HTTPProvider(f"http://127.0.0.1:{port}", request_kwargs={"timeout": 30}))
        try:
            if _wait_until_ready(process, w3):
                break
        except BaseException:
            _stop(process)
            raise
        _stop(process)
    else:
        raise RuntimeError(f"anvil would not start: {process.stderr.read().decode(errors='replace')[-2000:]}")
    try:
        yield w3
    finally:
        _stop(process)
        process.stderr.close()


def increase_time(w3: Web3, seconds: int) -> int:
    """Move the chain's clock forward and mine a block; returns the new block's timestamp."""
    w3.provider.make_request("evm_increaseTime", [seconds])
    w3.provider.make_request("evm_mine", [])
    return w3.eth.get_block("latest")["timestamp"]


def latest_timestamp(w3: Web3) -> int:
    return w3.eth.get_block("latest")["timestamp"]
