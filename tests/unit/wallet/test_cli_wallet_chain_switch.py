"""`alaya wallet chain [NAME]`: shows the workspace's chain and the chain list; switches the
chain of this workspace only (its settings.toml), refusing unknown chains and policy locks."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from app import cli
from app.core.settings import default_user_file


def _run(capsys: pytest.CaptureFixture[str], ws: Path, *args: str) -> tuple[int, str, str]:
    code = cli.main(["-w", str(ws), "wallet", "chain", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_show_lists_the_chains_and_marks_the_workspace_one(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, tmp_path / "ws")
    assert code == 0, err
    assert out.splitlines()[0] == "chain: arbitrum-sepolia (from the built-in default)"
    assert "* arbitrum-sepolia" in out and "  arbitrum-one" in out and "Local anvil" in out
    code, out, _ = _run(capsys, tmp_path / "ws", "--json")
    shown = json.loads(out)
    assert shown["chain"] == "arbitrum-sepolia" and shown["source"] == "default" and not shown["locked"]
    assert {"key": "local", "chain_id": 31337, "name": "Local anvil", "testnet": True} in shown["chains"]
    assert not (tmp_path / "ws" / "settings.toml").exists()  # showing writes nothing


def test_switch_applies_to_this_workspace_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    code, out, err = _run(capsys, one, "local")
    assert code == 0, err
    assert "Local anvil (local, chain id 31337)" in out and str(one / "settings.toml") in out
    saved = tomllib.loads((one / "settings.toml").read_text(encoding="utf-8"))
    assert saved == {"schema_version": 1, "wallet": {"chain": "local"}}
    _run(capsys, two, "arbitrum-one")
    code, out, _ = _run(capsys, one)
    assert out.startswith(f"chain: local (from this workspace's settings file {one / 'settings.toml'})")
    assert "* local" in out
    assert json.loads(_run(capsys, two, "--json")[1])["chain"] == "arbitrum-one"
    assert not default_user_file().exists()  # the user file, shared by every workspace, is untouched


def test_unknown_chain_is_refused_and_nothing_is_written(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, tmp_path / "ws", "arbitrum-two")
    assert code == 8 and "unknown chain 'arbitrum-two'" in err and "arbitrum-one" in err and not out
    assert not (tmp_path / "ws" / "settings.toml").exists()


def test_policy_lock_refuses_the_switch_with_its_reason(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text('[policy]\nreason = "Company testnet only"\n[locked.wallet]\nchain = "arbitrum-sepolia"\n')
    monkeypatch.setenv("ALAYA_POLICY_FILE", str(policy))
    code, out, err = _run(capsys, tmp_path / "ws", "arbitrum-one")
    assert code == 5 and "Company testnet only" in err and "wallet.chain is locked" in err
    assert not (tmp_path / "ws" / "settings.toml").exists()
    code, out, _ = _run(capsys, tmp_path / "ws")
    assert code == 0 and f"locked by {policy}" in out and "Company testnet only" in out


def test_environment_still_wins_and_the_switch_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALAYA_WALLET__CHAIN", "bsc")
    code, out, err = _run(capsys, tmp_path / "ws", "polygon")
    assert code == 0 and "Polygon PoS" in out
    assert "ALAYA_WALLET__CHAIN sets the chain to bsc while it is set" in err
    monkeypatch.delenv("ALAYA_WALLET__CHAIN")
    assert "* polygon" in _run(capsys, tmp_path / "ws")[1]
