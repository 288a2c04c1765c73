"""ShortcutEditor: key capture, conflicts, reset, and the overrides mapping it returns."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox

from app.ui.dialogs.shortcut_editor import ShortcutEditor, normalized

ENTRIES = [
    ("file.save", "&Save", "Ctrl+S", "Ctrl+S"),
    ("edit.undo", "Undo", "Ctrl+Z", "Ctrl+Z"),
    ("edit.redo", "Redo", "Ctrl+Shift+Z", "Ctrl+Y"),  # already overridden by the user
    ("view.fit", "Fit to window", "", ""),
]


def ok_enabled(editor: ShortcutEditor) -> bool:
    return editor._buttons.button(QDialogButtonBox.StandardButton.Ok).isEnabled()


def test_overrides_hold_only_what_differs_from_the_defaults(qtbot) -> None:
    editor = ShortcutEditor(ENTRIES)
    qtbot.addWidget(editor)
    assert editor.overrides() == {"edit.redo": "Ctrl+Y"}
    assert editor.shortcut("file.save") == "Ctrl+S" and editor.shortcut("view.fit") == ""
    editor.set_shortcut("view.fit", "f")
    editor.set_shortcut("file.save", "")  # cleared: an override to "no shortcut"
    assert editor.overrides() == {"edit.redo": "Ctrl+Y", "view.fit": "F", "file.save": ""}
    editor.reset("file.save")
    assert "file.save" not in editor.overrides()
    editor.reset_all()
    assert editor.overrides() == {}
    assert normalized("ctrl+shift+z") == "Ctrl+Shift+Z" and normalized(" ") == ""


def test_typing_a_shortcut_in_the_editor(qtbot) -> None:
    editor = ShortcutEditor(ENTRIES)
    qtbot.addWidget(editor)
    edit = editor._edits["view.fit"]
    edit.setFocus()
    qtbot.keyClick(edit, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    assert editor.shortcut("view.fit") == "Ctrl+K"
    assert editor.overrides()["view.fit"] == "Ctrl+K"


def test_conflicts_are_shown_and_block_ok(qtbot) -> None:
    editor = ShortcutEditor(ENTRIES)
    qtbot.addWidget(editor)
    assert editor.conflicts() == {} and ok_enabled(editor) and editor._status.isHidden()
    editor.set_shortcut("view.fit", "Ctrl+Z")
    assert editor.conflicts() == {"Ctrl+Z": ["edit.undo", "view.fit"]}
    assert not ok_enabled(editor)
    assert not editor._status.isHidden() and "Undo, Fit to window" in editor._status.text()
    item = editor._table.item(1, 0)
    assert item.font().bold() and "Fit to window" in item.toolTip()
    editor.set_shortcut("view.fit", "Ctrl+F")
    assert editor.conflicts() == {} and ok_enabled(editor) and not item.font().bold()


def test_filter_hides_rows(qtbot) -> None:
    editor = ShortcutEditor(ENTRIES)
    qtbot.addWidget(editor)
    editor._filter.setText("redo")
    hidden = [editor._table.isRowHidden(row) for row in range(len(ENTRIES))]
    assert hidden == [True, True, False, True]
    editor._filter.setText("ctrl+s")
    assert not editor._table.isRowHidden(0)
