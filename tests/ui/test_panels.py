"""Dock panels over a real AssetSession (real workspace, inline task runner): every edit they
make is a command on the session's history, and they follow the session both ways."""

from __future__ import annotations

import hashlib

import pytest
from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QLineEdit, QStyle, QStyleOptionButton

from app.annotators.annotation import Annotation
from app.annotators.commands import AddAnnotation, SetLocked, SetZOrder
from app.annotators.ontology import LabelSchema, parse_schema
from app.annotators.shapes import Box, Points
from app.core.tasks import TaskRunner
from app.editing.session import AssetSession
from app.store.assets import NewAsset
from app.store.workspace import Workspace
from app.ui.panels._annotation_model import HIDDEN, LOCKED
from app.ui.panels.annotation_list import AnnotationList
from app.ui.panels.attributes import AttributeEditor
from app.ui.panels.history_panel import HistoryPanel
from app.ui.panels.label_palette import LabelPalette

SCHEMA = {
    "name": "test", "version": 1,
    "attributes": [{"name": "occluded", "type": "bool", "default": False}],
    "classes": [
        {"name": "car", "colour": "#1f77b4", "hotkey": "1", "allowed_kinds": ["box", "polygon"],
         "attributes": [{"name": "make", "type": "text", "required": True, "default": "unknown"},
                        {"name": "doors", "type": "number", "min": 2, "max": 5, "default": 4}]},
        {"name": "person", "colour": "#d62728", "hotkey": "2",
         "attributes": [{"name": "pose", "type": "enum", "values": ["standing", "sitting"],
                         "default": "standing"}]},
        {"name": "bicycle", "colour": "#2ca02c", "hotkey": "3", "allowed_kinds": ["box"]},
    ],
}


def make_session(ws: Workspace, schema: LabelSchema | None) -> AssetSession:
    project = ws.projects.get_or_create("p")
    sha = hashlib.sha256(b"panels").hexdigest()
    ws.assets.add_many(project.id, [NewAsset(
        sha256=sha, modality="image", storage="reference", path="/a.png", original_name="a.png",
        size_bytes=1, metadata={"width": 640, "height": 480})])
    asset = ws.assets.by_sha256(project.id, [sha])[sha]
    return AssetSession.load(ws, TaskRunner(synchronous=True), asset.id, author="ana", schema=schema)


@pytest.fixture
def session(workspace: Workspace) -> AssetSession:
    return make_session(workspace, parse_schema(SCHEMA))


def add(session: AssetSession, label: str, x: float = 10, **fields) -> Annotation:
    defaults = session.schema.apply_defaults(label, {}) if session.schema else {}
    attributes = fields.pop("attributes", defaults)
    shape = fields.pop("shape", Box(x, 10, x + 40, 50))
    annotation = Annotation.new(asset_id=session.asset_id, label=label, shape=shape,
                                author="ana", attributes=attributes, **fields)
    session.push(AddAnnotation(annotation))
    return annotation


def get(session: AssetSession, ann_id: str) -> Annotation:
    return session.document.get(ann_id)


# ---- label palette ------------------------------------------------------------------------------


def test_palette_hotkeys_set_the_label_and_relabel_the_selection_in_one_step(qtbot, session) -> None:
    palette = LabelPalette(session)
    qtbot.addWidget(palette)
    assert palette.labels() == ["car", "person", "bicycle"]
    assert palette.handle_hotkey("2") and session.label == "person"
    assert not palette.handle_hotkey("9") and not palette.handle_hotkey(Qt.Key.Key_F1)

    a, b = add(session, "car", 10), add(session, "car", 100)
    locked = add(session, "car", 200, locked=True)
    session.set_selection([a.id, b.id, locked.id])
    steps = len(session.history.undo_labels())
    assert palette.handle_hotkey(Qt.Key.Key_2)  # a Qt key code works too
    assert session.label == "person"
    assert [get(session, i).label for i in (a.id, b.id, locked.id)] == ["person", "person", "car"]
    assert get(session, a.id).attributes["pose"] == "standing"  # the new class's defaults
    assert len(session.history.undo_labels()) == steps + 1
    assert session.history.undo_text == "Label as person"
    session.undo()
    assert get(session, a.id) == a and get(session, b.id) == b


