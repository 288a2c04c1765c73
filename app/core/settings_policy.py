"""The administrator policy file: where it lives, what it says, and how a lock is explained.

A policy is TOML deployed by IT on managed desktops:

    [policy]
    reason = "Managed by ACME IT"          # shown to the user next to every locked value
    [locked.intake]                        # sets the value and forbids changing it
    strip_private_metadata = true
    [defaults.general]                     # sets a default the user may still change
    theme = "dark"

This module knows the file's shape only; `app.core.settings` checks its keys and values
against the settings schema, so a policy is validated exactly like every other layer.

Location: the site file below if it exists, else the file named by `ALAYA_POLICY_FILE`,
else none. The site file wins because a user can set environment variables: if the
variable could replace a deployed policy, any user could unlock anything by pointing it
at an empty file. On Linux the site path is fixed (`/etc/xdg/alaya/policy.toml`) rather
than taken from `platformdirs`, which honours `XDG_CONFIG_DIRS`, also user-controlled.
A policy that exists but cannot be read or parsed is an error, never silently skipped.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from app.core.errors import ValidationError
from app.core.settings_toml import read_toml

POLICY_ENV = "ALAYA_POLICY_FILE"
_TABLES = ("policy", "locked", "defaults")


@dataclass(frozen=True)
class Policy:
    """A parsed policy. `locked` and `defaults` map dotted keys ("intake.copy_mode") to values."""

    path: Path
    reason: str | None = None
    locked: Mapping[str, Any] = field(default_factory=dict)
    defaults: Mapping[str, Any] = field(default_factory=dict)

    def explain(self, key: str) -> str:
        """One sentence for the user: which file locks `key`, and the administrator's reason."""
        text = f"{key} is locked by the administrator policy {self.path}"
        return f"{text} ({self.reason})" if self.reason else text


def site_policy_path() -> Path:
    """Where IT deploys the machine-wide policy on this platform."""
    if sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return Path("/etc/xdg/alaya/policy.toml")
    return Path(platformdirs.site_config_dir("alaya", appauthor=False)) / "policy.toml"


def find_policy_file(
    env: Mapping[str, str], *, site_path: Path | None = None
) -> tuple[Path | None, str | None]:
    """The policy file to apply, and a notice when `ALAYA_POLICY_FILE` was overruled."""
    site = site_path if site_path is not None else site_policy_path()
    named = env.get(POLICY_ENV) or None
    try:
        site.lstat()  # not exists(): a policy we may not look at must not count as absent
        site_exists = True
    except (FileNotFoundError, NotADirectoryError):
        site_exists = False
    except OSError as exc:
        message = f"cannot check policy file: {exc.strerror or exc}"
        raise ValidationError(message, where=str(site)) from exc
    if site_exists:
        notice = None
        if named and Path(named) != site:
            notice = f"{POLICY_ENV}={named} is ignored: the site policy {site} applies"
        return site, notice
    return (Path(named) if named else None), None


def read_policy(path: Path) -> Policy:
    """Parse the policy file's structure; errors name the file and the offending table."""
    data = read_toml(path, what="policy file")
    assert data is not None  # missing_ok is False
    unknown = sorted(set(data) - set(_TABLES))
    if unknown:
        raise ValidationError(
            f"unknown table [{unknown[0]}] "
            "(expected [policy], [locked.<section>], [defaults.<section>])",
            where=str(path),
        )
    header = _table(data, "policy", path)
    extra = sorted(set(header) - {"reason"})
    if extra:
        message = f"unknown key policy.{extra[0]} (only 'reason' is allowed)"
        raise ValidationError(message, where=str(path))
    reason = header.get("reason")
    if reason is not None and not isinstance(reason, str):
        raise ValidationError("policy.reason must be a string", where=str(path))
    locked = _sections(data, "locked", path)
    defaults = _sections(data, "defaults", path)
    both = sorted(set(locked) & set(defaults))
    if both:
        message = f"{both[0]} is in both [locked] and [defaults]; keep one"
        raise ValidationError(message, where=str(path))
    return Policy(path=path, reason=reason or None, locked=locked, defaults=defaults)


def _table(data: Mapping[str, Any], name: str, path: Path) -> Mapping[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, Mapping):
        raise ValidationError(f"{name} must be a table", where=str(path))
    return value


def _sections(data: Mapping[str, Any], name: str, path: Path) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for section, values in _table(data, name, path).items():
        if not isinstance(values, Mapping):
            message = f"{name}.{section} must be a table [{name}.{section}]"
            raise ValidationError(message, where=str(path))
        for key, value in values.items():
            flat[f"{section}.{key}"] = value
    return flat
