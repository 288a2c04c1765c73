"""TOML for the settings files: reading with errors a user can act on, writing atomically.

Reading uses the standard library's `tomllib`. Writing uses a small serializer instead of
a dependency (`tomli_w` is not installed): settings files are one level of tables holding
scalars and flat lists, plus sub-tables of scalars (`[shortcuts.bindings]`), which is all
`dumps` supports, and it refuses anything else rather than writing a file it cannot read back.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path, PurePath
from typing import Any

from app.core.errors import StorageError, ValidationError
from app.core.files import write_text_atomic

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_SHORT_ESCAPES = {
    '"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"
}


def read_toml(path: Path, *, what: str, missing_ok: bool = False) -> dict[str, Any] | None:
    """Parse `path`; every failure is a `ValidationError` that names the file (and line)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        if missing_ok:
            return None
        raise ValidationError(f"{what} not found", where=str(path)) from None
    except OSError as exc:
        message = f"cannot read {what}: {exc.strerror or exc}"
        raise ValidationError(message, where=str(path)) from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        message = f"{what} is not UTF-8 text (byte {exc.start})"
        raise ValidationError(message, where=str(path)) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # The decoder's message already ends with "(at line L, column C)".
        raise ValidationError(f"{what} is not valid TOML: {exc}", where=str(path)) from None


def dumps(data: Mapping[str, Any], *, header: str = "") -> str:
    """Serialize top-level scalars, then one `[table]` per nested mapping, each followed by
    its `[table.sub]` sub-tables of scalars."""
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    tables = {k: v for k, v in data.items() if isinstance(v, Mapping)}
    for key, value in data.items():
        if key not in tables:
            lines.append(f"{_key(key)} = {_value(value)}")
    for name, table in tables.items():
        subs = {k: v for k, v in table.items() if isinstance(v, Mapping)}
        if len(subs) < len(table) or not subs:  # a table of only sub-tables needs no header
            lines += ["", f"[{_key(name)}]"]
            lines += [f"{_key(k)} = {_value(v)}" for k, v in table.items() if k not in subs]
        for sub, values in subs.items():
            lines += ["", f"[{_key(name)}.{_key(sub)}]"]
            for key, value in values.items():
                if isinstance(value, Mapping):
                    raise TypeError(f"nested table {name}.{sub}.{key} is not supported")
                lines.append(f"{_key(key)} = {_value(value)}")
    return "\n".join(lines) + "\n"


def write_atomic(path: Path, text: str) -> None:
    """Replace `path` with `text` so that a crash leaves either the old or the new file, private
    to the user (0600): settings can hold a proxy URL with credentials."""
    try:
        write_text_atomic(path, text, private=True)
    except OSError as exc:
        raise StorageError(f"cannot write {path}: {exc.strerror or exc}") from exc


def _key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _string(key)


def _value(value: Any) -> str:
    if isinstance(value, bool):  # before int: bool is an int subclass
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str | PurePath):
        return _string(str(value))
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    if value is None:
        raise TypeError("TOML has no null; omit the key instead")
    if hasattr(value, "unicode_string"):  # pydantic URL types
        return _string(str(value))
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def _string(text: str) -> str:
    out = []
    for char in text:
        if char in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'
