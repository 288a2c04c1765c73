"""Settings: layering, policy locks, migrations, bad input, atomic save.

Every test passes an explicit env mapping, user file and policy file under tmp_path, so
the real home directory and /etc are never read or written.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import pytest

import app.core.settings_policy as settings_policy
from app.core.errors import LockedSettingError, StorageError, ValidationError
from app.core.settings import (
    SCHEMA_VERSION,
    LoadedSettings,
    Settings,
    Source,
    default_user_file,
    default_workspace,
    load_settings,
    save_user_settings,
    setting_keys,
)
from app.core.settings_policy import find_policy_file
from app.core.settings_schema import _MIGRATIONS, field_info
from app.core.settings_toml import dumps

POLICY = """
[policy]
reason = "Managed by ACME IT"

[locked.intake]
strip_private_metadata = true

[locked.sync]
coordinator_url = "https://coord.acme.example"

[defaults.general]
theme = "dark"
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def user_file(tmp_path: Path) -> Path:
    return tmp_path / "config" / "settings.toml"


@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    return write(tmp_path / "policy.toml", POLICY)


def load(user_file: Path, *, env: dict[str, str] | None = None, policy: Any = False, **kw: Any):
    return load_settings(env=env or {}, user_file=user_file, policy_file=policy, **kw)


def raised(exc_type: type[Exception], call: Any) -> str:
    with pytest.raises(exc_type) as err:
        call()
    return str(err.value)


# ---- defaults and locations -----------------------------------------------------------------


def test_defaults_when_nothing_is_configured(user_file: Path) -> None:
    loaded = load(user_file)
    assert isinstance(loaded, LoadedSettings)
    assert loaded.settings == Settings()
    assert loaded.settings.schema_version == SCHEMA_VERSION == 1
    assert loaded.settings.workspace.path == default_workspace()
    assert default_workspace().name == "workspace"
    assert default_user_file().name == "settings.toml"
    assert loaded.get("store.busy_timeout_ms") == 5000
    assert loaded.get("intake.copy_mode") == "copy"
    assert loaded.get("intake.near_duplicate_threshold") == 6
    assert {loaded.origin(key).source for key in setting_keys()} == {Source.DEFAULT}
    assert loaded.notices == () and loaded.policy is None


def test_settings_are_immutable_and_every_key_is_described() -> None:
    with pytest.raises(Exception):
        Settings().intake.copy_mode = "reference"  # type: ignore[misc]
    assert all(field_info(key).description for key in setting_keys())


# ---- precedence -----------------------------------------------------------------------------


def test_each_layer_overrides_the_one_below(
    tmp_path: Path, user_file: Path, policy_file: Path
) -> None:
    loaded = load(user_file, policy=policy_file)
    assert loaded.get("general.theme") == "dark"
    assert loaded.origin("general.theme").source is Source.POLICY_DEFAULT

    workspace = (tmp_path / "u").as_posix()
    write(user_file, f'[general]\ntheme = "light"\n[workspace]\npath = "{workspace}"\n')
    loaded = load(user_file, policy=policy_file)
    assert loaded.get("general.theme") == "light"
    assert loaded.origin("general.theme").source is Source.USER
    assert loaded.origin("general.theme").where == str(user_file)

    env = {"ALAYA_GENERAL__THEME": "system", "ALAYA_HOME": str(tmp_path / "e")}
    loaded = load(user_file, env=env, policy=policy_file)
    assert loaded.get("general.theme") == "system"
    assert loaded.origin("general.theme").where == "ALAYA_GENERAL__THEME"
    assert loaded.get("workspace.path") == tmp_path / "e"

    cli = {"workspace": tmp_path / "c", "overrides": {"general.theme": "light"}}
    loaded = load(user_file, env=env, policy=policy_file, **cli)
    assert loaded.get("workspace.path") == tmp_path / "c"
    assert loaded.origin("workspace.path").where == "--workspace"
    assert loaded.origin("general.theme").source is Source.CLI