def test_palette_click_and_refused_relabel(qtbot, session) -> None:
    palette = LabelPalette(session)
    qtbot.addWidget(palette)
    palette.show()
    tree = palette._tree
    item = tree.topLevelItem(2)
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=tree.visualItemRect(item).center())
    assert session.label == "bicycle"
    session.set_label("car")  # the model changes: the palette echoes it without a command
    assert tree.currentItem().text(0) == "car"

    points = add(session, "person", shape=Points(((1.0, 2.0),)))
    session.set_selection([points.id])
    steps = session.history.undo_labels()
    palette.choose("bicycle")  # bicycle allows boxes only
    assert get(session, points.id).label == "person"
    assert session.history.undo_labels() == steps
    assert "does not allow points" in palette._error.text() and not palette._error.isHidden()


# ---- attribute editor ---------------------------------------------------------------------------


def test_attribute_edit_pushes_one_command_and_undo_restores(qtbot, session) -> None:
    editor = AttributeEditor(session)
    qtbot.addWidget(editor)
    editor.show()
    car = add(session, "car")
    session.set_selection([car.id])
    occluded = editor.field("occluded")
    assert isinstance(occluded, QCheckBox) and not occluded.isChecked()
    assert editor.field("make").text() == "unknown" and editor.field("doors").value() == 4
    steps = len(session.history.undo_labels())

    qtbot.waitUntil(occluded.isVisible)  # new rows are shown by the event loop
    indicator = occluded.style().subElementRect(
        QStyle.SubElement.SE_CheckBoxIndicator, QStyleOptionButton(), occluded)
    qtbot.mouseClick(occluded, Qt.MouseButton.LeftButton, pos=indicator.center())
    assert get(session, car.id).attributes["occluded"] is True
    assert len(session.history.undo_labels()) == steps + 1
    assert session.history.undo_text == "Set occluded"

    doors = editor.field("doors")
    doors.setValue(3)  # what Return or a step does (keyboard tracking is off)
    assert get(session, car.id).attributes["doors"] == 3
    assert type(get(session, car.id).attributes["doors"]) is int

    session.undo()
    session.undo()
    assert get(session, car.id) == car
    assert not occluded.isChecked() and doors.value() == 4  # the editor follows the undo


def test_attribute_editor_shows_mixed_values_and_inline_errors(qtbot, session) -> None:
    editor = AttributeEditor(session)
    qtbot.addWidget(editor)
    a = add(session, "car")
    b = add(session, "car", 100, attributes={"occluded": True, "make": "volvo", "doors": 4})
    person = add(session, "person", 200)
    session.set_selection([a.id, b.id])
    assert editor.field("occluded").checkState() == Qt.CheckState.PartiallyChecked
    make = editor.field("make")
    assert isinstance(make, QLineEdit) and make.text() == "" and make.placeholderText() == "(mixed)"
    assert editor.field("doors").value() == 4  # same on both: not mixed

    make.setText("")
    make.editingFinished.emit()  # leaving a mixed field empty is no edit
    steps = len(session.history.undo_labels())
    make.setText("saab")
    make.editingFinished.emit()
    assert {get(session, i).attributes["make"] for i in (a.id, b.id)} == {"saab"}
    assert len(session.history.undo_labels()) == steps + 1

    make.setText("")
    make.editingFinished.emit()
    assert editor.error_text("make") == "make is required"
    assert len(session.history.undo_labels()) == steps + 1  # nothing pushed
    assert make.text() == "saab"  # the field shows the model's value again

    session.set_selection([a.id, person.id])  # different classes: only shared attributes
    assert editor.field("occluded") is not None and editor.field("make") is None
    session.set_selection([person.id])
    pose = editor.field("pose")
    assert isinstance(pose, QComboBox) and pose.currentText() == "standing"
    pose.setCurrentIndex(pose.findText("sitting"))
    pose.activated.emit(pose.currentIndex())
    assert get(session, person.id).attributes["pose"] == "sitting"


# ---- annotation list ----------------------------------------------------------------------------


