"""The `<meta>` block of CVAT for images and for video: the task fields and the labels with
their typed attribute declarations (from the schema where it has the class, else inferred from
the values in use)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from app.annotators.annotation import AttrValue
from app.annotators.ontology import AttributeSpec, LabelSchema
from app.formats.cvat_common import INPUT_TYPES, attr_text, fmt, require_text


@dataclass
class AttrDecl:
    name: str
    input_type: str
    values: list[str] = field(default_factory=list)
    default: str = ""


def declare_labels(labels: Iterable[str], schema: LabelSchema | None,
                   used: Iterable[tuple[str, Mapping[str, AttrValue]]]
                   ) -> dict[str, list[AttrDecl]]:
    """Each label's attribute declarations: the schema's specs where it has the class, else
    types inferred from the values in use (all bools: checkbox; all numbers: number; else text).
    A bool `occluded` is CVAT's own flag, not an attribute."""
    seen: dict[str, dict[str, list[AttrValue]]] = {label: {} for label in labels}
    for label, values in used:
        for name, value in values.items():
            seen.setdefault(label, {}).setdefault(name, []).append(value)
    declared: dict[str, list[AttrDecl]] = {}
    for label, observed in seen.items():
        specs = schema.attribute_specs(label) if schema and label in schema.class_names else ()
        decls = {spec.name: _from_spec(spec) for spec in specs}
        for name, values in observed.items():
            flag = name == "occluded" and all(isinstance(v, bool) for v in values)
            if name not in decls and not flag:
                decls[name] = _inferred(name, values)
        declared[label] = list(decls.values())
    return declared


def _from_spec(spec: AttributeSpec) -> AttrDecl:
    values = list(spec.values)
    if spec.type == "bool":
        values = ["false", "true"]
    elif spec.type == "number":
        values = [_plain(spec.min or 0), _plain(spec.max or 0), "1"]
    default = "" if spec.default is None else attr_text(spec.default)
    return AttrDecl(spec.name, INPUT_TYPES[spec.type], values, default or next(iter(values), ""))


def _plain(number: float) -> str:
    """A bound of a number attribute: whole numbers without ".0", as CVAT shows them."""
    whole = float(number).is_integer() and abs(number) < 1e15
    return str(int(number)) if whole else fmt(number)


def _inferred(name: str, values: list[AttrValue]) -> AttrDecl:
    if all(isinstance(v, bool) for v in values):
        return AttrDecl(name, "checkbox", ["false", "true"], "false")
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        low, high = min(values), max(values)  # type: ignore[type-var]
        step = "1" if all(isinstance(v, int) for v in values) else "0.001"
        return AttrDecl(name, "number", [_plain(low), _plain(high), step], _plain(low))
    return AttrDecl(name, "text")


def labels_element(declared: Mapping[str, list[AttrDecl]], schema: LabelSchema | None
                   ) -> ET.Element:
    labels = ET.Element("labels")
    colours = {c.name: c.colour for c in schema.classes} if schema else {}
    for name, decls in declared.items():
        label = ET.SubElement(labels, "label")
        _leaf(label, "name", require_text(name, "label"))
        if name in colours:
            _leaf(label, "color", colours[name])
        _leaf(label, "type", "any")
        attributes = ET.SubElement(label, "attributes")
        for decl in decls:
            attr = ET.SubElement(attributes, "attribute")
            _leaf(attr, "name", require_text(decl.name, "attribute name"))
            _leaf(attr, "mutable", "True")
            _leaf(attr, "input_type", decl.input_type)
            _leaf(attr, "default_value", require_text(decl.default, "attribute default"))
            _leaf(attr, "values", "\n".join(require_text(v, "attribute value") for v in decl.values))
    return labels


def task_meta(fields: Iterable[tuple[str, str]], labels: ET.Element,
              extra: Iterable[ET.Element] = ()) -> ET.Element:
    """`<meta><task>` with `fields` as leaves, then `<labels>`, then `extra` elements."""
    meta = ET.Element("meta")
    task = ET.SubElement(meta, "task")
    for name, value in fields:
        _leaf(task, name, value)
    task.append(labels)
    task.extend(extra)
    return meta


def _leaf(parent: ET.Element, tag: str, text: str) -> ET.Element:
    child = ET.SubElement(parent, tag)
    child.text = text
    return child