def test_environment_values_are_converted_and_empty_means_unset(user_file: Path) -> None:
    write(user_file, "[intake]\nworkers = 4\n")
    env = {
        "ALAYA_STORE__BUSY_TIMEOUT_MS": "250",
        "ALAYA_STORE__BACKUP_BEFORE_MIGRATION": "false",
        "ALAYA_INTAKE__COPY_MODE": "reference",
        "ALAYA_INTAKE__WORKERS": "",
        "ALAYA_SYNC__PROXY": "http://proxy.acme.example:3128",
        "PATH": "/usr/bin",
    }
    s = load(user_file, env=env).settings
    assert s.store.busy_timeout_ms == 250 and s.store.backup_before_migration is False
    assert s.intake.copy_mode == "reference" and s.intake.workers is None
    assert str(s.sync.proxy) == "http://proxy.acme.example:3128/"


def test_unknown_environment_variables_are_notices_not_errors(user_file: Path) -> None:
    env = {"ALAYA_INTAKE__COPYMODE": "x", "ALAYA_LOG_LEVEL": "debug", "ALAYA_POLICY_FILE": ""}
    loaded = load(user_file, env=env)
    assert loaded.settings == Settings()
    assert loaded.notices == (
        "environment variable ALAYA_INTAKE__COPYMODE: unknown setting intake.copymode is ignored",
    )


def test_bad_environment_value_names_the_variable(user_file: Path) -> None:
    env = {"ALAYA_INTAKE__NEAR_DUPLICATE_THRESHOLD": "65"}
    assert raised(ValidationError, lambda: load(user_file, env=env)) == (
        "environment variable ALAYA_INTAKE__NEAR_DUPLICATE_THRESHOLD: "
        "intake.near_duplicate_threshold: must be between 0 and 64 (got '65')"
    )


# ---- workspace: ALAYA_HOME and --workspace --------------------------------------------------


