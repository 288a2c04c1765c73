"""Reading the user and workspace settings files into validated dotted keys.

Both files share one format (`schema_version` plus `[section]` tables) and one migration
path. The workspace file, `<workspace>/settings.toml`, may hold only the sections that
belong to a workspace (`WORKSPACE_SECTIONS`): the wallet's chain and keystore, and the
coordinator a workspace syncs with. Everything else (theme, language, the workspace path
itself, which must be known before the workspace file can be found) stays per user.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
import shutil
from pathlib import Path
from typing import Any

from app.core.errors import ValidationError
from app.core.settings_schema import (
    SCHEMA_VERSION,
    check_key,
    default_workspace,
    migrate,
    nest,
    setting_keys,
    validate_value,
)
from app.core.settings_toml import dumps, read_toml, write_atomic

WORKSPACE_SECTIONS = ("sync", "wallet")
WORKSPACE_FILE_NAME = "settings.toml"


def workspace_settings_file(workspace: Path) -> Path:
    return Path(workspace) / WORKSPACE_FILE_NAME


def selected_workspace(layers: Sequence[Mapping[str, Any]], locked: Mapping[str, Any]) -> Path:
    """The workspace that the layers without it select (values by dotted key, lowest first;
    a lock wins, as everywhere)."""
    for values in (locked, *reversed(layers)):
        if "workspace.path" in values:
            return Path(values["workspace.path"])
    return default_workspace()


def check_workspace_key(key: str, *, where: str = "") -> None:
    """Raise `ValidationError` naming `key` unless a workspace file may set it."""
    check_key(key, where=where)
    if key.split(".")[0] not in WORKSPACE_SECTIONS:
        allowed = ", ".join(f"[{section}]" for section in WORKSPACE_SECTIONS)
        message = f"is a per-user setting; a workspace settings file may set only {allowed}"
        raise ValidationError(message, where=f"{where}: {key}" if where else key)


def read_settings_file(
    path: Path, *, what: str, workspace_only: bool = False
) -> tuple[dict[str, Any], int | None] | None:
    """The file's values by dotted key and the version it was migrated from (None if current),
    or None when the file does not exist. `workspace_only`: only `WORKSPACE_SECTIONS` allowed.
    Every error is a `ValidationError` naming the file and the key."""
    data = read_toml(path, what=what, missing_ok=True)
    if data is None:
        return None
    data, version = migrate(data, where=str(path))
    values = {}
    for section, table in data.items():
        if not isinstance(table, Mapping):
            if section in {key.split(".")[0] for key in setting_keys()}:
                raise ValidationError(f"must be a table [{section}]", where=f"{path}: {section}")
            check_key(section, where=str(path))  # a stray top-level key: unknown, with a hint
        for name, value in table.items():
            key = f"{section}.{name}"
            if workspace_only:
                check_workspace_key(key, where=str(path))
            values[key] = validate_value(key, value, where=str(path))
    return values, (version if version < SCHEMA_VERSION else None)


def keep_migrated_original(path: Path, migrated_from: int | None) -> None:
    """Copy a file migrated from an older version to `<name>.v<N>.bak` before it is rewritten,
    since older Alaya versions cannot read the new layout."""
    if migrated_from is not None and path.exists():
        backup = path.with_name(f"{path.name}.v{migrated_from}.bak")
        if not backup.exists():
            shutil.copy2(path, backup)


def write_settings_file(path: Path, values: Mapping[str, Any], *, header: str) -> None:
    """Write `values` atomically, in schema order; unset optional keys (None) are omitted:
    TOML has no null."""
    data: dict[str, Any] = {"schema_version": SCHEMA_VERSION}
    data.update(nest({key: values[key] for key in setting_keys() if values.get(key) is not None}))
    write_atomic(path, dumps(data, header=header))
