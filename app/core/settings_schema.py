"""The settings schema: sections, dotted keys, per-key validation, and file migrations.

Versioning: bump `SCHEMA_VERSION` and register a `@migration` when a key is renamed,
moved, removed, or changes meaning or unit. Adding a key with a default needs no bump.
Files from a newer version are refused, not guessed at.
"""

from __future__ import annotations

import copy
import difflib
import re
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import platformdirs
import pydantic
from pydantic import AfterValidator, AnyUrl, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic import HttpUrl, TypeAdapter, UrlConstraints

from app.core.errors import ValidationError

SCHEMA_VERSION = 1


def default_workspace() -> Path:
    return Path(platformdirs.user_data_dir("alaya", appauthor=False)) / "workspace"


def _not_bool(value: Any) -> Any:
    # pydantic's lax mode reads `true` as 1; in a settings file that is always a mistake.
    if isinstance(value, bool):
        raise ValueError("must be a whole number, not true/false")
    return value


def _language_tag(tag: str) -> str:
    if not re.fullmatch(r"[a-z]{2,3}([_-][A-Za-z0-9]{2,8})*", tag):
        raise ValueError("must be a language tag such as 'en' or 'pt-BR'")
    return tag


def _absolute(path: Path) -> Path:
    path = path.expanduser()
    if not path.is_absolute():
        raise ValueError("must be an absolute path (a relative one depends on where Alaya starts)")
    return path


Int = Annotated[int, BeforeValidator(_not_bool)]
LanguageTag = Annotated[str, AfterValidator(_language_tag)]
AbsPath = Annotated[Path, AfterValidator(_absolute)]
ProxyUrl = Annotated[AnyUrl, UrlConstraints(allowed_schemes=["http", "https", "socks5", "socks5h"])]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GeneralSettings(_Section):
    language: LanguageTag | None = Field(
        None, description="UI language (BCP 47, e.g. 'pt-BR'); unset follows the system"
    )
    theme: Literal["light", "dark", "system"] = Field("system", description="Colour theme")


class WorkspaceSettings(_Section):
    path: AbsPath = Field(
        default_factory=default_workspace, description="Folder holding the database and media"
    )


class StoreSettings(_Section):
    busy_timeout_ms: Int = Field(
        5000, ge=0, le=600_000, description="How long a write waits for a locked database"
    )
    backup_before_migration: bool = Field(
        True, description="Copy the database before upgrading its schema"
    )


class IntakeSettings(_Section):
    copy_mode: Literal["copy", "reference"] = Field(
        "copy", description="Copy imported files into the workspace, or reference them in place"
    )
    strip_private_metadata: bool = Field(
        True, description="Remove GPS, camera serials and similar metadata on import"
    )
    near_duplicate_threshold: Int = Field(
        6, ge=0, le=64, description="Perceptual-hash distance in bits counted as a near-duplicate"
    )
    # Pillow's own decompression-bomb limit: beyond it an image is refused, not decoded.
    max_image_pixels: Int = Field(
        178_956_970, ge=1, description="Largest image accepted, in pixels"
    )
    workers: Int | None = Field(
        None, ge=1, le=1024, description="Parallel import workers; unset uses the CPU count"
    )


class HistorySettings(_Section):
    undo_memory_mb: Int = Field(
        256, ge=1, le=65_536, description="Memory for undo steps before the oldest are dropped"
    )


class SyncSettings(_Section):
    coordinator_url: HttpUrl | None = Field(
        None, description="Coordinator service to sync with; unset works offline"
    )
    proxy: ProxyUrl | None = Field(
        None, description="HTTP(S)/SOCKS proxy; unset uses the system's proxy settings"
    )
    offline_tasks: Int = Field(
        20, ge=0, le=10_000, description="Leased tasks kept in hand for offline work (0: lease none)"
    )
    lease_hours: float = Field(
        8.0, ge=0.1, le=168.0, allow_inf_nan=False, description="How long each lease lasts, in hours"
    )
    batch_size: Int = Field(100, ge=1, le=500, description="Submissions sent per request")
    backoff_base_s: float = Field(
        1.0, gt=0, le=3600, allow_inf_nan=False, description="First retry waits up to this long, in seconds"
    )
    backoff_cap_s: float = Field(
        300.0, gt=0, le=86_400, allow_inf_nan=False, description="Longest wait between retries, in seconds"
    )
    heartbeat_s: Int = Field(
        300, ge=5, le=86_400, description="How often an open leased task renews its lease, in seconds"
    )
    poll_s: Int = Field(
        60, ge=1, le=86_400, description="How often the background syncer looks for work when idle"
    )
    timeout_s: float = Field(
        30.0, gt=0, le=600, allow_inf_nan=False, description="How long one request may take, in seconds"
    )