def test_alaya_home_and_workspace_option(tmp_path: Path, user_file: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # relative paths from a shell mean "from here"
    home = load(user_file, env={"ALAYA_HOME": "rel/ws"})
    assert home.get("workspace.path") == tmp_path / "rel" / "ws"
    assert home.origin("workspace.path").where == "ALAYA_HOME"
    assert load(user_file, workspace="cli-ws").get("workspace.path") == tmp_path / "cli-ws"

    same = {"ALAYA_HOME": str(tmp_path / "a"), "ALAYA_WORKSPACE__PATH": str(tmp_path / "a")}
    assert load(user_file, env=same).get("workspace.path") == tmp_path / "a"
    differ = {**same, "ALAYA_WORKSPACE__PATH": str(tmp_path / "b")}
    message = raised(ValidationError, lambda: load(user_file, env=differ))
    assert message.startswith(
        "environment variable ALAYA_WORKSPACE__PATH: conflicts with ALAYA_HOME"
    )


def test_workspace_tilde_expands_and_relative_path_in_file_is_refused(
    tmp_path: Path, user_file: Path, monkeypatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("USERPROFILE", str(tmp_path))
    write(user_file, '[workspace]\npath = "~/alaya"\n')
    assert load(user_file).get("workspace.path") == tmp_path / "alaya"
    write(user_file, '[workspace]\npath = "alaya"\n')
    assert "workspace.path: must be an absolute path" in raised(
        ValidationError, lambda: load(user_file)
    )


# ---- administrator policy -------------------------------------------------------------------


def test_locked_values_apply_and_are_reported(user_file: Path, policy_file: Path) -> None:
    loaded = load(user_file, policy=policy_file)
    assert loaded.get("intake.strip_private_metadata") is True
    assert str(loaded.get("sync.coordinator_url")) == "https://coord.acme.example/"
    assert loaded.is_locked("intake.strip_private_metadata")
    assert not loaded.is_locked("general.theme")  # a policy default, not a lock
    assert loaded.origin("sync.coordinator_url").source is Source.POLICY
    assert loaded.origin("sync.coordinator_url").where == str(policy_file)
    assert loaded.lock_reason("sync.coordinator_url") == (
        f"sync.coordinator_url is locked by the administrator policy {policy_file} "
        "(Managed by ACME IT)"
    )
    assert loaded.lock_reason("general.theme") is None


def test_user_file_and_environment_cannot_override_a_lock(
    user_file: Path, policy_file: Path
) -> None:
    write(user_file, "[intake]\nstrip_private_metadata = false\n")
    env = {
        "ALAYA_SYNC__COORDINATOR_URL": "https://elsewhere.example",
        "ALAYA_INTAKE__STRIP_PRIVATE_METADATA": "true",  # equal to the lock: no conflict
    }
    loaded = load(user_file, env=env, policy=policy_file)
    assert loaded.get("intake.strip_private_metadata") is True
    assert str(loaded.get("sync.coordinator_url")) == "https://coord.acme.example/"
    assert len(loaded.notices) == 2
    for notice in loaded.notices:
        assert str(policy_file) in notice and "Managed by ACME IT" in notice
    assert loaded.notices[0].startswith(
        f"{user_file}: the value for intake.strip_private_metadata is ignored"
    )
    assert loaded.notices[1].startswith(
        "ALAYA_SYNC__COORDINATOR_URL: the value for sync.coordinator_url is ignored"
    )


def test_command_line_and_update_cannot_override_a_lock(tmp_path: Path, user_file: Path) -> None:
    locked = (tmp_path / "ws").as_posix()
    text = f'[policy]\nreason = "Shared drive"\n[locked.workspace]\npath = "{locked}"\n'
    policy = write(tmp_path / "p.toml", text)
    message = raised(LockedSettingError, lambda: load(user_file, policy=policy, workspace="/x"))
    assert message == (
        "--workspace cannot be used: workspace.path is locked by the administrator policy "
        f"{policy} (Shared drive)"
    )
    same = load(user_file, policy=policy, workspace=tmp_path / "ws")
    assert same.get("workspace.path") == tmp_path / "ws"
    override = {"workspace.path": str(tmp_path / "x")}
    assert "locked by the administrator policy" in raised(
        LockedSettingError, lambda: load(user_file, policy=policy, overrides=override)
    )

    loaded = load(user_file, policy=policy)
    for change in (
        lambda: loaded.update("workspace.path", tmp_path / "x"),
        lambda: loaded.reset("workspace.path"),
    ):
        message = raised(LockedSettingError, change)
        assert str(policy) in message and "Shared drive" in message


def test_policy_without_reason_still_names_the_file(tmp_path: Path, user_file: Path) -> None:
    policy = write(tmp_path / "p.toml", '[locked.intake]\ncopy_mode = "reference"\n')
    loaded = load(user_file, policy=policy)
    assert loaded.get("intake.copy_mode") == "reference"
    assert loaded.lock_reason("intake.copy_mode") == (
        f"intake.copy_mode is locked by the administrator policy {policy}"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[locked.intake]\ncopymode = "copy"\n',
            "intake.copymode: unknown setting (did you mean intake.copy_mode?)",
        ),
        (
            "[locked.intake]\nnear_duplicate_threshold = 99\n",
            "intake.near_duplicate_threshold: must be between 0 and 64",
        ),
        ('[policy]\nreason = "x"\nowner = "it"\n', "unknown key policy.owner"),
        ("[lock.intake]\ncopy_mode = 'copy'\n", "unknown table [lock]"),
        ("[locked]\nintake = 1\n", "locked.intake must be a table"),
        (
            "[locked.general]\ntheme = 'dark'\n[defaults.general]\ntheme = 'light'\n",
            "general.theme is in both [locked] and [defaults]",
        ),
        ("[locked.intake\n", "policy file is not valid TOML"),
    ],
)
def test_bad_policy_is_an_error_naming_the_file(
    tmp_path: Path, user_file: Path, text: str, message: str
) -> None:
    policy = write(tmp_path / "p.toml", text)
    error = raised(ValidationError, lambda: load(user_file, policy=policy))
    assert error.startswith(str(policy)) and message in error


