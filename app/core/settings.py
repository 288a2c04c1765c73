"""Application settings: the effective `Settings`, assembled from layers, with provenance.

Layers, lowest to highest precedence (each key takes the value of the highest layer that
sets it):

1. built-in defaults (`settings_schema`);
2. the administrator policy's `[defaults]`, which the user may change;
3. the user settings file, `platformdirs.user_config_dir("alaya")/settings.toml`. It lives
   in the config dir, not the workspace, because the workspace location is itself a setting;
4. the workspace settings file, `<workspace>/settings.toml`, read once the other layers
   give the workspace path. It may set only `[wallet]` and `[sync]` (`WORKSPACE_SECTIONS`),
   so each workspace keeps its own chain and coordinator;
5. environment: `ALAYA_<SECTION>__<KEY>` (e.g. `ALAYA_INTAKE__COPY_MODE=reference`), and
   `ALAYA_HOME` for `workspace.path`. An empty value means "unset" for optional keys;
6. the command line: `--workspace`, and other values by dotted key;
7. the administrator policy's `[locked]`: always wins. The policy is the site file
   (`/etc/xdg/alaya/policy.toml` on Linux) if present, else `ALAYA_POLICY_FILE`; see
   `settings_policy` for why the site file cannot be overridden.

The workspace defaults to `platformdirs.user_data_dir("alaya")/workspace`.

A locked key cannot be changed. `update()` and a conflicting command-line value raise
`LockedSettingError`; a conflicting value in a settings file or the environment is ignored
with a notice, because refusing to start over a stale file or a login script the user may
not control would help no one. Unknown keys (and, in the workspace file, per-user keys) are
errors in the settings files (a typo must not pass silently) and in a policy's `[locked]`
(a lock that cannot be enforced must not look enforced); they are notices in the
environment, which other programs share, and in a policy's `[defaults]`.

`update(key, value, scope="user"|"workspace")` changes one file's layer; `save_user_settings`
and `save_workspace_settings` write it atomically. The workspace layer stays that of the
workspace loaded: a changed `workspace.path` applies at the next load.

pydantic-settings is not used: its sources expose neither per-key provenance nor locks,
and it reads `os.environ` itself, where this loader takes an explicit mapping.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from types import NoneType
from typing import Any, Literal, TypeAlias

import platformdirs
import pydantic

from app.core.errors import LockedSettingError, ValidationError
from app.core.settings_files import (
    WORKSPACE_SECTIONS,
    check_workspace_key,
    keep_migrated_original,
    read_settings_file,
    selected_workspace,
    workspace_settings_file,
    write_settings_file,
)
from app.core.settings_policy import Policy, find_policy_file, read_policy
from app.core.settings_schema import (
    SCHEMA_VERSION,
    GeneralSettings,
    HistorySettings,
    IntakeSettings,
    PrelabelSettings,
    Settings,
    StoreSettings,
    SyncSettings,
    WalletSettings,
    WorkspaceSettings,
    accepts,
    check_key,
    default_workspace,
    nest,
    setting_keys,
    validate_value,
)

__all__ = [
    "SCHEMA_VERSION",
    "WORKSPACE_SECTIONS",
    "GeneralSettings",
    "HistorySettings",
    "IntakeSettings",
    "LoadedSettings",
    "Origin",
    "Policy",
    "Scope",
    "PrelabelSettings",
    "Settings",
    "Source",
    "StoreSettings",
    "SyncSettings",
    "WalletSettings",
    "WorkspaceSettings",
    "default_user_file",
    "default_workspace",
    "load_settings",
    "save_user_settings",
    "save_workspace_settings",
    "setting_keys",
    "workspace_settings_file",
]

log = logging.getLogger(__name__)

ENV_PREFIX = "ALAYA_"
HOME_ENV = "ALAYA_HOME"
Scope: TypeAlias = Literal["user", "workspace"]  # which file `update()` changes


def default_user_file() -> Path:
    return Path(platformdirs.user_config_dir("alaya", appauthor=False)) / "settings.toml"


# ---- layers and the loaded result -----------------------------------------------------------


class Source(StrEnum):
    """Which layer gave a key its effective value."""

    DEFAULT = "default"
    POLICY_DEFAULT = "policy-default"
    USER = "user"
    WORKSPACE = "workspace"
    ENV = "env"
    CLI = "cli"
    POLICY = "policy"


@dataclass(frozen=True)
class Origin:
    source: Source
    where: str  # a file path, an environment variable, a command-line option, or "built-in"


@dataclass(frozen=True)
class _Layer:
    source: Source
    values: Mapping[str, Any] = field(default_factory=dict)  # dotted key -> validated value
    where: Mapping[str, str] = field(default_factory=dict)
    path: Path | None = None  # the file a user or workspace layer is saved to
    migrated_from: int | None = None  # that file's older schema version, if it was migrated


@dataclass(frozen=True)
class LoadedSettings:
    """The effective settings plus what the settings dialog needs: origins and locks."""

    settings: Settings
    origins: Mapping[str, Origin]
    policy: Policy | None
    user_file: Path
    notices: tuple[str, ...]  # ignored values and unknown variables, for the log and the UI
    migrated_from: int | None = None
    workspace_file: Path | None = None  # <workspace>/settings.toml of the workspace loaded
    _layers: tuple[_Layer, ...] = field(default=(), repr=False)
    _load_notices: tuple[str, ...] = field(default=(), repr=False)

    def get(self, key: str) -> Any:
        check_key(key)
        section, name = key.split(".")
        return getattr(getattr(self.settings, section), name)

    def origin(self, key: str) -> Origin:
        check_key(key)
        return self.origins[key]

    def is_locked(self, key: str) -> bool:
        check_key(key)
        return self.policy is not None and key in self.policy.locked

    def lock_reason(self, key: str) -> str | None:
        return self.policy.explain(key) if self.is_locked(key) and self.policy else None

    @property
    def user_values(self) -> Mapping[str, Any]:
        """What the user file holds (and `save_user_settings` writes), not the effective values."""
        return dict(self._layer(Source.USER).values)

    @property
    def workspace_values(self) -> Mapping[str, Any]:
        """What the workspace file holds (and `save_workspace_settings` writes)."""
        return dict(self._layer(Source.WORKSPACE).values)

    def update(self, key: str, value: Any, *, scope: Scope = "user") -> LoadedSettings:
        """A copy with `key` set in the user or workspace layer; the layers above still win."""
        layer = self._scoped_layer(key, scope)
        value = validate_value(key, value)
        where = {**layer.where, key: str(layer.path)}
        return self._with_layer(replace(layer, values={**layer.values, key: value}, where=where))

    def reset(self, key: str, *, scope: Scope = "user") -> LoadedSettings:
        """A copy without that layer's value for `key`, so the layers below apply again."""
        layer = self._scoped_layer(key, scope)
        values = {k: v for k, v in layer.values.items() if k != key}
        return self._with_layer(replace(layer, values=values))

    def _scoped_layer(self, key: str, scope: Scope) -> _Layer:
        if self.is_locked(key) and self.policy:
            raise LockedSettingError(self.policy.explain(key))
        if scope == "workspace":
            check_workspace_key(key, where=str(self.workspace_file or "workspace settings"))
            return self._layer(Source.WORKSPACE)
        if scope != "user":
            raise ValueError(f"unknown settings scope {scope!r}")
        return self._layer(Source.USER)

    def _layer(self, source: Source) -> _Layer:
        return next((layer for layer in self._layers if layer.source is source), _Layer(source))

    def _with_layer(self, changed: _Layer) -> LoadedSettings:
        layers = tuple(changed if layer.source is changed.source else layer for layer in self._layers)
        return _assemble(layers, self.policy, self.user_file, self._load_notices)