def test_annotation_list_and_session_selection_stay_in_sync(qtbot, session) -> None:
    listing = AnnotationList(session)
    qtbot.addWidget(listing)
    a, b, c = add(session, "car", 10), add(session, "person", 100), add(session, "car", 200)
    model, view = listing.model, listing.view
    assert model.ids() == [c.id, b.id, a.id]  # topmost first
    assert model.index(1, 0).data() == "person"

    emitted: list[frozenset[str]] = []
    session.events.subscribe("selection_changed", emitted.append)
    view.selectionModel().select(
        model.index(model.row_of(b.id), 0),
        QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
    assert session.selection == {b.id} and emitted == [frozenset({b.id})]

    session.set_selection([a.id, c.id])  # from elsewhere (the canvas)
    assert listing.selected_ids() == {a.id, c.id}
    assert emitted == [frozenset({b.id}), frozenset({a.id, c.id})]  # the echo did not loop

    resets, inserted = [], []
    model.modelReset.connect(lambda: resets.append(1))
    model.rowsInserted.connect(lambda *_: inserted.append(1))
    d = add(session, "bicycle", 300)
    assert model.ids()[0] == d.id and inserted == [1] and resets == []
    assert listing.selected_ids() == {a.id, c.id}  # kept across the insert
    session.push(SetZOrder.to_front(session.document, [a.id]))  # rows move, selection stays
    assert model.ids() == [a.id, d.id, c.id, b.id] and resets == []
    assert listing.selected_ids() == {a.id, c.id} and session.selection == {a.id, c.id}


def test_annotation_list_toggles_and_delete_are_undoable(qtbot, session) -> None:
    listing = AnnotationList(session)
    qtbot.addWidget(listing)
    a, b = add(session, "car", 10), add(session, "car", 100, confidence=0.87, source="model")
    model = listing.model
    row_a = model.row_of(a.id)
    assert model.index(model.row_of(b.id), 3).data() == "0.87"
    assert "model" in model.index(model.row_of(b.id), 2).data()

    assert model.setData(model.index(row_a, HIDDEN), Qt.CheckState.Checked.value,
                         Qt.ItemDataRole.CheckStateRole)
    assert get(session, a.id).hidden
    assert model.index(row_a, HIDDEN).data(Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Checked
    session.undo()
    assert not get(session, a.id).hidden

    session.set_selection([a.id, b.id])  # a toggle on a selected row applies to the selection
    model.setData(model.index(row_a, LOCKED), Qt.CheckState.Checked, Qt.ItemDataRole.CheckStateRole)
    assert get(session, a.id).locked and get(session, b.id).locked
    assert session.history.undo_text == "Lock"
    session.undo()
    assert not get(session, a.id).locked and not get(session, b.id).locked

    session.push(SetLocked([b.id], True))
    listing.view.setFocus()
    qtbot.keyClick(listing.view, Qt.Key.Key_Delete)
    assert a.id not in session.document and b.id in session.document  # locked: kept
    assert model.ids() == [b.id] and "1 locked annotation not deleted" in listing._error.text()
    session.undo()
    assert a.id in session.document and set(model.ids()) == {a.id, b.id}


# ---- history panel ------------------------------------------------------------------------------


def test_history_panel_lists_steps_and_click_travels_to_a_point(qtbot, session) -> None:
    panel = HistoryPanel()
    qtbot.addWidget(panel)
    panel.set_session(session)
    a = add(session, "car")
    add(session, "person", 100)
    session.push(SetLocked([a.id], True))
    assert panel.texts() == ["Opened", "Add car", "Add person", "Lock"]
    assert panel._list.currentRow() == 3

    panel.show()
    lst = panel._list
    qtbot.mouseClick(lst.viewport(), Qt.MouseButton.LeftButton,
                     pos=lst.visualItemRect(lst.item(1)).center())
    assert len(session.document) == 1 and not get(session, a.id).locked
    assert session.history.redo_labels() == ["Add person", "Lock"]
    assert panel.texts() == ["Opened", "Add car", "Add person", "Lock"] and lst.currentRow() == 1

    panel.go_to(3)
    assert len(session.document) == 2 and get(session, a.id).locked
    panel.go_to(0)
    assert len(session.document) == 0
    add(session, "bicycle")  # a new step drops the redo rows
    assert panel.texts() == ["Opened", "Add bicycle"]
    panel.set_session(None)
    assert panel.texts() == []


def test_panels_without_a_schema_or_session(qtbot, workspace) -> None:
    session = make_session(workspace, None)
    palette, editor, listing = LabelPalette(session), AttributeEditor(session), AnnotationList()
    for widget in (palette, editor, listing):
        qtbot.addWidget(widget)
    assert palette.labels() == ["object"] and not palette.handle_hotkey("1")
    add(session, "tree")
    assert palette.labels() == ["object", "tree"]
    assert listing.model.rowCount() == 0
    listing.set_session(session)
    assert listing.model.rowCount() == 1
    session.set_selection(session.document.ids())
    assert "no label schema" in editor._summary.text()
    for widget in (palette, editor, listing):
        widget.set_session(None)
    session.set_selection([])  # unsubscribed: nothing reaches the panels
