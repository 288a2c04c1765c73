"""Light and dark themes: the Fusion style, a QPalette, and a small style sheet.

The palette carries the colours (every widget and `palette(...)` in a style sheet follows it);
the style sheets in `resources/themes/<name>.qss` only tighten spacing and style what a
palette cannot: dock titles, headers, slim scroll bars, and the `role` property of labels
(`QLabel[role="error"]`, `"caption"`, `"locked"`) that panels and dialogs use. Calm,
low-contrast greys with one steel-blue accent, dense like the tools people label in all day.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from app.core.errors import ValidationError

log = logging.getLogger(__name__)

Concrete = Literal["light", "dark"]
THEMES = ("light", "dark", "system")
THEMES_DIR = Path(__file__).resolve().parents[2] / "resources" / "themes"
THEME_PROPERTY = "alayaTheme"  # the resolved theme, kept on the QApplication

_R = QPalette.ColorRole
# (role, active/inactive colour, disabled colour or None for the same)
_DARK: tuple[tuple[QPalette.ColorRole, str, str | None], ...] = (
    (_R.Window, "#2a2a2d", None), (_R.WindowText, "#d4d4d6", "#6c6c72"),
    (_R.Base, "#1e1e20", "#232326"), (_R.AlternateBase, "#242427", None),
    (_R.ToolTipBase, "#3a3a3f", None), (_R.ToolTipText, "#e8e8ea", None),
    (_R.PlaceholderText, "#7c7c83", None), (_R.Text, "#dcdcde", "#6c6c72"),
    (_R.Button, "#34343a", "#2c2c30"), (_R.ButtonText, "#d4d4d6", "#6c6c72"),
    (_R.BrightText, "#ff6b6b", None), (_R.Light, "#45454b", None),
    (_R.Midlight, "#38383d", None), (_R.Mid, "#26262a", None), (_R.Dark, "#18181a", None),
    (_R.Shadow, "#0d0d0f", None), (_R.Highlight, "#2f5f8f", "#3a3a3f"),
    (_R.HighlightedText, "#ffffff", "#9a9aa0"), (_R.Link, "#6aa2d8", None),
    (_R.LinkVisited, "#a08ccf", None), (_R.Accent, "#4a86c8", "#4a4a50"),
)
_LIGHT: tuple[tuple[QPalette.ColorRole, str, str | None], ...] = (
    (_R.Window, "#ececef", None), (_R.WindowText, "#1f1f23", "#9a9aa0"),
    (_R.Base, "#ffffff", "#f2f2f4"), (_R.AlternateBase, "#f5f5f7", None),
    (_R.ToolTipBase, "#fbfbfc", None), (_R.ToolTipText, "#1f1f23", None),
    (_R.PlaceholderText, "#8a8a91", None), (_R.Text, "#1f1f23", "#9a9aa0"),
    (_R.Button, "#e3e3e7", "#ebebee"), (_R.ButtonText, "#1f1f23", "#9a9aa0"),
    (_R.BrightText, "#c62828", None), (_R.Light, "#ffffff", None),
    (_R.Midlight, "#f3f3f5", None), (_R.Mid, "#b9b9bf", None), (_R.Dark, "#9d9da4", None),
    (_R.Shadow, "#6e6e75", None), (_R.Highlight, "#3a75c4", "#d5d5da"),
    (_R.HighlightedText, "#ffffff", "#8a8a91"), (_R.Link, "#1d5fb0", None),
    (_R.LinkVisited, "#6a4fa8", None), (_R.Accent, "#3a75c4", "#b9b9bf"),
)
_SPECS = {"dark": _DARK, "light": _LIGHT}


def build_palette(name: Concrete) -> QPalette:
    """The QPalette of a concrete theme."""
    palette = QPalette()
    for role, colour, disabled in _SPECS[name]:
        for group in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive):
            palette.setColor(group, role, QColor(colour))
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor(disabled or colour))
    return palette


def load_stylesheet(name: Concrete, directory: Path = THEMES_DIR) -> str:
    """The theme's style sheet, or "" (logged) when the file is missing or unreadable.

    `@themes@` in the sheet becomes the folder's path, for the images it refers to.
    """
    path = directory / f"{name}.qss"
    try:
        return path.read_text(encoding="utf-8").replace("@themes@", directory.as_posix())
    except OSError as exc:
        log.warning("theme %s: cannot read %s (%s); using the palette alone", name, path, exc)
        return ""


def system_theme() -> Concrete:
    """What the desktop prefers; "light" when it does not say."""
    hints = QGuiApplication.styleHints()
    dark = hints is not None and hints.colorScheme() == Qt.ColorScheme.Dark
    return "dark" if dark else "light"


def resolve(theme: str) -> Concrete:
    """"light", "dark", or "system" resolved to one of the first two."""
    if theme not in THEMES:
        raise ValidationError("must be 'light', 'dark' or 'system'", where=f"theme {theme!r}")
    return system_theme() if theme == "system" else theme  # type: ignore[return-value]


def is_dark(theme: str) -> bool:
    """Whether `theme` ("dark", "light", or "system": the platform's scheme) is dark."""
    return resolve(theme) == "dark"


def apply_theme(app: QApplication, theme: str) -> bool:
    """Apply "light", "dark" or "system" to the whole application; returns whether it is dark.

    The theme applied is then `current_theme(app)`.
    """
    hints = app.styleHints()
    if theme == "system" and hasattr(hints, "unsetColorScheme"):
        hints.unsetColorScheme()  # let the platform report its own preference again
    resolved = resolve(theme)
    if theme != "system" and hasattr(hints, "setColorScheme"):
        # Window decorations (title bars on Windows and macOS) follow this hint.
        hints.setColorScheme(Qt.ColorScheme.Dark if resolved == "dark" else Qt.ColorScheme.Light)
    app.setStyle("Fusion")  # the one style that follows a palette everywhere
    app.setPalette(build_palette(resolved))
    app.setStyleSheet(load_stylesheet(resolved))
    app.setProperty(THEME_PROPERTY, resolved)
    return resolved == "dark"


def current_theme(app: QApplication) -> Concrete | None:
    """The theme `apply_theme` last applied to `app` ("light" or "dark"), if any."""
    value = app.property(THEME_PROPERTY)
    return value if value in ("light", "dark") else None