def load_settings(
    *,
    workspace: Path | str | None = None,
    overrides: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    user_file: Path | None = None,
    policy_file: Path | Literal[False] | None = None,
) -> LoadedSettings:
    """Assemble the effective settings.

    `workspace` is the `--workspace` option; `overrides` are other command-line values by
    dotted key. `env` defaults to `os.environ`, `user_file` to `default_user_file()`.
    `policy_file`: None finds the policy (see `settings_policy`), False applies none.
    Raises `ValidationError` for bad input and `LockedSettingError` when a command-line
    value contradicts a lock.
    """
    env = os.environ if env is None else env
    user_file = default_user_file() if user_file is None else user_file
    notices: list[str] = []
    if policy_file is None:
        policy_file, notice = find_policy_file(env)
        notices += [notice] if notice else []
    policy = _validated_policy(read_policy(policy_file), notices) if policy_file else None
    user = _file_layer(Source.USER, user_file, what="settings file")
    cli = _cli_layer(workspace, overrides or {})
    for key, value in cli.values.items():
        if policy and key in policy.locked and value != policy.locked[key]:
            raise LockedSettingError(f"{cli.where[key]} cannot be used: {policy.explain(key)}")
    defaults = _Layer(Source.POLICY_DEFAULT)
    if policy:
        where = dict.fromkeys(policy.defaults, str(policy.path))
        defaults = _Layer(Source.POLICY_DEFAULT, policy.defaults, where)
    env_layer = _env_layer(env, notices)
    below = [layer.values for layer in (defaults, user, env_layer, cli)]
    ws_file = workspace_settings_file(selected_workspace(below, policy.locked if policy else {}))
    ws = _file_layer(Source.WORKSPACE, ws_file, what="workspace settings file")
    layers = (defaults, user, ws, env_layer, cli)
    loaded = _assemble(layers, policy, user_file, tuple(notices))
    for notice in loaded.notices:
        log.warning("settings: %s", notice)
    return loaded


