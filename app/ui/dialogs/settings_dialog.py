"""SettingsDialog: the typed settings, one page per section, widgets generated from the schema.

Values locked by the administrator policy are shown disabled, marked as locked, with the
policy's reason as tooltip. A value set by the environment or the command line is shown with
a note, since it keeps winning over what is saved here. OK applies each changed value
through `LoadedSettings.update` (which validates it), shows any error beside its field and
stays open; when every value is valid it saves the user file and the dialog's
`result_settings` holds the new LoadedSettings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import AlayaError, LockedSettingError, ValidationError
from app.core.settings import LoadedSettings, Scope, Source, save_user_settings, save_workspace_settings
from app.core.settings_schema import field_info, setting_keys
from app.ui.dialogs._setting_editors import SettingEditor, editor_for

SECTION_TITLES = {
    "general": "General", "workspace": "Workspace", "store": "Storage", "intake": "Import",
    "history": "Undo history", "sync": "Sync", "prelabel": "Pre-labelling",
}
LOCK_TEXT = "🔒 locked"


class _Row:
    def __init__(self, key: str, editor: SettingEditor, error: QLabel, page: int) -> None:
        self.key, self.editor, self.error, self.page = key, editor, error, page
        self.initial: Any = None


class SettingsDialog(QDialog):
    def __init__(self, loaded: LoadedSettings, parent: QWidget | None = None, *,
                 save_path: Path | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("SettingsDialog")
        self.setWindowTitle("Settings")
        self.loaded = loaded
        self.result_settings: LoadedSettings | None = None
        self._save_path = save_path
        self._rows: dict[str, _Row] = {}
        self._sections = QListWidget(self)
        self._sections.setObjectName("SettingsSections")
        self._sections.setFixedWidth(150)
        self._pages = QStackedWidget(self)
        self._sections.currentRowChanged.connect(self._pages.setCurrentIndex)
        self._build_pages()
        self._error = QLabel(self)
        self._error.setProperty("role", "error")
        self._error.setWordWrap(True)
        self._error.hide()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.apply_and_accept)
        buttons.rejected.connect(self.reject)
        self.buttons = buttons
        body = QHBoxLayout()
        body.addWidget(self._sections)
        body.addWidget(self._pages, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(body, 1)
        layout.addWidget(self._error)
        layout.addWidget(buttons)
        self._sections.setCurrentRow(0)
        self.resize(640, 420)

    @classmethod
    def edit(cls, loaded: LoadedSettings, parent: QWidget | None = None, *,
             save_path: Path | None = None) -> LoadedSettings | None:
        """Run the dialog; the saved settings, or None when cancelled."""
        dialog = cls(loaded, parent, save_path=save_path)
        return dialog.result_settings if dialog.exec() == QDialog.DialogCode.Accepted else None

    # -- for tests and callers -----------------------------------------------------------

    def editor(self, key: str) -> SettingEditor:
        return self._rows[key].editor

    def error_text(self, key: str) -> str:
        row = self._rows[key]
        return row.error.text() if not row.error.isHidden() else ""

    def section_titles(self) -> list[str]:
        return [self._sections.item(i).text() for i in range(self._sections.count())]

    # -- building ------------------------------------------------------------------------

    def _build_pages(self) -> None:
        sections: dict[str, list[str]] = {}
        for key in setting_keys():
            sections.setdefault(key.split(".")[0], []).append(key)
        for section, keys in sections.items():
            form_host = QWidget()
            form = QFormLayout(form_host)
            form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
            page = self._pages.count()
            added = [key for key in keys if self._add_row(form, key, page)]
            if not added:
                form_host.deleteLater()
                continue
            scroll = QScrollArea()
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QScrollArea.Shape.NoFrame)
            scroll.setWidget(form_host)
            self._pages.addWidget(scroll)
            self._sections.addItem(SECTION_TITLES.get(section, section.replace("_", " ").title()))

    def _add_row(self, form: QFormLayout, key: str, page: int) -> bool:
        info = field_info(key)
        editor = editor_for(key, info)
        if editor is None:
            return False
        editor.set_value(self.loaded.get(key))
        editor.widget.setObjectName(f"setting-{key}")
        name = key.split(".")[1].replace("_", " ").capitalize()
        label = QLabel(name)
        label.setToolTip(f"{info.description or ''}\n{key}".strip())
        field = QWidget()
        line = QHBoxLayout(field)
        line.setContentsMargins(0, 0, 0, 0)
        line.addWidget(editor.widget, 1)
        note = self._note(key)
        if note is not None:
            line.addWidget(note)
        error = QLabel()
        error.setProperty("role", "error")
        error.setWordWrap(True)
        error.hide()
        form.addRow(label, field)
        form.addRow(error)
        if self.loaded.is_locked(key):
            editor.widget.setEnabled(False)
            editor.widget.setToolTip(self.loaded.lock_reason(key) or "")
        else:
            editor.widget.setToolTip(info.description or "")
        row = _Row(key, editor, error, page)
        row.initial = editor.value()
        self._rows[key] = row
        return True

    def _note(self, key: str) -> QLabel | None:
        """"locked" for a policy lock; a note when the environment or command line wins."""
        if self.loaded.is_locked(key):
            note = QLabel(LOCK_TEXT)
            note.setProperty("role", "locked")
            note.setToolTip(self.loaded.lock_reason(key) or "")
            note.setObjectName(f"lock-{key}")
            return note
        origin = self.loaded.origin(key)
        if origin.source is Source.WORKSPACE:
            note = QLabel("this workspace")
            note.setProperty("role", "caption")
            note.setToolTip(f"This workspace's own value, kept in {origin.where}; a change is saved there.")
            return note
        if origin.source in (Source.ENV, Source.CLI):
            note = QLabel(f"set by {origin.where}")
            note.setProperty("role", "caption")
            note.setToolTip(f"{origin.where} takes precedence over the value saved here "
                            "while it is set.")
            return note
        return None

    # -- applying ------------------------------------------------------------------------

    def apply_and_accept(self) -> None:
        """Validate every changed value, save the user file (and the workspace file for values the
        workspace sets), and close; or show the errors."""
        self._show_dialog_error(None)
        updated, first_bad = self.loaded, None
        scopes: set[Scope] = set()
        for row in self._rows.values():
            self._show_row_error(row, None)
            value = row.editor.value()
            if self.loaded.is_locked(row.key) or value == row.initial:
                continue
            # A value this workspace sets is changed there: in the user file it would stay hidden.
            scope: Scope = "workspace" if self.loaded.origin(row.key).source is Source.WORKSPACE else "user"
            try:
                updated = updated.update(row.key, value, scope=scope)
                scopes.add(scope)
            except (ValidationError, LockedSettingError) as exc:
                self._show_row_error(row, _without_key(str(exc), row.key))
                first_bad = first_bad or row
        if first_bad is not None:
            self._sections.setCurrentRow(first_bad.page)
            first_bad.editor.widget.setFocus()
            return
        if scopes:
            try:
                if "workspace" in scopes:
                    save_workspace_settings(updated)
                if "user" in scopes:
                    save_user_settings(updated, self._save_path)
            except AlayaError as exc:
                self._show_dialog_error(f"Settings were not saved: {exc}")
                return
        self.result_settings = updated
        self.accept()

    def _show_row_error(self, row: _Row, message: str | None) -> None:
        row.error.setText(message or "")
        row.error.setVisible(bool(message))

    def _show_dialog_error(self, message: str | None) -> None:
        self._error.setText(message or "")
        self._error.setVisible(bool(message))


def _without_key(message: str, key: str) -> str:
    return message.removeprefix(f"{key}: ")
