"""Themes: palettes, style sheets that Qt parses without complaint, and "system"."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QtMsgType, qInstallMessageHandler
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication, QLabel, QTreeWidget, QVBoxLayout, QWidget

from app.core.errors import ValidationError
from app.ui.theme import (
    THEMES_DIR,
    apply_theme,
    build_palette,
    current_theme,
    is_dark,
    load_stylesheet,
    system_theme,
)


@pytest.fixture
def app(qapp: QApplication) -> Iterator[QApplication]:
    style, palette, sheet = qapp.style().name(), qapp.palette(), qapp.styleSheet()
    yield qapp
    qapp.setStyleSheet(sheet)
    qapp.setStyle(style)
    qapp.setPalette(palette)
    qapp.styleHints().unsetColorScheme()


def lightness(app: QApplication, role: QPalette.ColorRole) -> int:
    return app.palette().color(role).lightness()


@pytest.mark.parametrize("name", ["light", "dark"])
def test_theme_applies_palette_and_a_style_sheet_qt_can_parse(qtbot, app, name: str) -> None:
    messages: list[str] = []
    previous = qInstallMessageHandler(
        lambda kind, _ctx, text: messages.append(text) if kind != QtMsgType.QtDebugMsg else None)
    try:
        assert apply_theme(app, name) is (name == "dark")
        window = QWidget()
        qtbot.addWidget(window)
        layout = QVBoxLayout(window)
        error = QLabel("bad value")
        error.setProperty("role", "error")
        layout.addWidget(error)
        layout.addWidget(QTreeWidget())
        window.show()
        qtbot.waitExposed(window)
    finally:
        qInstallMessageHandler(previous)
    assert not [m for m in messages if "style" in m.lower() or "parse" in m.lower()], messages
    assert current_theme(app) == name
    assert 'QLabel[role="error"]' in app.styleSheet()
    window_l = lightness(app, QPalette.ColorRole.Window)
    text_l = lightness(app, QPalette.ColorRole.WindowText)
    if name == "dark":
        assert window_l < 60 and text_l > 180  # calm greys, not pure black and white
    else:
        assert window_l > 200 and text_l < 60
    disabled = app.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
    assert disabled != app.palette().color(QPalette.ColorRole.Text)
    assert error.palette().color(QPalette.ColorRole.WindowText) != app.palette().color(
        QPalette.ColorRole.WindowText)  # the error role is coloured by the sheet


def test_system_follows_the_platform_and_bad_names_are_refused(app) -> None:
    dark = apply_theme(app, "system")
    assert current_theme(app) == ("dark" if dark else "light") == system_theme()
    assert is_dark("dark") and not is_dark("light")
    with pytest.raises(ValidationError):
        apply_theme(app, "solarized")


def test_missing_style_sheet_falls_back_to_the_palette(tmp_path: Path) -> None:
    assert load_stylesheet("dark", tmp_path) == ""
    assert (THEMES_DIR / "dark.qss").is_file() and (THEMES_DIR / "light.qss").is_file()
    dark, light = build_palette("dark"), build_palette("light")
    assert dark.color(QPalette.ColorRole.Base) != light.color(QPalette.ColorRole.Base)