def save_user_settings(loaded: LoadedSettings, path: Path | None = None) -> Path:
    """Write the user layer (only what the user set) atomically; return the file written.

    A file migrated from an older version is first kept as `settings.toml.v<N>.bak`, since
    older Alaya versions cannot read the new layout. Unset optional keys (None) are omitted:
    TOML has no null.
    """
    header = "Alaya Workstation settings. Alaya rewrites this file; comments are not kept."
    return _save_layer(loaded._layer(Source.USER), path, header)


def save_workspace_settings(loaded: LoadedSettings, path: Path | None = None) -> Path:
    """Write the workspace layer to `<workspace>/settings.toml` atomically, like the user file."""
    header = (
        "Alaya Workstation settings of this workspace ([wallet], [sync]); they override the\n"
        "user's settings. Alaya rewrites this file; comments are not kept."
    )
    return _save_layer(loaded._layer(Source.WORKSPACE), path, header)


def _save_layer(layer: _Layer, path: Path | None, header: str) -> Path:
    target = layer.path if path is None else path
    if target is None:
        raise ValueError(f"no file to save the {layer.source} settings to")
    if target == layer.path:
        keep_migrated_original(target, layer.migrated_from)
    write_settings_file(target, layer.values, header=header)
    return target


# ---- building the layers --------------------------------------------------------------------


def _validated_policy(policy: Policy, notices: list[str]) -> Policy:
    where = str(policy.path)
    locked = {key: validate_value(key, value, where=where) for key, value in policy.locked.items()}
    defaults = {}
    for key, value in policy.defaults.items():
        if key not in setting_keys():
            notices.append(f"{where}: unknown setting {key} in [defaults] is ignored")
            continue
        defaults[key] = validate_value(key, value, where=where)
    return replace(policy, locked=locked, defaults=defaults)


