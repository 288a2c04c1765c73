"""Checks on a data request's label schema and on gold labels, without the workstation's ontology.

The coordinator may not import `app.annotators` (rule 12), so it checks only what the service
itself relies on — the class names, the shape kinds each class allows, a bounded size — in the
layout of `app.annotators.ontology.LabelSchema` (`name`, `version`, `classes[].name`,
`classes[].allowed_kinds`). Finer rules (colours, hotkeys, attribute types) stay with the
workstation, which edits and enforces the schema.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, get_args

from app.sync import wire_shapes
from app.sync.wire import Labels, Modality
from coordinator.errors import ApiError

MAX_SCHEMA_BYTES = 256 << 10  # as canonical JSON; the spec is copied into every task sent out
MAX_CLASSES = 1000
# the shape kinds of the wire contract, in the order of `wire_shapes.Shape`
SHAPE_KINDS: tuple[str, ...] = tuple(
    model.model_fields["kind"].default for model in get_args(get_args(wire_shapes.Shape)[0]))

Classes = dict[str, frozenset[str]]  # class name -> the shape kinds it allows


def invalid(where: str, why: str) -> ApiError:
    """A 422 in the same words as the service's other validation errors: "field: problem"."""
    return ApiError(422, "invalid_input", f"{where}: {why}")


def check_schema(schema: Mapping[str, Any]) -> Classes:
    """The schema's classes and their allowed kinds, or a 422 naming the faulty field."""
    try:  # non-finite numbers would not survive PostgreSQL's JSON type, nor a client's parser
        size = len(json.dumps(schema, allow_nan=False, separators=(",", ":")))
    except (TypeError, ValueError, RecursionError):
        raise invalid("label_schema", "must be plain JSON with finite numbers") from None
    if size > MAX_SCHEMA_BYTES:
        raise invalid("label_schema", f"is {size} bytes as JSON; the limit is {MAX_SCHEMA_BYTES}")
    name = schema.get("name")
    if not isinstance(name, str) or not name.strip():
        raise invalid("label_schema.name", "required: a non-empty string")
    version = schema.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise invalid("label_schema.version", "required: an integer of at least 1")
    classes = schema.get("classes")
    if not isinstance(classes, list) or not classes:
        raise invalid("label_schema.classes", "needs at least one class")
    if len(classes) > MAX_CLASSES:
        raise invalid("label_schema.classes", f"has {len(classes)} classes; the limit is {MAX_CLASSES}")
    found: Classes = {}
    for index, entry in enumerate(classes):
        where = f"label_schema.classes[{index}]"
        if not isinstance(entry, Mapping):
            raise invalid(where, "expected an object")
        label = entry.get("name")
        if not isinstance(label, str) or not label.strip() or len(label) > wire_shapes.MAX_LABEL:
            raise invalid(f"{where}.name", f"required: a non-empty string of at most "
                                           f"{wire_shapes.MAX_LABEL} characters")
        if label in found:
            raise invalid(f"{where}.name", f"duplicate class name {label!r}")
        found[label] = _kinds(entry.get("allowed_kinds", SHAPE_KINDS), f"{where}.allowed_kinds")
    return found


def _kinds(value: Any, where: str) -> frozenset[str]:
    if not isinstance(value, (list, tuple)) or not value:
        raise invalid(where, "needs at least one shape kind")
    unknown = [kind for kind in value if kind not in SHAPE_KINDS]
    if unknown:
        raise invalid(where, f"unknown shape kind {unknown[0]!r} (known: {', '.join(SHAPE_KINDS)})")
    return frozenset(value)


def family(modality: Modality, classes: Classes) -> str:
    """The task family reputations are kept per, e.g. "image:box+polygon"; audio labels segments."""
    if modality is Modality.audio:
        return "audio:segment"
    kinds = sorted(set().union(*classes.values()))
    return f"{modality.value}:{'+'.join(kinds)}"


def check_labels_in_schema(gold: Labels, classes: Classes, where: str = "gold") -> None:
    """Labels (a honeypot's truth, an expert's decision) may use only the schema's classes, each with a kind it allows:
    a contributor could never match anything else."""
    for i, annotation in enumerate(gold.annotations):
        _check_label(annotation.label, annotation.shape.kind, classes, f"{where}.annotations[{i}]")
    for i, track in enumerate(gold.tracks):
        for j, keyframe in enumerate(track.keyframes):
            _check_label(track.label, keyframe.shape.kind, classes, f"{where}.tracks[{i}].keyframes[{j}]")
    for i, segment in enumerate(gold.segments):
        if segment.label and segment.label not in classes:
            raise invalid(f"{where}.segments[{i}].label", f"{segment.label!r} is not a class of the schema")


def _check_label(label: str, kind: str, classes: Classes, where: str) -> None:
    allowed = classes.get(label)
    if allowed is None:
        raise invalid(f"{where}.label", f"{label!r} is not a class of the schema")
    if kind not in allowed:
        raise invalid(f"{where}.shape", f"class {label!r} does not allow a {kind} "
                                        f"(allowed: {', '.join(sorted(allowed))})")


def check_unicode(value: Any, where: str) -> None:
    """Lone surrogates get through JSON parsing but not into PostgreSQL: refuse them first."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise invalid(where, "text must be valid Unicode (a lone surrogate was found)") from None
