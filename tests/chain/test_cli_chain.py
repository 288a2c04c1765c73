"""`alaya wallet balances|stake|unstake|withdraw|level` against a real anvil, and `alaya coordinator
serve --chain-rpc` in a real process with its voucher key from a keystore: outputs, one-line
refusals, and no secret in any output or log."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
import requests
from eth_account import Account
from keyring.backends import fail

from app.wallet import keystore
from app.wallet.contracts import call, deploy, send
from tests.chain.conftest import Chain
from tests.chain.flow_helpers import alaya_wallet
from tests.coordinator.live import wait_healthy
from tests.coordinator.postgres import free_port

ROOT = Path(__file__).resolve().parents[2]
PASSPHRASE = "cli passphrase 123"
AGT = 10**18


@pytest.fixture
def workspace(tmp_path: Path, chain: Chain, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, str, str]]:
    """A workspace on the local chain with an imported, funded key; (workspace, key, contracts file)."""
    monkeypatch.setattr(keystore, "SCRYPT_N", 2**4)
    monkeypatch.setenv("ALAYA_WALLET__CHAIN", "local")
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    key = "0x" + os.urandom(32).hex()
    address = Account.from_key(key).address
    chain.w3.provider.make_request("anvil_setBalance", [address, hex(10 * AGT)])
    chain.fund(address, 2_000 * AGT)
    contracts = tmp_path / "contracts.json"
    contracts.write_text(json.dumps(chain.suite.addresses()))
    ws = tmp_path / "ws"
    assert alaya_wallet(ws, "import", "--private-key", "--secret-fd", key, "--passphrase-fd", PASSPHRASE)[0] == 0
    yield ws, key, str(contracts)
    keyring.set_keyring(previous)


def test_stake_unstake_withdraw_level_from_the_command_line(chain: Chain, workspace: tuple[Path, str, str],
                                                           capsys: pytest.CaptureFixture[str],
                                                           caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    ws, key, contracts = workspace
    url = chain.w3.provider.endpoint_uri
    common = ("--rpc-url", url, "--contracts", contracts)
    capsys.readouterr()
    code, out, err = alaya_wallet(ws, "stake", "150", *common, "--passphrase-fd", PASSPHRASE, "--yes", capsys=capsys)
    assert code == 0, err
    assert "stake 150 AGT" in err and "simulated: OK" in err and "at most" in err and "tier now 1" in out
    reward = deploy(chain.w3, "AGT", Account.from_key(key).address, 7 * AGT, sender=chain.admin)  # a requester's token
    code, out, err = alaya_wallet(ws, "balances", *common, "--token", reward.address, "--json", capsys=capsys)
    shown = json.loads(out)
    assert code == 0 and shown["staked"] == "150" and shown["AGT"] == "1850" and shown["tier"] == 1, err
    assert shown[f"AGT@{reward.address}"] == "7"
    code, out, err = alaya_wallet(ws, "balances", *common, "--token", chain.treasury, capsys=capsys)
    assert code == 8 and err.strip() == f"alaya: error: no token contract at {chain.treasury} on Local anvil"
    code, out, err = alaya_wallet(ws, "unstake", "50", *common, "--passphrase-fd", PASSPHRASE, "--yes", capsys=capsys)
    assert code == 0 and "request to unstake 50 AGT: confirmed" in out, err
    code, out, err = alaya_wallet(ws, "withdraw", *common, "--passphrase-fd", PASSPHRASE, "--yes", capsys=capsys)
    assert code != 0 and "still bonding" in err.lower() and len(err.strip().splitlines()) == 1, err
    code, out, err = alaya_wallet(ws, "stake", "1,5", *common, "--passphrase-fd", PASSPHRASE, "--yes", capsys=capsys)
    assert code == 8 and err.strip() == "alaya: error: not an amount of AGT: '1,5'"
    code, out, err = alaya_wallet(ws, "stake", "10", *common, "--passphrase-fd", "wrong passphrase", "--yes", capsys=capsys)
    assert code == 8 and len(err.strip().splitlines()) == 1 and "password" in err.lower(), err
    code, out, err = alaya_wallet(ws, "level", "--upgrade", *common, "--passphrase-fd", PASSPHRASE, "--yes", capsys=capsys)
    assert code == 0 and "routing tier 1 (stake tier 1, level 1)" in out and "* 1 Bronze (50 AGT)" in out, err
    assert key[2:] not in caplog.text + out + err and PASSPHRASE not in caplog.text + out + err


def test_a_requester_funds_a_months_pool_from_the_command_line(chain: Chain, workspace: tuple[Path, str, str],
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    """Approve (only when needed), then fund, each simulated and confirmed; the amount is read in the
    epoch's own token (here a requester's, 6 decimals); refusals are one line, and nothing is sent."""
    from app.wallet.contracts import send

    ws, key, contracts = workspace
    me = Account.from_key(key).address
    common = ("--rpc-url", chain.w3.provider.endpoint_uri, "--contracts", contracts)
    suite, now = chain.suite, chain.w3.eth.get_block("latest")["timestamp"]
    reward = deploy(chain.w3, "AGT", me, 500 * AGT, sender=chain.admin)  # a requester's own token
    send(chain.w3, suite.reward_pool.functions.openEpoch(202609, suite.agt.address, now, now + 86_400),
         chain.coordinator)
    send(chain.w3, suite.reward_pool.functions.openEpoch(202608, reward.address, now, now + 86_400),
         chain.coordinator)
    sent = chain.w3.eth.get_transaction_count(me)
    code, out, err = alaya_wallet(ws, "fund-pool", "2026-07", "5", *common, "--passphrase-fd", PASSPHRASE, "--yes",
                                  capsys=capsys)
    assert code != 0 and err.strip().endswith("2026-07 is not open on the reward pool yet: it opens when the "
                                              "coordinator closes the month")
    code, out, err = alaya_wallet(ws, "fund-pool", "2026-09", "5000", *common, "--passphrase-fd", PASSPHRASE,
                                  "--yes", capsys=capsys)
    assert code != 0 and err.strip() == "alaya: error: you hold 2000 AGT; funding 5000 AGT needs more"
    code, out, err = alaya_wallet(ws, "fund-pool", "2026-09", "1,5", *common, "--passphrase-fd", PASSPHRASE,
                                  "--yes", capsys=capsys)
    assert code == 8 and err.strip() == "alaya: error: not an amount of AGT: '1,5'"
    assert chain.w3.eth.get_transaction_count(me) == sent  # refused before anything was sent
    code, out, err = alaya_wallet(ws, "fund-pool", "2026-09", "120.5", *common, "--passphrase-fd", PASSPHRASE,
                                  "--yes", capsys=capsys)
    assert code == 0, err
    assert "allow the reward pool to take 120.5 AGT: confirmed" in out
    assert "fund the 2026-09 reward pool with 120.5 AGT: confirmed" in out
    assert "the 2026-09 pool has received 120.5 AGT in all" in out and "simulated: OK" in err
    assert suite.epoch(202609).funded == 1205 * AGT // 10
    code, out, err = alaya_wallet(ws, "fund-pool", "2026-08", "500", *common, "--passphrase-fd", PASSPHRASE,
                                  "--yes", capsys=capsys)  # the requester's token: its own balance and approval
    assert code == 0, err
    assert suite.epoch(202608).funded == 500 * AGT and call(reward.functions.balanceOf(me)) == 0
    assert call(suite.agt.functions.allowance(me, suite.reward_pool.address)) == 0  # the approval was spent exactly


def test_serve_with_a_chain_signs_with_its_keystore_and_never_shows_the_key(chain: Chain, tmp_path: Path) -> None:
    password = "coordinator keystore password"
    keyfile = tmp_path / "signer.json"
    keyfile.write_text(json.dumps(Account.encrypt(chain.coordinator.key, password, kdf="scrypt", iterations=2**4)))
    contracts = tmp_path / "contracts.json"
    contracts.write_text(json.dumps(chain.suite.addresses()))
    port = free_port()
    cmd = [sys.executable, "-m", "app", "-v", "coordinator", "serve", "--db", f"sqlite:///{tmp_path / 'c.db'}",
           "--port", str(port), "--chain-rpc", chain.w3.provider.endpoint_uri, "--contracts", str(contracts),
           "--signer-keystore", str(keyfile), "--chain-from-block", "1"]
    wrong = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120,
                           env={**os.environ, "ALAYA_COORDINATOR_SIGNER_PASSWORD": "not it"})
    assert wrong.returncode == 2 and wrong.stderr.strip().endswith("wrong password, or the keystore is damaged")
    env = {**os.environ, "ALAYA_COORDINATOR_SIGNER_PASSWORD": password}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc)
        info = requests.get(f"http://127.0.0.1:{port}/v1/chain", timeout=10).json()
        assert info["voucher_signer"] == chain.coordinator.address and info["contracts"] == chain.suite.addresses()
        assert info["deployed_at_block"] == 1
    finally:
        proc.terminate()
        output = proc.communicate(timeout=30)[0]
    assert chain.coordinator.address in output  # -v logs the signer's address ...
    for secret in (chain.coordinator.key.hex(), password):
        assert secret.removeprefix("0x") not in output + wrong.stdout + wrong.stderr  # ... never its key
