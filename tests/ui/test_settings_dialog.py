"""SettingsDialog over real LoadedSettings: generated editors, policy locks, validation, saving."""

from __future__ import annotations

import tomllib
from pathlib import Path

from PySide6.QtWidgets import QCheckBox, QComboBox, QDialog, QDoubleSpinBox, QLabel, QLineEdit, QSpinBox

from app.core.settings import LoadedSettings, Source, load_settings
from app.ui.dialogs.settings_dialog import LOCK_TEXT, SettingsDialog

POLICY = """
[policy]
reason = "Managed by ACME IT"

[locked.intake]
strip_private_metadata = true
"""


def load(tmp_path: Path, *, policy: bool = False, env: dict[str, str] | None = None) -> LoadedSettings:
    policy_file: Path | bool = False
    if policy:
        policy_file = tmp_path / "policy.toml"
        policy_file.write_text(POLICY, encoding="utf-8")
    return load_settings(env=env or {}, user_file=tmp_path / "cfg" / "settings.toml",
                         policy_file=policy_file)


def test_pages_and_widgets_follow_the_field_types(qtbot, tmp_path: Path) -> None:
    dialog = SettingsDialog(load(tmp_path, env={"ALAYA_INTAKE__WORKERS": "3"}))
    qtbot.addWidget(dialog)
    titles = dialog.section_titles()
    assert titles[:2] == ["General", "Workspace"] and "Shortcuts" not in titles  # own dialog
    assert isinstance(dialog.editor("general.theme").widget, QComboBox)
    assert isinstance(dialog.editor("store.backup_before_migration").widget, QCheckBox)
    spin = dialog.editor("intake.near_duplicate_threshold").widget
    assert isinstance(spin, QSpinBox) and (spin.minimum(), spin.maximum()) == (0, 64)
    assert isinstance(dialog.editor("sync.proxy").widget, QLineEdit)
    assert dialog.editor("workspace.path").browse_button is not None
    assert dialog.editor("intake.workers").value() == 3
    assert dialog.editor("prelabel.checkpoint").value() is None  # optional, unset


def test_locked_values_are_disabled_and_show_the_reason(qtbot, tmp_path: Path) -> None:
    loaded = load(tmp_path, policy=True)
    dialog = SettingsDialog(loaded)
    qtbot.addWidget(dialog)
    widget = dialog.editor("intake.strip_private_metadata").widget
    assert not widget.isEnabled() and "Managed by ACME IT" in widget.toolTip()
    lock = dialog.findChild(QLabel, "lock-intake.strip_private_metadata")
    assert lock is not None and lock.text() == LOCK_TEXT
    assert lock.toolTip() == loaded.lock_reason("intake.strip_private_metadata")
    assert dialog.editor("intake.copy_mode").widget.isEnabled()


def test_editing_a_value_and_accepting_saves_the_user_file(qtbot, tmp_path: Path) -> None:
    loaded = load(tmp_path, policy=True)
    dialog = SettingsDialog(loaded)
    qtbot.addWidget(dialog)
    theme = dialog.editor("general.theme").widget
    theme.setCurrentIndex(theme.findData("dark"))
    dialog.editor("intake.near_duplicate_threshold").widget.setValue(9)
    dialog.apply_and_accept()
    assert dialog.result() == QDialog.DialogCode.Accepted
    new = dialog.result_settings
    assert new is not None and new.get("general.theme") == "dark"
    assert new.origin("general.theme").source is Source.USER
    saved = tomllib.loads(loaded.user_file.read_text(encoding="utf-8"))
    assert saved["general"] == {"theme": "dark"}
    assert saved["intake"] == {"near_duplicate_threshold": 9}  # only what the user changed