def test_unreadable_or_missing_policy_is_an_error(tmp_path: Path, user_file: Path) -> None:
    (tmp_path / "dir.toml").mkdir()  # unreadable as a file, even for root
    error = raised(ValidationError, lambda: load(user_file, policy=tmp_path / "dir.toml"))
    assert "cannot read policy file" in error
    error = raised(ValidationError, lambda: load(user_file, policy=tmp_path / "absent.toml"))
    assert error == f"{tmp_path / 'absent.toml'}: policy file not found"


def test_unknown_policy_default_is_a_notice(tmp_path: Path, user_file: Path) -> None:
    policy = write(tmp_path / "p.toml", "[defaults.general]\nthemes = 'dark'\n")
    loaded = load(user_file, policy=policy)
    assert loaded.notices == (f"{policy}: unknown setting general.themes in [defaults] is ignored",)


def test_policy_discovery_site_file_beats_the_environment(tmp_path: Path) -> None:
    site, named = tmp_path / "site.toml", tmp_path / "named.toml"
    env = {"ALAYA_POLICY_FILE": str(named)}
    assert find_policy_file({}, site_path=site) == (None, None)
    assert find_policy_file(env, site_path=site) == (named, None)
    write(site, "")
    assert find_policy_file(env, site_path=site) == (
        site,
        f"ALAYA_POLICY_FILE={named} is ignored: the site policy {site} applies",
    )


def test_load_finds_the_policy_named_by_the_environment(
    tmp_path: Path, user_file: Path, policy_file: Path, monkeypatch
) -> None:
    monkeypatch.setattr(settings_policy, "site_policy_path", lambda: tmp_path / "none.toml")
    loaded = load_settings(env={"ALAYA_POLICY_FILE": str(policy_file)}, user_file=user_file)
    assert loaded.policy is not None and loaded.policy.path == policy_file
    assert loaded.is_locked("intake.strip_private_metadata")


# ---- migrations and versions ----------------------------------------------------------------


def test_every_old_version_has_a_migration() -> None:
    assert sorted(_MIGRATIONS) == list(range(SCHEMA_VERSION))


def test_v0_file_migrates_to_v1_and_save_keeps_a_backup(tmp_path: Path, user_file: Path) -> None:
    v0 = (
        'copy_mode = "reference"\nstrip_exif = false\ntheme = "dark"\nbusy_timeout = 2.5\n'
        f'workspace = "{(tmp_path / "ws").as_posix()}"\n'
    )
    write(user_file, v0)
    loaded = load(user_file)
    s = loaded.settings
    assert s.intake.copy_mode == "reference" and s.intake.strip_private_metadata is False
    assert s.general.theme == "dark" and s.store.busy_timeout_ms == 2500
    assert s.workspace.path == tmp_path / "ws"
    assert loaded.migrated_from == 0

    save_user_settings(loaded)
    assert (user_file.parent / "settings.toml.v0.bak").read_text(encoding="utf-8") == v0
    saved = tomllib.loads(user_file.read_text(encoding="utf-8"))
    assert saved["schema_version"] == 1 and saved["store"] == {"busy_timeout_ms": 2500}
    again = load(user_file)
    assert again.settings == s and again.migrated_from is None


def test_v0_unknown_flat_key_is_reported_with_a_hint(user_file: Path) -> None:
    write(user_file, "near_duplicate_threshold = 3\n")
    assert raised(ValidationError, lambda: load(user_file)) == (
        f"{user_file}: near_duplicate_threshold: unknown setting "
        "(did you mean intake.near_duplicate_threshold?)"
    )


def test_v0_file_with_old_and_new_layout_for_one_key_is_refused(user_file: Path) -> None:
    write(user_file, 'copy_mode = "copy"\n[intake]\ncopy_mode = "reference"\n')
    assert "both copy_mode (old layout) and intake.copy_mode are set" in raised(
        ValidationError, lambda: load(user_file)
    )


@pytest.mark.parametrize(
    ("version", "message"),
    [
        ("2", "written by a newer Alaya (settings version 2; this one reads up to 1)"),
        ('"1"', "schema_version: must be a whole number"),
    ],
)
def test_newer_or_invalid_version_is_refused(user_file: Path, version: str, message: str) -> None:
    write(user_file, f"schema_version = {version}\n[general]\ntheme = 'dark'\n")
    error = raised(ValidationError, lambda: load(user_file))
    assert error.startswith(str(user_file)) and message in error