def _file_layer(source: Source, path: Path, *, what: str) -> _Layer:
    # A workspace that is no folder (yet) has no settings; opening it reports what is wrong.
    if source is Source.WORKSPACE and not path.parent.is_dir():
        return _Layer(source, path=path)
    read = read_settings_file(path, what=what, workspace_only=source is Source.WORKSPACE)
    if read is None:
        return _Layer(source, path=path)
    values, migrated_from = read
    return _Layer(source, values, dict.fromkeys(values, str(path)), path, migrated_from)


def _env_layer(env: Mapping[str, str], notices: list[str]) -> _Layer:
    values: dict[str, Any] = {}
    where: dict[str, str] = {}
    for name, raw in sorted(env.items()):
        upper = name.upper()
        if upper == HOME_ENV:
            key = "workspace.path"
        elif upper.startswith(ENV_PREFIX) and "__" in upper:
            key = upper.removeprefix(ENV_PREFIX).lower().replace("__", ".")
        else:
            continue  # not a setting (ALAYA_POLICY_FILE, other programs' variables)
        if key not in setting_keys():
            notices.append(f"environment variable {name}: unknown setting {key} is ignored")
            continue
        value = _cli_value(key, None if raw == "" and accepts(key, NoneType) else raw)
        value = validate_value(key, value, where=f"environment variable {name}")
        if key in values and values[key] != value:
            raise ValidationError(
                f"conflicts with {where[key]}; set only one", where=f"environment variable {name}"
            )
        values[key], where[key] = value, name
    return _Layer(Source.ENV, values, where)


def _cli_layer(workspace: Path | str | None, overrides: Mapping[str, Any]) -> _Layer:
    values: dict[str, Any] = {}
    where: dict[str, str] = {}
    items = [("workspace.path", workspace, "--workspace")] if workspace is not None else []
    items += [(key, value, f"command-line override {key}") for key, value in overrides.items()]
    for key, value, label in items:
        values[key] = validate_value(key, _cli_value(key, value), where=label)
        where[key] = label
    return _Layer(Source.CLI, values, where)


def _cli_value(key: str, value: Any) -> Any:
    # Relative paths typed in a shell mean "from here", so resolve them against the cwd now.
    if isinstance(value, str | Path) and accepts(key, Path):
        path = Path(value).expanduser()
        return path if path.is_absolute() else Path(os.path.abspath(path))
    return value


def _assemble(
    layers: tuple[_Layer, ...],
    policy: Policy | None,
    user_file: Path,
    load_notices: tuple[str, ...],
) -> LoadedSettings:
    effective: dict[str, Any] = {}
    origins = {key: Origin(Source.DEFAULT, "built-in") for key in setting_keys()}
    notices = list(load_notices)
    locked = policy.locked if policy else {}
    for layer in layers:
        for key, value in layer.values.items():
            if key in locked:
                if value != locked[key] and policy:
                    why = policy.explain(key)
                    notices.append(f"{layer.where[key]}: the value for {key} is ignored: {why}")
                continue
            effective[key] = value
            origins[key] = Origin(layer.source, layer.where[key])
    for key, value in locked.items():
        effective[key] = value
        origins[key] = Origin(Source.POLICY, str(policy.path if policy else ""))
    try:
        settings = Settings.model_validate(nest(effective))
    except pydantic.ValidationError as exc:  # only cross-field rules can fail here
        error = exc.errors()[0]
        key = ".".join(str(part) for part in error["loc"])
        raise ValidationError(error["msg"], where=key) from None
    user = next((layer for layer in layers if layer.source is Source.USER), None)
    workspace = next((layer for layer in layers if layer.source is Source.WORKSPACE), None)
    return LoadedSettings(
        settings, origins, policy, user_file, tuple(notices),
        migrated_from=user.migrated_from if user else None,
        workspace_file=workspace.path if workspace else None,
        _layers=layers, _load_notices=load_notices,
    )
