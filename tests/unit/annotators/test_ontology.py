"""Label schemas: loading, validation messages that name the field, annotation checks."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from app.annotators.ontology import (
    SHAPE_KINDS,
    LabelSchema,
    dump_schema,
    load_schema,
    parse_schema,
)
from app.core.errors import NotFoundError, ValidationError

DEFAULT = Path(__file__).resolve().parents[3] / "resources" / "schemas" / "default.yaml"

BASE: dict[str, Any] = {
    "name": "test",
    "version": 1,
    "attributes": [{"name": "occluded", "type": "bool", "default": False}],
    "classes": [
        {
            "name": "car",
            "colour": "#1F77B4",
            "hotkey": 1,
            "allowed_kinds": ["box", "polygon"],
            "attributes": [
                {"name": "paint", "type": "enum", "values": ["red", "blue"], "default": "red"},
                {"name": "doors", "type": "number", "min": 2, "max": 5},
                {"name": "plate", "type": "text"},
            ],
        },
        {
            "name": "person",
            "colour": "#d62728",
            "hotkey": "P",
            "attributes": [
                {"name": "pose", "type": "enum", "values": ["standing", "sitting"],
                 "required": True},
            ],
        },
    ],
}


def variant(**edits: Any) -> dict[str, Any]:
    """BASE with values replaced at dotted paths, e.g. `variant(**{"classes.0.colour": "x"})`."""
    data = copy.deepcopy(BASE)
    for dotted, value in edits.items():
        *parents, last = dotted.split(".")
        node: Any = data
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
    return data


@pytest.fixture
def schema() -> LabelSchema:
    return parse_schema(BASE)


# -- loading -------------------------------------------------------------------------------


def test_default_schema_loads() -> None:
    schema = load_schema(DEFAULT)
    assert schema.class_names == ["car", "person", "bicycle", "traffic-light"]
    assert schema.class_for_hotkey("4").name == "traffic-light"
    from app.annotators.tools.registry import shortcut_conflicts

    assert shortcut_conflicts(c.hotkey for c in schema.classes if c.hotkey) == []  # no clash with tools
    assert schema.apply_defaults("person", {})["pose"] == "standing"


def test_values_are_normalized(schema: LabelSchema) -> None:
    car = schema.get_class("car")
    assert (car.colour, car.hotkey) == ("#1f77b4", "1")
    assert schema.get_class("person").hotkey == "p"
    assert schema.get_class("person").allowed_kinds == SHAPE_KINDS


def test_color_spelling_is_accepted() -> None:
    data = variant()
    data["classes"][0]["color"] = data["classes"][0].pop("colour")
    assert parse_schema(data).get_class("car").colour == "#1f77b4"


@pytest.mark.parametrize("suffix", [".yaml", ".yml", ".json"])
def test_dump_and_load_round_trip(tmp_path: Path, schema: LabelSchema, suffix: str) -> None:
    path = tmp_path / f"schema{suffix}"
    dump_schema(schema, path)
    again = load_schema(path)
    assert again == schema
    assert again.content_hash() == schema.content_hash()
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left


def test_content_hash_ignores_layout_but_not_content(tmp_path: Path, schema: LabelSchema) -> None:
    explicit = variant(**{"classes.1.allowed_kinds": list(SHAPE_KINDS)})
    assert parse_schema(explicit).content_hash() == schema.content_hash()
    assert parse_schema(variant(version=2)).content_hash() != schema.content_hash()
    assert len(schema.content_hash()) == 64


def test_bad_yaml_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "schema.yaml"
    path.write_text("name: x\nclasses: [\n  - a: b\n", encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        load_schema(path)
    assert str(info.value).startswith(f"{path}: line ")
    assert info.value.where == str(path)


def test_bad_json_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "schema.json"
    path.write_text('{"name": "x",\n "version": }', encoding="utf-8")
    with pytest.raises(ValidationError, match=r"schema\.json: line 2, column 13: Expecting value"):
        load_schema(path)


def test_invalid_content_in_a_file_names_file_and_field(tmp_path: Path) -> None:
    path = tmp_path / "schema.yaml"
    path.write_text(DEFAULT.read_text(encoding="utf-8").replace('"#2ca02c"', "#2ca02c"),
                    encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        load_schema(path)
    assert str(info.value) == (
        f"{path}: classes[2].colour: not a #rrggbb colour (in YAML, quote it: '#1f77b4')"
    )


def test_unquoted_yaml_boolean_gets_a_hint(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    data = variant(**{"classes.0.attributes.0.values": [True, "blue"]})
    path.write_text(json.dumps(data).replace("true,", "on,"), encoding="utf-8")  # JSON is YAML
    with pytest.raises(ValidationError, match=r"values\[0\]: .*quote it"):
        load_schema(path)


def test_file_problems(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="no such schema file"):
        load_schema(tmp_path / "missing.yaml")
    with pytest.raises(ValidationError, match=r"unsupported schema format '\.txt'"):
        load_schema(tmp_path / "schema.txt")
    listing = tmp_path / "list.yaml"
    listing.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(ValidationError, match=r"list\.yaml: expected a mapping at the top level"):
        load_schema(listing)


# -- schema validation: exact messages -----------------------------------------------------


@pytest.mark.parametrize(
    ("edits", "message"),
    [
        ({"classes.0.colour": "red"}, "classes[0].colour: not a #rrggbb colour"),
        ({"classes.1.colour": "#12345"}, "classes[1].colour: not a #rrggbb colour"),
        ({"classes.1.name": "car"}, "classes[1].name: duplicate class name 'car'"),
        ({"classes.1.hotkey": "1"}, "classes[1].hotkey: duplicate hotkey '1'"),
        ({"classes.0.hotkey": 10}, "classes[0].hotkey: a hotkey is one digit 1-9 or one letter"),
        ({"classes.0.hotkey": "0"}, "classes[0].hotkey: a hotkey is one digit 1-9 or one letter"),
        ({"classes.0.allowed_kinds": []},
         "classes[0].allowed_kinds: at least one shape kind must be allowed"),
        ({"classes.0.attributes.0.values": []},
         "classes[0].attributes[0].values: an enum needs at least one value"),
        ({"classes.0.attributes.0.values": ["red", "red"]},
         "classes[0].attributes[0].values: enum values must be unique"),
        ({"classes.0.attributes.0.default": "green"},
         "classes[0].attributes[0].default: default 'green': 'green' is not one of: red, blue"),
        ({"classes.0.attributes.1.default": 9},
         "classes[0].attributes[1].default: default 9: 9 is above the maximum 5"),
        ({"classes.0.attributes.1.min": 7},
         "classes[0].attributes[1].min: min 7 is above max 5"),
        ({"attributes.0.default": "yes"},
         "attributes[0].default: default 'yes': expected true or false, got a string"),
        ({"attributes.0.values": ["a"]}, "attributes[0].values: only an enum has values"),
        ({"classes.0.attributes.2.name": "paint"},
         "classes[0].attributes[2].name: duplicate attribute 'paint'"),
        ({"classes.1.attributes.0.name": "occluded"},
         "classes[1].attributes[0].name: attribute 'occluded' is already defined for all classes"),
        ({"classes.0.colr": "#000000"}, "classes[0].colr: unknown field"),
        ({"version": 0}, "version: Input should be greater than or equal to 1"),
        ({"classes": []}, "classes: needs at least 1 item"),
    ],
)
def test_bad_schema_messages_name_the_field(edits: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_schema(variant(**edits), "schema.yaml")
    assert str(info.value) == f"schema.yaml: {message}"


def test_unknown_shape_kind_is_named() -> None:
    kinds = r"^s: classes\[0\]\.allowed_kinds\[1\]: Input should"
    with pytest.raises(ValidationError, match=kinds):
        parse_schema(variant(**{"classes.0.allowed_kinds": ["box", "circle"]}), "s")


def test_missing_field_and_several_problems_in_one_message() -> None:
    data = variant(**{"classes.0.colour": "red"})
    del data["name"]
    with pytest.raises(ValidationError) as info:
        parse_schema(data, "s.yaml")
    assert str(info.value) == (
        "s.yaml: name: required field is missing; classes[0].colour: not a #rrggbb colour"
    )


# -- checking annotations ------------------------------------------------------------------


def test_valid_annotation_passes(schema: LabelSchema) -> None:
    attrs = schema.apply_defaults("car", {"doors": 4, "plate": "AB-123"})
    assert attrs == {"occluded": False, "paint": "red", "doors": 4, "plate": "AB-123"}
    schema.validate_annotation("car", "box", attrs)
    schema.validate_annotation("car", "polygon", {"doors": 2.5})


@pytest.mark.parametrize(
    ("label", "kind", "attributes", "message"),
    [
        ("truck", "box", {}, "label: unknown label 'truck' (known: car, person)"),
        ("car", "mask", {},
         "shape: shape kind 'mask' is not allowed for class 'car' (allowed: box, polygon)"),
        ("car", "box", {"wheels": 4}, "attributes.wheels: unknown attribute for class 'car'"),
        ("car", "box", {"occluded": 1},
         "attributes.occluded: expected true or false, got a number"),
        ("car", "box", {"paint": "green"}, "attributes.paint: 'green' is not one of: red, blue"),
        ("car", "box", {"paint": 3}, "attributes.paint: expected a string, got a number"),
        ("car", "box", {"doors": 6}, "attributes.doors: 6 is above the maximum 5"),
        ("car", "box", {"doors": 1.5}, "attributes.doors: 1.5 is below the minimum 2"),
        ("car", "box", {"doors": True}, "attributes.doors: expected a number, got true/false"),
        ("car", "box", {"doors": float("nan")}, "attributes.doors: expected a finite number"),
        ("car", "box", {"plate": None}, "attributes.plate: expected a string, got NoneType"),
        ("person", "box", {}, "attributes.pose: required attribute is missing"),
    ],
)
def test_invalid_annotation_messages(
    schema: LabelSchema, label: str, kind: str, attributes: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError) as info:
        schema.validate_annotation(label, kind, attributes)
    assert str(info.value) == message


def test_apply_defaults_keeps_given_values_and_unknown_label_raises(schema: LabelSchema) -> None:
    assert schema.apply_defaults("car", {"paint": "blue"})["paint"] == "blue"
    assert "pose" not in schema.apply_defaults("person", {})  # required, but no default
    with pytest.raises(ValidationError, match="unknown label"):
        schema.apply_defaults("bus", {})