# ---- bad input in the user file -------------------------------------------------------------


def test_malformed_toml_names_file_and_line(user_file: Path) -> None:
    write(user_file, "schema_version = 1\n[intake]\ncopy_mode = reference\n")
    error = raised(ValidationError, lambda: load(user_file))
    assert error.startswith(f"{user_file}: settings file is not valid TOML")
    assert "line 3" in error


def test_non_utf8_file_is_an_error(user_file: Path) -> None:
    user_file.parent.mkdir(parents=True)
    user_file.write_bytes(b"[general]\ntheme = '\xff'\n")
    assert "settings file is not UTF-8" in raised(ValidationError, lambda: load(user_file))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "[intake]\nnear_duplicate_threshold = 99",
            "intake.near_duplicate_threshold: must be between 0 and 64 (got 99)",
        ),
        (
            "[intake]\nnear_duplicate_threshold = true",
            "intake.near_duplicate_threshold: must be a whole number, not true/false",
        ),
        (
            "[intake]\nnear_duplicate_threshold = 2.5",
            "intake.near_duplicate_threshold: must be a valid integer",
        ),
        (
            "[intake]\ncopy_mode = 'move'",
            "intake.copy_mode: must be 'copy' or 'reference' (got 'move')",
        ),
        ("[intake]\nworkers = 0", "intake.workers: must be between 1 and 1024 (got 0)"),
        (
            "[intake]\ncopymode = 'copy'",
            "intake.copymode: unknown setting (did you mean intake.copy_mode?)",
        ),
        ("[intake.extra]\nx = 1", "intake.extra: unknown setting"),
        ("intake = 3", "intake: must be a table [intake]"),
        ("[gui]\nzoom = 2", "gui.zoom: unknown setting"),
        (
            "[general]\nlanguage = 'English'",
            "general.language: must be a language tag such as 'en' or 'pt-BR' (got 'English')",
        ),
        (
            "[sync]\ncoordinator_url = 'ftp://coord'",
            "sync.coordinator_url: URL scheme should be 'http' or 'https'",
        ),
    ],
)
def test_wrong_value_names_file_and_key(user_file: Path, body: str, message: str) -> None:
    write(user_file, "schema_version = 1\n" + body + "\n")
    error = raised(ValidationError, lambda: load(user_file))
    assert error.startswith(f"{user_file}: ") and message in error


def test_error_does_not_echo_a_proxy_password(user_file: Path) -> None:
    write(user_file, "schema_version = 1\n[sync]\nproxy = 'ftp://me:hunter2@proxy'\n")
    error = raised(ValidationError, lambda: load(user_file))
    assert "sync.proxy: URL scheme" in error and "hunter2" not in error


# ---- update, reset, save --------------------------------------------------------------------


def test_update_returns_a_new_object_and_respects_precedence(user_file: Path) -> None:
    loaded = load(user_file, env={"ALAYA_INTAKE__COPY_MODE": "reference"})
    changed = loaded.update("history.undo_memory_mb", "512").update("intake.copy_mode", "copy")
    assert loaded.get("history.undo_memory_mb") == 256  # the original is untouched
    assert changed.get("history.undo_memory_mb") == 512
    assert changed.origin("history.undo_memory_mb").source is Source.USER
    assert changed.get("intake.copy_mode") == "reference"  # the environment still wins
    assert changed.user_values["intake.copy_mode"] == "copy"
    reset = changed.reset("history.undo_memory_mb")
    assert reset.origin("history.undo_memory_mb").source is Source.DEFAULT
    assert raised(ValidationError, lambda: loaded.update("history.undo_memory_mb", 0)) == (
        "history.undo_memory_mb: must be between 1 and 65536 (got 0)"
    )
    assert "did you mean intake.copy_mode" in raised(
        ValidationError, lambda: loaded.update("intake.copymode", "copy")
    )


