"""Label schema: the classes a project labels, their colours, hotkeys and attributes.

A schema is a versioned file (YAML or JSON) shared by everyone on a project; its content hash
goes with every submission, so the coordinator knows which schema a label was made under.
Errors name the file and the field ("schema.yaml: classes[2].colour: not a #rrggbb colour")
because the people who write these files are not the people who wrote this code.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, get_args

import pydantic
import yaml
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from app.core.errors import NotFoundError, ValidationError
from app.core.files import write_text_atomic

ShapeKind = Literal["box", "rotated_box", "polygon", "polyline", "points", "mask", "tag"]
SHAPE_KINDS: tuple[str, ...] = get_args(ShapeKind)
AttributeType = Literal["bool", "enum", "text", "number"]
AttrValue = bool | int | float | str

_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_HOTKEY = re.compile(r"^[1-9a-z]$")
_FORMATS = {".yaml": "yaml", ".yml": "yaml", ".json": "json"}


def _problem(message: str, path: str = "") -> PydanticCustomError:
    # `path` locates the problem below the model that raised it (e.g. "classes[3].name");
    # the error formatter appends it to pydantic's own location.
    return PydanticCustomError("schema", "{message}", {"message": message, "path": path})


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class AttributeSpec(_Frozen):
    """One attribute an annotation may carry, e.g. `occluded: bool` or `colour: enum`."""

    name: str = Field(min_length=1)
    type: AttributeType
    values: tuple[str, ...] = ()  # allowed values of an enum
    min: float | None = None
    max: float | None = None
    required: bool = False
    default: AttrValue | None = None
    description: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> AttributeSpec:
        if self.type == "enum":
            if not self.values:
                raise _problem("an enum needs at least one value", "values")
            if len(set(self.values)) != len(self.values):
                raise _problem("enum values must be unique", "values")
        elif self.values:
            raise _problem("only an enum has values", "values")
        if self.type != "number" and (self.min is not None or self.max is not None):
            raise _problem("only a number has min and max", "min")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise _problem(f"min {self.min:g} is above max {self.max:g}", "min")
        if self.default is not None and (problem := self.check(self.default)):
            raise _problem(f"default {self.default!r}: {problem}", "default")
        return self

    def check(self, value: object) -> str | None:
        """Why `value` is not valid for this attribute, or None when it is."""
        if self.type == "bool":
            ok = isinstance(value, bool)
            return None if ok else f"expected true or false, got {_kind(value)}"
        if self.type in ("text", "enum") and not isinstance(value, str):
            return f"expected a string, got {_kind(value)}"
        if self.type == "enum" and value not in self.values:
            return f"{value!r} is not one of: {', '.join(self.values)}"
        if self.type == "number":
            return _check_number(value, self.min, self.max)
        return None


class LabelClass(_Frozen):
    """A class annotators pick, with how it looks and which shapes it may take."""

    name: str = Field(min_length=1)
    colour: str = Field(validation_alias=AliasChoices("colour", "color"))
    hotkey: str | None = None
    allowed_kinds: tuple[ShapeKind, ...] = SHAPE_KINDS
    attributes: tuple[AttributeSpec, ...] = ()
    description: str = ""

    @field_validator("colour", mode="before")
    @classmethod
    def _colour(cls, value: object) -> str:
        if not isinstance(value, str) or not _COLOUR.match(value):
            hint = " (in YAML, quote it: '#1f77b4')" if value is None else ""
            raise _problem("not a #rrggbb colour" + hint)
        return value.lower()

    @field_validator("hotkey", mode="before")
    @classmethod
    def _hotkey(cls, value: object) -> str | None:
        if value is None:
            return None
        text = str(value).lower() if isinstance(value, (str, int)) else ""
        if isinstance(value, bool) or not _HOTKEY.match(text):
            raise _problem("a hotkey is one digit 1-9 or one letter")
        return text

    @model_validator(mode="after")
    def _consistent(self) -> LabelClass:
        if not self.allowed_kinds:
            raise _problem("at least one shape kind must be allowed", "allowed_kinds")
        _check_unique([a.name for a in self.attributes], "attributes", "attribute")
        return self


class LabelSchema(_Frozen):
    """A project's label schema; `attributes` here apply to every class."""

    name: str = Field(min_length=1)
    version: int = Field(ge=1)
    classes: tuple[LabelClass, ...] = Field(min_length=1)
    attributes: tuple[AttributeSpec, ...] = ()
    description: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> LabelSchema:
        _check_unique([c.name for c in self.classes], "classes", "class name")
        _check_unique([c.hotkey for c in self.classes], "classes", "hotkey", field="hotkey")
        _check_unique([a.name for a in self.attributes], "attributes", "attribute")
        shared = {a.name for a in self.attributes}
        for index, cls in enumerate(self.classes):
            for j, spec in enumerate(cls.attributes):
                if spec.name in shared:
                    raise _problem(f"attribute {spec.name!r} is already defined for all classes",
                                   f"classes[{index}].attributes[{j}].name")
        return self

    # -- lookups -------------------------------------------------------------------------

    @property
    def class_names(self) -> list[str]:
        return [c.name for c in self.classes]

    def get_class(self, label: str) -> LabelClass:
        for cls in self.classes:
            if cls.name == label:
                return cls
        known = ", ".join(self.class_names)
        raise ValidationError(f"unknown label {label!r} (known: {known})", where="label")

    def class_for_hotkey(self, key: str) -> LabelClass | None:
        return next((c for c in self.classes if c.hotkey == key.lower()), None)

    def attribute_specs(self, label: str) -> tuple[AttributeSpec, ...]:
        """The attributes an annotation of `label` may carry: global ones, then the class's."""
        return self.attributes + self.get_class(label).attributes

    def content_hash(self) -> str:
        """sha256 of the canonical JSON; equal for equal content however the file is laid out."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True,
                               separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    # -- checking annotations ------------------------------------------------------------

    def validate_annotation(self, label: str, kind: str, attributes: Mapping[str, object]) -> None:
        """Raise ValidationError naming the first problem; call `apply_defaults` first."""
        cls = self.get_class(label)
        if kind not in cls.allowed_kinds:
            allowed = ", ".join(cls.allowed_kinds)
            raise ValidationError(
                f"shape kind {kind!r} is not allowed for class {label!r} (allowed: {allowed})",
                where="shape",
            )
        specs = {spec.name: spec for spec in self.attribute_specs(label)}
        for name, value in attributes.items():
            spec = specs.get(name)
            if spec is None:
                raise ValidationError(f"unknown attribute for class {label!r}",
                                      where=f"attributes.{name}")
            if problem := spec.check(value):
                raise ValidationError(problem, where=f"attributes.{name}")
        for spec in specs.values():
            if spec.required and spec.name not in attributes:
                raise ValidationError("required attribute is missing",
                                      where=f"attributes.{spec.name}")

    def apply_defaults(
        self, label: str, attributes: Mapping[str, AttrValue]
    ) -> dict[str, AttrValue]:
        """A copy of `attributes` with each absent attribute that has a default filled in."""
        filled = dict(attributes)
        for spec in self.attribute_specs(label):
            if spec.name not in filled and spec.default is not None:
                filled[spec.name] = spec.default
        return filled


# -- loading and saving ------------------------------------------------------------------


def parse_schema(data: object, source: str = "schema") -> LabelSchema:
    """Validate already-parsed data; errors read "<source>: <field>: <problem>"."""
    if not isinstance(data, Mapping):
        raise ValidationError("expected a mapping at the top level", where=source)
    try:
        return LabelSchema.model_validate(data)
    except pydantic.ValidationError as exc:
        problems = [_describe(error) for error in exc.errors()]
        raise ValidationError("; ".join(problems), where=source) from None


def load_schema(path: str | os.PathLike[str]) -> LabelSchema:
    """Read a schema from .yaml/.yml or .json (chosen by extension)."""
    path = Path(path)
    fmt = _format_of(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFoundError(f"{path}: no such schema file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(f"cannot read: {exc}", where=str(path)) from None
    return parse_schema(_parse_text(text, fmt, str(path)), str(path))


def dump_schema(schema: LabelSchema, path: str | os.PathLike[str]) -> None:
    """Write the schema as YAML or JSON (by extension), atomically."""
    path = Path(path)
    data = schema.model_dump(mode="json")
    if _format_of(path) == "json":
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    else:
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    write_text_atomic(path, text)  # a crash leaves the old file or the new, never half


def _format_of(path: Path) -> str:
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValidationError(
            f"unsupported schema format {path.suffix or '(none)'!r} (use .yaml, .yml or .json)",
            where=str(path),
        )
    return fmt


def _parse_text(text: str, fmt: str, source: str) -> Any:
    try:
        if fmt == "json":
            return json.loads(text)
        return yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(f"line {exc.lineno}, column {exc.colno}: {exc.msg}",
                              where=source) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        at = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ValidationError(f"{at}{problem}", where=source) from None


def _describe(error: Mapping[str, Any]) -> str:
    """One pydantic error as "classes[2].colour: not a #rrggbb colour"."""
    parts: list[str] = []
    for item in error["loc"]:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(f".{item}" if parts else str(item))
    ctx = error.get("ctx") or {}
    if ctx.get("path"):
        sub = str(ctx["path"])
        parts.append(sub if not parts or sub.startswith("[") else f".{sub}")
    location = "".join(parts)
    message = _MESSAGES.get(error["type"], error["msg"])
    if error["type"] == "too_short":  # pydantic says "Tuple", which means nothing to users
        count = ctx.get("min_length", 1)
        message = f"needs at least {count} item{'s' if count != 1 else ''}"
    if error["type"] == "string_type" and isinstance(error.get("input"), bool):
        message += " (YAML reads a bare yes/no/on/off as true/false: quote it)"
    return f"{location}: {message}" if location else message


_MESSAGES = {"missing": "required field is missing", "extra_forbidden": "unknown field"}


def _check_unique(names: list[str | None], where: str, what: str, field: str = "name") -> None:
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name is None:
            continue
        if name in seen:
            raise _problem(f"duplicate {what} {name!r}", f"{where}[{index}].{field}")
        seen.add(name)


def _check_number(value: object, low: float | None, high: float | None) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"expected a number, got {_kind(value)}"
    if not math.isfinite(value):
        return "expected a finite number"
    if low is not None and value < low:
        return f"{value:g} is below the minimum {low:g}"
    if high is not None and value > high:
        return f"{value:g} is above the maximum {high:g}"
    return None


def _kind(value: object) -> str:
    return {bool: "true/false", int: "a number", float: "a number", str: "a string"}.get(
        type(value), type(value).__name__
    )