class PrelabelSettings(_Section):
    # A free name: app.models checks it against the pre-labelers actually installed.
    model: str = Field("grabcut", min_length=1, description="Pre-labeler proposing shapes")
    checkpoint: AbsPath | None = Field(
        None, description="Model weights file; unset uses the pre-labeler's default"
    )
    device: Literal["auto", "cpu", "cuda", "mps"] = Field(
        "auto", description="Where the pre-labeler runs; auto picks a GPU when one is usable"
    )
    accept_as: Literal["polygon", "mask", "box"] = Field(
        "polygon", description="Shape an accepted interactive proposal becomes (Shift+Return: mask)"
    )
    polygon_tolerance: float = Field(
        0.5, ge=0.0, le=50.0, allow_inf_nan=False,
        description="Polygon simplification of accepted proposals, in pixels (0: exact outline)",
    )
    prefetch_ahead: Int = Field(
        3, ge=0, le=50, description="Next tasks whose embeddings are computed in the background (0: off)"
    )
    cache_disk_mb: Int = Field(
        2048, ge=64, le=1_000_000, description="Disk space for cached image embeddings (oldest dropped)"
    )
    verify_only_threshold: float = Field(
        0.9, ge=0.0, le=1.0, allow_inf_nan=False,
        description="Share of a class's proposals accepted unchanged that makes it verify-only",
    )
    verify_only_min_proposals: Int = Field(
        20, ge=1, le=1_000_000, description="Decided proposals a class needs before it can be verify-only"
    )


class WalletSettings(_Section):
    # A free name: app.wallet.chains checks it against resources/wallet/chains.yaml.
    chain: str = Field("arbitrum-sepolia", min_length=1, max_length=40,
                       description="Chain the wallet uses in this workspace (see the chain list)")
    auto_lock_minutes: Int = Field(
        15, ge=0, le=1440, description="Lock the wallet after this many idle minutes (0: never)"
    )
    keystore_dir: AbsPath | None = Field(
        None, description="Folder of the wallet's keystore files; unset uses <workspace>/wallet"
    )
    use_keychain: bool = Field(
        True, description="Keep the keystore password in the OS keychain when a real one exists"
    )


def _shortcut_bindings(bindings: dict[str, str]) -> dict[str, str]:
    # An empty key sequence is allowed: it removes the action's default shortcut.
    for action_id in bindings:
        if not action_id.strip():
            raise ValueError("an action id must not be empty")
        if action_id != action_id.strip() or any(c.isspace() for c in action_id):
            raise ValueError(f"action id {action_id!r} must not contain spaces")
    return {action_id: sequence.strip() for action_id, sequence in bindings.items()}


class ShortcutSettings(_Section):
    bindings: Annotated[dict[str, str], AfterValidator(_shortcut_bindings)] = Field(
        default_factory=dict,
        description="Keyboard shortcut overrides: action id -> key sequence ('' removes it)",
    )


class Settings(BaseModel):
    """Every setting, by section. Immutable: a change produces a new instance."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: int = SCHEMA_VERSION
    general: GeneralSettings = Field(default_factory=GeneralSettings)
    workspace: WorkspaceSettings = Field(default_factory=WorkspaceSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    intake: IntakeSettings = Field(default_factory=IntakeSettings)
    history: HistorySettings = Field(default_factory=HistorySettings)
    sync: SyncSettings = Field(default_factory=SyncSettings)
    prelabel: PrelabelSettings = Field(default_factory=PrelabelSettings)
    shortcuts: ShortcutSettings = Field(default_factory=ShortcutSettings)
    wallet: WalletSettings = Field(default_factory=WalletSettings)


# ---- dotted keys ("intake.copy_mode") ------------------------------------------------------


@cache
def setting_keys() -> tuple[str, ...]:
    """Every settable key, in schema order."""
    keys = []
    for section, info in Settings.model_fields.items():
        if isinstance(info.annotation, type) and issubclass(info.annotation, _Section):
            keys.extend(f"{section}.{name}" for name in info.annotation.model_fields)
    return tuple(keys)


def field_info(key: str) -> pydantic.fields.FieldInfo:
    """The pydantic field behind `key` (type, bounds, description for the settings dialog)."""
    check_key(key)
    section, name = key.split(".")
    return Settings.model_fields[section].annotation.model_fields[name]  # type: ignore[union-attr]


def accepts(key: str, tp: Any) -> bool:
    """Whether `key`'s type includes `tp` (e.g. `Path`, or `NoneType` for optional keys)."""
    return tp in _base_types(field_info(key).annotation)


def _base_types(tp: Any) -> set[Any]:
    origin = get_origin(tp)
    if origin is Annotated:
        return _base_types(get_args(tp)[0])
    if origin in (Union, UnionType):
        return set().union(*(_base_types(arg) for arg in get_args(tp)))
    return {tp}


