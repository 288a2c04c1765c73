"""`alaya coordinator serve`: a real process on a free port answers health, publishes its
OpenAPI, lets a wallet sign in, and stops cleanly on SIGINT (Ctrl+C), on either backend."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from tests.coordinator.live import LiveClient, wait_healthy
from tests.coordinator.postgres import free_port
from tests.coordinator.wallets import Wallet, sign_in

ROOT = Path(__file__).resolve().parents[2]
ADMIN = Wallet.numbered(0)


def test_serve_signs_in_and_stops(db_url: str, tmp_path: Path) -> None:
    port = free_port()
    cmd = [sys.executable, "-m", "app", "coordinator", "serve", "--db", db_url, "--host", "127.0.0.1",
           "--port", str(port), "--storage", str(tmp_path / "assets"), "--admin", ADMIN.address]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_healthy(base, proc)
        with LiveClient(base) as client:
            assert client.get("/openapi.json").json()["info"]["title"] == "Alaya coordinator"
            nonce = client.post("/v1/auth/nonce").json()
            assert nonce["domain"] == f"127.0.0.1:{port}"  # the default domain is host:port
            headers = sign_in(client, ADMIN)
            refreshed = client.post("/v1/auth/refresh", headers=headers)
            assert refreshed.status_code == 200, refreshed.text
            assert "admin" in refreshed.json()["roles"]
            assert client.post("/v1/auth/refresh", headers=headers).status_code == 401  # old token revoked
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            output = proc.communicate(timeout=30)[0]
        except subprocess.TimeoutExpired:
            proc.kill()
            output = proc.communicate()[0]
            raise AssertionError(f"the server did not stop within 30 s of SIGINT:\n{output[-3000:]}") from None
    assert "Traceback" not in output, output[-3000:]
    assert "Application shutdown complete" in output, output[-3000:]
    assert (tmp_path / "assets").is_dir()