def test_save_round_trip_writes_only_user_values_atomically(
    tmp_path: Path, user_file: Path
) -> None:
    env = {"ALAYA_STORE__BUSY_TIMEOUT_MS": "100"}
    odd = tmp_path / 'dir with "quotes" \\ and ünïcode'
    loaded = (
        load(user_file, env=env, workspace=tmp_path / "cli")
        .update("prelabel.checkpoint", odd / "sam.pth")
        .update("sync.proxy", "http://proxy.acme.example:3128")
        .update("intake.strip_private_metadata", False)
        .update("intake.workers", None)  # None is omitted: TOML has no null
    )
    assert save_user_settings(loaded) == user_file
    assert tomllib.loads(user_file.read_text(encoding="utf-8")) == {
        "schema_version": 1,
        "intake": {"strip_private_metadata": False},
        "sync": {"proxy": "http://proxy.acme.example:3128/"},
        "prelabel": {"checkpoint": str(odd / "sam.pth")},
    }
    assert load(user_file, env=env, workspace=tmp_path / "cli").settings == loaded.settings
    assert [p.name for p in user_file.parent.iterdir()] == ["settings.toml"]  # no temp file
    if os.name == "posix":
        assert user_file.stat().st_mode & 0o777 == 0o600


def test_failed_save_leaves_the_old_file_intact(user_file: Path, monkeypatch) -> None:
    original = "schema_version = 1\n[general]\ntheme = 'dark'\n"
    write(user_file, original)
    loaded = load(user_file).update("general.theme", "light")

    def disk_full(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    assert "No space left on device" in raised(StorageError, lambda: save_user_settings(loaded))
    assert user_file.read_text(encoding="utf-8") == original
    assert [p.name for p in user_file.parent.iterdir()] == ["settings.toml"]


def test_toml_writer_round_trips_awkward_values() -> None:
    data = {
        "schema_version": 1,
        "s": {
            "text": 'quote " backslash \\ newline \n tab \t bell \x07 del \x7f ünï 🙂',
            "windows": r"C:\Users\me\alaya",
            "n": -3,
            "f": 0.1,
            "big": 1e300,
            "yes": True,
            "items": [1, "two", False],
            "odd key": "x",
        },
    }
    assert tomllib.loads(dumps(data, header="a\nb")) == data
    with pytest.raises(TypeError):
        dumps({"s": {"none": None}})


# ---- shortcuts: a section holding a mapping -------------------------------------------------


def test_shortcut_overrides_validate_and_round_trip_as_a_sub_table(user_file: Path) -> None:
    loaded = load(user_file)
    assert loaded.get("shortcuts.bindings") == {}
    bindings = {"file.open": "Ctrl+Shift+O", "edit.undo": "", "label 'odd\"": " F2 "}
    assert "must not contain spaces" in raised(
        ValidationError, lambda: loaded.update("shortcuts.bindings", bindings)
    )
    assert "must not be empty" in raised(
        ValidationError, lambda: loaded.update("shortcuts.bindings", {"": "Ctrl+X"})
    )
    assert "must be a valid string" in raised(
        ValidationError, lambda: loaded.update("shortcuts.bindings", {"a": 1})
    )
    bindings = {"file.open": "Ctrl+Shift+O", "edit.undo": "", 'label."odd"': " F2 "}
    changed = loaded.update("shortcuts.bindings", bindings)
    assert changed.get("shortcuts.bindings")['label."odd"'] == "F2"  # trimmed
    save_user_settings(changed.update("general.theme", "dark"))
    text = user_file.read_text(encoding="utf-8")
    assert "[shortcuts.bindings]" in text and "[shortcuts]\n" not in text
    assert tomllib.loads(text)["shortcuts"] == {"bindings": changed.get("shortcuts.bindings")}
    again = load(user_file)
    assert again.settings == changed.update("general.theme", "dark").settings
    assert again.origin("shortcuts.bindings").source is Source.USER
    assert tomllib.loads(dumps({"s": {"x": 1, "sub": {}}})) == {"s": {"x": 1, "sub": {}}}
    with pytest.raises(TypeError):
        dumps({"s": {"sub": {"deeper": {}}}})
