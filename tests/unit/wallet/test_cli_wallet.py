"""`alaya wallet`: secrets from file descriptors or prompts (never argv), the phrase shown once
and confirmed, clear refusals, and no secret in the output or the logs."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app import cli
from tests.unit.wallet.conftest import ANVIL_ADDRESSES, ANVIL_KEY_0, ANVIL_MNEMONIC, PASSPHRASE, MemoryKeyring

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def fds() -> Iterator[list[int]]:
    opened: list[int] = []
    yield opened
    for fd in opened:
        os.close(fd)


def _fd(opened: list[int], text: str) -> str:
    read, write = os.pipe()
    os.write(write, text.encode() + b"\n")
    os.close(write)
    opened.append(read)
    return str(read)


def _run(capsys: pytest.CaptureFixture[str], ws: Path, *args: str) -> tuple[int, str, str]:
    code = cli.main(["-w", str(ws), "wallet", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_import_mnemonic_show_accounts(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       caplog: pytest.LogCaptureFixture,
                                       light_scrypt: None, no_keyring: None, fds: list[int]) -> None:
    caplog.set_level(logging.DEBUG)
    ws = tmp_path / "ws"
    code, out, err = _run(capsys, ws, "import", "--mnemonic", "--secret-fd", _fd(fds, ANVIL_MNEMONIC),
                          "--passphrase-fd", _fd(fds, PASSPHRASE))
    assert code == 0, err
    assert "wallet imported" in out and ANVIL_ADDRESSES[0] in out and "your passphrase" in out and "; locked" in out
    code, out2, _ = _run(capsys, ws, "accounts", "add", "--passphrase-fd", _fd(fds, PASSPHRASE))
    assert code == 0 and ANVIL_ADDRESSES[1] in out2
    code, out3, _ = _run(capsys, ws, "show", "--json")
    shown = json.loads(out3)
    assert shown["locked"] and shown["chain"] == "arbitrum-sepolia" and shown["chain_id"] == 421614
    assert [a["address"] for a in shown["accounts"]] == list(ANVIL_ADDRESSES[:2])
    code, out4, _ = _run(capsys, ws, "accounts")
    assert code == 0 and out4.split() == ["0", ANVIL_ADDRESSES[0], "1", ANVIL_ADDRESSES[1]]
    everything = out + out2 + out3 + out4 + err + caplog.text
    for secret in ("junk", "test test", PASSPHRASE):
        assert secret not in everything


def test_refusals_are_one_line_and_harm_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch, light_scrypt: None,
                                                no_keyring: None, fds: list[int]) -> None:
    ws = tmp_path / "ws"
    code, _, err = _run(capsys, ws, "show")
    assert code == 8 and "no wallet in" in err
    code, _, err = _run(capsys, ws, "import", "--mnemonic", "--private-key")
    assert code == 2 and "exactly one of" in err
    code, _, err = _run(capsys, ws, "import", "--mnemonic", "--secret-fd", _fd(fds, "test " * 12),
                        "--passphrase-fd", _fd(fds, PASSPHRASE))
    assert code == 8 and "checksum" in err and "test test" not in err and not (ws / "wallet").exists()
    code, _, err = _run(capsys, ws, "import", "--private-key", "--secret-fd", _fd(fds, ANVIL_KEY_0),
                        "--passphrase-fd", _fd(fds, "short"))
    assert code == 8 and "at least 8" in err and ANVIL_KEY_0[2:] not in err
    assert _run(capsys, ws, "import", "--private-key", "--secret-fd", _fd(fds, ANVIL_KEY_0),
                "--passphrase-fd", _fd(fds, PASSPHRASE))[0] == 0
    before = {p: p.read_bytes() for p in (ws / "wallet").rglob("*.json")}
    code, _, err = _run(capsys, ws, "import", "--private-key", "--secret-fd", _fd(fds, ANVIL_KEY_0),
                        "--passphrase-fd", _fd(fds, PASSPHRASE))
    assert code == 2 and "already holds a wallet" in err
    code, _, err = _run(capsys, ws, "accounts", "add", "--passphrase-fd", _fd(fds, "wrong-passphrase"))
    assert code == 8 and "wrong password" in err and err.count("\n") == 1
    code, _, err = _run(capsys, ws, "accounts", "add", "--passphrase-fd", _fd(fds, PASSPHRASE))
    assert code == 8 and "recovery phrase" in err
    code, _, err = _run(capsys, ws, "accounts", "add", "--passphrase-fd", "97")
    assert code == 2 and "file descriptor 97" in err
    assert {p: p.read_bytes() for p in (ws / "wallet").rglob("*.json")} == before
    monkeypatch.setenv("ALAYA_WALLET__CHAIN", "mainnet")
    code, _, err = _run(capsys, ws, "show")
    assert code == 8 and "unknown chain 'mainnet'; known chains: arbitrum-one" in err


def test_import_keystore_into_the_keychain(tmp_path: Path, capsys: pytest.CaptureFixture[str], light_scrypt: None,
                                           memory_keyring: MemoryKeyring, fds: list[int]) -> None:
    from eth_account import Account

    source = tmp_path / "their.json"
    source.write_text(json.dumps(dict(Account.encrypt(ANVIL_KEY_0, "their-password", kdf="scrypt",
                                                      iterations=2**12))))
    ws = tmp_path / "ws"
    code, out, err = _run(capsys, ws, "import", "--keystore", str(source), "--secret-fd", _fd(fds, "their-password"))
    assert code == 0, err
    assert "the OS keychain" in out and ANVIL_ADDRESSES[0] in out and len(memory_keyring.entries) == 1
    assert "their-password" not in out + err
    code, out, err = _run(capsys, ws, "lock", "--passphrase-fd", _fd(fds, PASSPHRASE))
    assert code == 0 and "left the OS keychain" in out and not memory_keyring.entries
    code, out, err = _run(capsys, ws, "lock")
    assert code == 0 and "passphrase is asked at every unlock" in out
    code, out, _ = _run(capsys, ws, "show", "--json")
    assert json.loads(out)["protected_by"] == "passphrase"


def _spawn(ws: Path, passphrase: str) -> tuple[subprocess.Popen[str], int]:
    read, write = os.pipe()
    os.write(write, passphrase.encode() + b"\n")
    os.close(write)
    env = {**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring", "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "app", "-w", str(ws), "wallet", "create", "--passphrase-fd",
                                str(read)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, pass_fds=(read,), env=env, cwd=ROOT)
    os.close(read)
    return process, read


def _read_phrase(process: subprocess.Popen[str]) -> tuple[list[str], list[int], str]:
    shown = ""
    while "Type back words" not in shown:
        line = process.stdout.readline()  # type: ignore[union-attr]
        assert line, "the command ended before asking for the words"
        shown += line
    words = dict(re.findall(r"(\d+)\. (\w+)", shown))
    positions = [int(p) for p in re.search(r"Type back words ([\d, ]+)", shown).group(1).split(", ")]
    return [words[str(n)] for n in range(1, 25)], positions, shown


def test_create_shows_the_phrase_once_and_asks_for_it_back(tmp_path: Path) -> None:
    """A real process with real scrypt costs: what a user runs."""
    ws = tmp_path / "ws"
    process, _ = _spawn(ws, PASSPHRASE)
    words, positions, shown = _read_phrase(process)
    out, err = process.communicate("".join(words[p - 1] + "\n" for p in positions), timeout=120)
    assert process.returncode == 0, err
    assert len(positions) == 3 and "wallet created" in out and PASSPHRASE not in shown + out + err
    record = json.loads((ws / "wallet" / "wallet.json").read_text())
    assert record["secret"]["kdfparams"]["n"] == 2**18 and record["protected_by"] == "passphrase"
    assert not any(word in (ws / "wallet" / "wallet.json").read_text() for word in words if len(word) > 4)
    assert (shown + out).count(" ".join(f"{n}. {w}" for n, w in enumerate(words[:1], 1))) == 1


def test_create_with_a_wrong_word_writes_nothing(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    process, _ = _spawn(ws, PASSPHRASE)
    words, positions, _ = _read_phrase(process)
    answers = [words[p - 1] for p in positions]
    answers[1] = "zoo" if answers[1] != "zoo" else "abandon"
    out, err = process.communicate("\n".join(answers) + "\n", timeout=120)
    assert process.returncode == 8 and f"word {positions[1]} does not match" in err
    assert not (ws / "wallet").exists()