def test_a_bad_value_shows_an_error_and_does_not_save(qtbot, tmp_path: Path) -> None:
    loaded = load(tmp_path)
    dialog = SettingsDialog(loaded)
    qtbot.addWidget(dialog)
    dialog.editor("general.language").set_value("English")
    dialog.editor("workspace.path").set_value("relative/folder")
    dialog.editor("general.theme").set_value("dark")
    dialog.apply_and_accept()
    assert dialog.result() != QDialog.DialogCode.Accepted and dialog.result_settings is None
    assert "must be a language tag" in dialog.error_text("general.language")
    assert "must be an absolute path" in dialog.error_text("workspace.path")
    assert dialog.error_text("general.theme") == ""
    assert not loaded.user_file.exists()

    dialog.editor("general.language").set_value("pt-BR")
    dialog.editor("workspace.path").set_value(str(tmp_path / "ws"))
    dialog.apply_and_accept()
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert dialog.error_text("general.language") == ""
    assert load(tmp_path).get("general.language") == "pt-BR"


def test_accepting_without_changes_writes_nothing(qtbot, tmp_path: Path) -> None:
    loaded = load(tmp_path)
    dialog = SettingsDialog(loaded)
    qtbot.addWidget(dialog)
    dialog.apply_and_accept()
    assert dialog.result_settings is loaded and not loaded.user_file.exists()


def test_the_pre_labeling_page_picks_model_checkpoint_device_and_tolerance(qtbot, tmp_path: Path) -> None:
    loaded = load(tmp_path)
    dialog = SettingsDialog(loaded)
    qtbot.addWidget(dialog)
    model = dialog.editor("prelabel.model").widget
    assert isinstance(model, QComboBox)
    assert [model.itemData(i) for i in range(model.count())] == ["grabcut", "sam", "sam_vit_l", "sam_vit_h"]
    assert model.currentData() == "grabcut" and "Segment Anything ViT-B" in model.itemText(1)
    device = dialog.editor("prelabel.device").widget
    assert [device.itemData(i) for i in range(device.count())] == ["auto", "cpu", "cuda", "mps"]
    assert dialog.editor("prelabel.checkpoint").browse_button is not None
    tolerance = dialog.editor("prelabel.polygon_tolerance").widget
    assert isinstance(tolerance, QDoubleSpinBox) and (tolerance.minimum(), tolerance.maximum()) == (0.0, 50.0)
    weights = tmp_path / "sam_vit_b.pth"
    model.setCurrentIndex(model.findData("sam"))
    dialog.editor("prelabel.checkpoint").set_value(str(weights))
    device.setCurrentIndex(device.findData("cpu"))
    tolerance.setValue(1.25)
    dialog.apply_and_accept()
    saved = tomllib.loads(loaded.user_file.read_text(encoding="utf-8"))
    assert saved["prelabel"] == {"model": "sam", "checkpoint": str(weights), "device": "cpu",
                                 "polygon_tolerance": 1.25}


def test_a_value_the_workspace_sets_is_noted_and_saved_in_the_workspace_file(qtbot, tmp_path: Path) -> None:
    ws_file = tmp_path / "ws" / "settings.toml"
    ws_file.parent.mkdir()
    ws_file.write_text('[wallet]\nchain = "local"\n', encoding="utf-8")
    loaded = load_settings(workspace=tmp_path / "ws", env={}, user_file=tmp_path / "cfg" / "settings.toml",
                           policy_file=False)
    dialog = SettingsDialog(loaded)
    qtbot.addWidget(dialog)
    note = next(label for label in dialog.findChildren(QLabel) if label.text() == "this workspace")
    assert str(ws_file) in note.toolTip()
    dialog.editor("wallet.chain").widget.setText("bsc")
    dialog.editor("wallet.auto_lock_minutes").widget.setValue(5)  # not set by the workspace: user file
    dialog.apply_and_accept()
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert tomllib.loads(ws_file.read_text(encoding="utf-8"))["wallet"] == {"chain": "bsc"}
    assert tomllib.loads(loaded.user_file.read_text(encoding="utf-8"))["wallet"] == {"auto_lock_minutes": 5}
    new = dialog.result_settings
    assert new is not None and new.get("wallet.chain") == "bsc"
    assert new.origin("wallet.chain").source is Source.WORKSPACE
