"""The committed artifacts in resources/contracts are what the sources compile to today."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from app.core.errors import NotFoundError, StorageError, ValidationError
from app.wallet.contracts import ARTIFACTS_DIR, CONTRACT_NAMES, load_artifact
from tests.chain.anvil import NODE_MODULES, REPO_ROOT, require_node_modules

COMPILE_SCRIPT = REPO_ROOT / "contracts" / "compile.js"


def test_artifacts_match_a_fresh_compile(tmp_path: Path) -> None:
    require_node_modules(NODE_MODULES / "solc")
    subprocess.run(["node", str(COMPILE_SCRIPT), "--out", str(tmp_path)], check=True, cwd=REPO_ROOT,
                   capture_output=True, timeout=300)
    fresh = sorted(path.name for path in tmp_path.glob("*.json"))
    committed = sorted(path.name for path in ARTIFACTS_DIR.glob("*.json"))
    assert fresh == committed == sorted(f"{name}.json" for name in CONTRACT_NAMES)
    stale = [name for name in fresh if (tmp_path / name).read_bytes() != (ARTIFACTS_DIR / name).read_bytes()]
    assert not stale, f"artifacts out of date with contracts/*.sol: {stale}; run `make contracts` and commit"


def test_artifact_records_its_build() -> None:
    artifact = load_artifact("RewardPool")
    assert artifact.compiler_version.startswith("0.8.37+")
    assert artifact.settings["evmVersion"] == "cancun"
    assert artifact.settings["optimizer"] == {"enabled": True, "runs": 200}
    assert len(artifact.sources_sha256) == 64
    assert artifact.bytecode.startswith("0x") and len(artifact.deployed_bytecode) > 1000
    assert any(entry.get("name") == "InvalidVoucherSigner" for entry in artifact.abi)


def test_artifact_errors(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="no compiled contract"):
        load_artifact("Missing", tmp_path)
    (tmp_path / "Broken.json").write_text("{not json")
    with pytest.raises(StorageError, match="unreadable"):
        load_artifact("Broken", tmp_path)
    (tmp_path / "Partial.json").write_text(json.dumps({"contractName": "Partial"}))
    with pytest.raises(StorageError, match="make contracts"):
        load_artifact("Partial", tmp_path)
    with pytest.raises(ValidationError, match="not a contract name"):
        load_artifact("a/b")


def test_compile_script_refuses_a_bad_argument() -> None:
    require_node_modules(NODE_MODULES / "solc")
    result = subprocess.run(["node", str(COMPILE_SCRIPT), "--out"], cwd=REPO_ROOT, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 1 and "--out needs a folder" in result.stderr