@cache
def _adapter(key: str) -> TypeAdapter[Any]:
    info = field_info(key)
    return TypeAdapter(Annotated[info.annotation, info])


def check_key(key: str, *, where: str = "") -> None:
    """Raise `ValidationError` naming `key` (and the likely intended key) if it does not exist."""
    if key in setting_keys():
        return
    close = difflib.get_close_matches(key, setting_keys(), n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    raise ValidationError(f"unknown setting{hint}", where=f"{where}: {key}" if where else key)


def validate_value(key: str, value: Any, *, where: str = "") -> Any:
    """`value` converted to `key`'s type, or a `ValidationError` naming origin and key."""
    check_key(key, where=where)
    try:
        return _adapter(key).validate_python(value)
    except pydantic.ValidationError as exc:
        message = _message(key, exc.errors()[0])
        raise ValidationError(message, where=f"{where}: {key}" if where else key) from None


def _message(key: str, error: Mapping[str, Any]) -> str:
    text = error["msg"]
    if error["type"] in ("greater_than_equal", "less_than_equal"):
        metadata = field_info(key).metadata
        low = next((m.ge for m in metadata if hasattr(m, "ge")), None)
        high = next((m.le for m in metadata if hasattr(m, "le")), None)
        if low is not None and high is not None:
            text = f"must be between {low} and {high}"
    text = text.removeprefix("Value error, ").replace("Input should be", "must be", 1)
    # Never echo a URL: a proxy URL may carry a password.
    types = _base_types(field_info(key).annotation)
    is_url = any(isinstance(t, type) and issubclass(t, AnyUrl) for t in types)
    return text if is_url else f"{text} (got {error['input']!r})"


def nest(flat: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """{"intake.copy_mode": v} -> {"intake": {"copy_mode": v}}."""
    nested: dict[str, dict[str, Any]] = {}
    for key, value in flat.items():
        section, name = key.split(".")
        nested.setdefault(section, {})[name] = value
    return nested


# ---- migrations of the user file ------------------------------------------------------------

Migration = Callable[[dict[str, Any]], dict[str, Any]]
_MIGRATIONS: dict[int, Migration] = {}


def migration(from_version: int) -> Callable[[Migration], Migration]:
    """Register the step that turns a version-`from_version` file into the next version."""

    def register(step: Migration) -> Migration:
        if from_version in _MIGRATIONS:
            raise RuntimeError(f"two settings migrations from version {from_version}")
        _MIGRATIONS[from_version] = step
        return step

    return register


def migrate(data: Mapping[str, Any], *, where: str) -> tuple[dict[str, Any], int]:
    """The data upgraded to `SCHEMA_VERSION` one step at a time, and the version it had."""
    data = copy.deepcopy(dict(data))
    version = data.pop("schema_version", 0)  # files from before versioning have none
    if type(version) is not int or version < 0:
        message = f"must be a whole number (got {version!r})"
        raise ValidationError(message, where=f"{where}: schema_version")
    if version > SCHEMA_VERSION:
        raise ValidationError(
            f"written by a newer Alaya (settings version {version}; this one reads up to "
            f"{SCHEMA_VERSION}). Upgrade Alaya, or move the file away to start from defaults.",
            where=where,
        )
    for step in range(version, SCHEMA_VERSION):
        try:
            data = _MIGRATIONS[step](data)
        except ValueError as exc:
            raise ValidationError(str(exc), where=where) from None
    return data, version


def _move(
    data: dict[str, Any], old: str, new: str, convert: Callable[[Any], Any] = lambda v: v
) -> None:
    # A table under the old name is already the new layout (e.g. [workspace] without a
    # schema_version): leave it.
    if old not in data or isinstance(data[old], dict):
        return
    value = data.pop(old)
    section, name = new.split(".")
    table = data.setdefault(section, {})
    if not isinstance(table, dict) or name in table:
        raise ValueError(f"both {old} (old layout) and {new} are set; keep only {new}")
    table[name] = convert(value)


@migration(from_version=0)
def _v0_to_v1(data: dict[str, Any]) -> dict[str, Any]:
    """v0 kept keys at top level, some under other names, and the busy timeout in seconds."""
    _move(data, "workspace", "workspace.path")
    _move(data, "theme", "general.theme")
    _move(data, "language", "general.language")
    _move(data, "copy_mode", "intake.copy_mode")
    _move(data, "strip_exif", "intake.strip_private_metadata")
    _move(data, "busy_timeout", "store.busy_timeout_ms", _seconds_to_ms)
    return data


def _seconds_to_ms(seconds: Any) -> Any:
    if isinstance(seconds, int | float) and not isinstance(seconds, bool):
        return round(seconds * 1000)
    return seconds  # not a number: validation reports it under the new key
