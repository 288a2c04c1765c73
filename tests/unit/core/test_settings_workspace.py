"""The workspace settings layer: `<workspace>/settings.toml`, between the user file and the
environment, limited to the workspace's sections, saved atomically.

Every test passes an explicit env mapping, user file and policy file under tmp_path."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from app.core.errors import LockedSettingError, StorageError, ValidationError
from app.core.settings import (
    Source,
    load_settings,
    save_user_settings,
    save_workspace_settings,
    workspace_settings_file,
)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def load(tmp_path: Path, ws: Path | None, *, env: dict[str, str] | None = None, policy: Any = False,
         **kw: Any):
    return load_settings(workspace=ws, env=env or {}, user_file=tmp_path / "config" / "settings.toml",
                         policy_file=policy, **kw)


def raised(exc_type: type[Exception], call: Any) -> str:
    with pytest.raises(exc_type) as err:
        call()
    return str(err.value)


def test_two_workspaces_load_their_own_chain(tmp_path: Path) -> None:
    one, two, bare = tmp_path / "one", tmp_path / "two", tmp_path / "bare"
    write(one / "settings.toml", '[wallet]\nchain = "arbitrum-one"\n')
    write(two / "settings.toml", 'schema_version = 1\n[wallet]\nchain = "local"\n'
          '[sync]\ncoordinator_url = "https://coord.two.example"\noffline_tasks = 5\n')
    first, second, third = load(tmp_path, one), load(tmp_path, two), load(tmp_path, bare)
    assert first.settings.wallet.chain == "arbitrum-one"
    assert second.settings.wallet.chain == "local" and second.settings.sync.offline_tasks == 5
    assert str(second.settings.sync.coordinator_url) == "https://coord.two.example/"
    assert third.settings.wallet.chain == "arbitrum-sepolia"  # the built-in default
    assert first.origin("wallet.chain").source is Source.WORKSPACE
    assert first.origin("wallet.chain").where == str(one / "settings.toml")
    assert third.origin("wallet.chain").source is Source.DEFAULT
    assert first.workspace_file == workspace_settings_file(one) == one / "settings.toml"
    assert first.workspace_values == {"wallet.chain": "arbitrum-one"} and first.user_values == {}


def test_the_workspace_comes_from_the_layers_below_it(tmp_path: Path) -> None:
    ws = tmp_path / "from-env"
    write(ws / "settings.toml", '[wallet]\nchain = "bsc"\n')
    write(tmp_path / "config" / "settings.toml", f'[workspace]\npath = "{tmp_path / "from-user"}"\n')
    assert load(tmp_path, None, env={"ALAYA_HOME": str(ws)}).settings.wallet.chain == "bsc"
    assert load(tmp_path, None).settings.wallet.chain == "arbitrum-sepolia"  # from-user has no file


def test_a_locked_workspace_path_selects_the_workspace_file(tmp_path: Path) -> None:
    managed = tmp_path / "managed"
    write(managed / "settings.toml", '[wallet]\nchain = "polygon-amoy"\n')
    policy = write(tmp_path / "policy.toml", f'[locked.workspace]\npath = "{managed}"\n')
    loaded = load(tmp_path, None, env={"ALAYA_HOME": str(tmp_path / "mine")}, policy=policy)
    assert loaded.workspace_file == managed / "settings.toml"
    assert loaded.settings.wallet.chain == "polygon-amoy"


def test_a_workspace_that_is_no_folder_has_no_workspace_settings(tmp_path: Path) -> None:
    not_a_folder = write(tmp_path / "a-file", "not a workspace")
    assert load(tmp_path, not_a_folder).settings.wallet.chain == "arbitrum-sepolia"  # Workspace.open says why
    assert load(tmp_path, tmp_path / "not-yet").workspace_file == tmp_path / "not-yet" / "settings.toml"


def test_precedence_user_workspace_env_cli_locked(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    write(tmp_path / "config" / "settings.toml", '[wallet]\nchain = "polygon"\nauto_lock_minutes = 3\n')
    loaded = load(tmp_path, ws)
    assert loaded.settings.wallet.chain == "polygon" and loaded.origin("wallet.chain").source is Source.USER
    write(ws / "settings.toml", '[wallet]\nchain = "opbnb"\n')
    loaded = load(tmp_path, ws)
    assert loaded.settings.wallet.chain == "opbnb" and loaded.settings.wallet.auto_lock_minutes == 3
    env = {"ALAYA_WALLET__CHAIN": "bsc"}
    assert load(tmp_path, ws, env=env).settings.wallet.chain == "bsc"
    loaded = load(tmp_path, ws, env=env, overrides={"wallet.chain": "local"})
    assert loaded.settings.wallet.chain == "local" and loaded.origin("wallet.chain").source is Source.CLI
    policy = write(tmp_path / "policy.toml", '[policy]\nreason = "Testnet only"\n'
                   '[locked.wallet]\nchain = "arbitrum-sepolia"\n')
    loaded = load(tmp_path, ws, env=env, policy=policy)
    assert loaded.settings.wallet.chain == "arbitrum-sepolia"
    assert loaded.origin("wallet.chain").source is Source.POLICY
    notice = next(n for n in loaded.notices if str(ws / "settings.toml") in n)
    assert "wallet.chain is ignored" in notice and "Testnet only" in notice


@pytest.mark.parametrize(("body", "key", "message"), [
    ('[general]\ntheme = "dark"\n', "general.theme", "per-user setting"),
    ('[workspace]\npath = "/elsewhere"\n', "workspace.path", "may set only [sync], [wallet]"),
    ('[wallet]\nchian = "bsc"\n', "wallet.chian", "unknown setting (did you mean wallet.chain?)"),
    ('[sync]\noffline_tasks = -1\n', "sync.offline_tasks", "between 0 and 10000"),
    ('[wallet]\nchain = ""\n', "wallet.chain", "at least 1 character"),
    ('wallet = "bsc"\n', "wallet", "must be a table [wallet]"),
])
def test_bad_workspace_file_names_the_file_and_key(tmp_path: Path, body: str, key: str, message: str) -> None:
    ws_file = write(tmp_path / "ws" / "settings.toml", body)
    text = raised(ValidationError, lambda: load(tmp_path, tmp_path / "ws"))
    assert f"{ws_file}: {key}" in text and message in text


def test_malformed_workspace_file_names_file_and_line(tmp_path: Path) -> None:
    ws_file = write(tmp_path / "ws" / "settings.toml", '[wallet]\nchain = "bsc\n')
    text = raised(ValidationError, lambda: load(tmp_path, tmp_path / "ws"))
    assert str(ws_file) in text and "workspace settings file is not valid TOML" in text and "line 2" in text
    write(ws_file, "schema_version = 99\n")
    assert "newer Alaya" in raised(ValidationError, lambda: load(tmp_path, tmp_path / "ws"))


def test_update_and_save_in_the_workspace_scope(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = tmp_path / "ws"
    loaded = load(tmp_path, ws).update("wallet.chain", "arbitrum-one", scope="workspace")
    loaded = loaded.update("general.theme", "dark")  # the user scope is the default
    assert loaded.origin("wallet.chain").source is Source.WORKSPACE
    assert save_workspace_settings(loaded) == ws / "settings.toml"
    save_user_settings(loaded)
    saved = tomllib.loads((ws / "settings.toml").read_text(encoding="utf-8"))
    assert saved == {"schema_version": 1, "wallet": {"chain": "arbitrum-one"}}
    assert (ws / "settings.toml").stat().st_mode & 0o777 == 0o600
    user = tomllib.loads((tmp_path / "config" / "settings.toml").read_text(encoding="utf-8"))
    assert "wallet" not in user and user["general"] == {"theme": "dark"}
    again = load(tmp_path, ws)
    assert again.settings.wallet.chain == "arbitrum-one" and again.settings.general.theme == "dark"
    assert again.reset("wallet.chain", scope="workspace").settings.wallet.chain == "arbitrum-sepolia"

    def broken(*_: Any, **__: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("app.core.files.os.replace", broken)
    changed = again.update("wallet.chain", "bsc", scope="workspace")
    assert "No space left" in raised(StorageError, lambda: save_workspace_settings(changed))
    assert load(tmp_path, ws).settings.wallet.chain == "arbitrum-one"  # the old file is intact
    assert not [p for p in ws.iterdir() if p.name.endswith(".tmp")]


def test_workspace_scope_refuses_other_sections_and_locks(tmp_path: Path) -> None:
    loaded = load(tmp_path, tmp_path / "ws")
    text = raised(ValidationError, lambda: loaded.update("general.theme", "dark", scope="workspace"))
    assert "general.theme" in text and "per-user setting" in text and str(tmp_path / "ws" / "settings.toml") in text
    policy = write(tmp_path / "policy.toml", '[policy]\nreason = "Testnet only"\n'
                   '[locked.wallet]\nchain = "arbitrum-sepolia"\n')
    locked = load(tmp_path, tmp_path / "ws", policy=policy)
    text = raised(LockedSettingError, lambda: locked.update("wallet.chain", "bsc", scope="workspace"))
    assert "Testnet only" in text
