"""Actions as data: one table says what each command is called, its keys, icon, menu and
when it is enabled; `ActionSet` turns the table into QActions, menus and a toolbar.

The window supplies handlers by action id (or `"prefix.*"` for a family such as the tools,
which then receives the part after the dot) and the truth of each enabled-when predicate.
Shortcuts are portable key strings ("Ctrl+Return", "PgDown"); `rebind` applies overrides from
a mapping, which is all a shortcut editor needs. An action without a handler stays disabled.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtGui import QAction, QActionGroup, QIcon, QKeySequence
from PySide6.QtWidgets import QApplication, QMainWindow, QMenu, QStyle, QToolBar

log = logging.getLogger(__name__)

Shortcut = str | Sequence[str]


@dataclass(frozen=True)
class ActionSpec:
    id: str
    text: str
    menu: str  # "File", or a submenu path "View/Theme"
    shortcut: tuple[str, ...] = ()  # portable key strings; the first is shown in the menu
    icon: str = ""  # resources/icons/<name>.svg|png, else the desktop theme's icon of that name
    toolbar: str = ""  # name of the toolbar that shows it ("main", "tools"); "" for none
    checkable: bool = False
    enabled_when: str | None = None  # predicate name; None: always (given a handler)
    separator_before: bool = False
    tip: str = ""
    group: str | None = None  # exclusive group of checkable actions (the tools)


MENU_TITLES = {"File": "&File", "Edit": "&Edit", "View": "&View", "Task": "&Task", "Tools": "T&ools"}

ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("file.import", "&Import folder…", "File", ("Ctrl+I",), "document-open", toolbar="main",
               tip="Validate the media in a folder and add it to a project"),
    ActionSpec("file.sample", "Open &sample project", "File", (), "folder-pictures"),
    ActionSpec("file.settings", "S&ettings…", "File", ("Ctrl+,",), "preferences-system", separator_before=True),
    ActionSpec("file.shortcuts", "&Keyboard shortcuts…", "File", (), "preferences-desktop-keyboard"),
    ActionSpec("file.wallet", "&Wallet…", "File", ("Ctrl+Shift+W",), "wallet-open",
               tip="Create or import the wallet, unlock or lock it, see its accounts"),
    ActionSpec("file.quit", "&Quit", "File", ("Ctrl+Q",), "application-exit", separator_before=True),
    ActionSpec("edit.undo", "&Undo", "Edit", ("Ctrl+Z",), "edit-undo", toolbar="main", enabled_when="can_undo"),
    ActionSpec("edit.redo", "&Redo", "Edit", ("Ctrl+Shift+Z", "Ctrl+Y"), "edit-redo", toolbar="main",
               enabled_when="can_redo"),
    ActionSpec("edit.copy", "&Copy", "Edit", ("Ctrl+C",), "edit-copy", enabled_when="has_selection",
               separator_before=True),
    ActionSpec("edit.cut", "Cu&t", "Edit", ("Ctrl+X",), "edit-cut", enabled_when="has_selection"),
    ActionSpec("edit.paste", "&Paste", "Edit", ("Ctrl+V",), "edit-paste", enabled_when="can_paste"),
    ActionSpec("edit.delete", "&Delete", "Edit", ("Del",), "edit-delete", enabled_when="has_selection"),
    ActionSpec("edit.select_all", "Select &all", "Edit", ("Ctrl+A",), "edit-select-all",
               enabled_when="has_session"),
    ActionSpec("edit.bring_front", "Bring to &front", "Edit", ("Ctrl+]",), enabled_when="has_selection",
               separator_before=True),
    ActionSpec("edit.send_back", "Send to &back", "Edit", ("Ctrl+[",), enabled_when="has_selection"),
    ActionSpec("edit.hide", "&Hide or show selection", "Edit", ("H",), enabled_when="has_selection"),
    ActionSpec("edit.lock", "&Lock or unlock selection", "Edit", ("Ctrl+L",), enabled_when="has_selection"),
    ActionSpec("view.fit", "&Fit to window", "View", ("Ctrl+0",), "zoom-fit-best", toolbar="main",
               enabled_when="has_session"),
    ActionSpec("view.actual", "&Actual size (100%)", "View", ("Ctrl+1",), "zoom-original",
               enabled_when="has_session"),
    ActionSpec("view.zoom_in", "Zoom &in", "View", ("Ctrl+=", "Ctrl++"), "zoom-in", enabled_when="has_session"),
    ActionSpec("view.zoom_out", "Zoom &out", "View", ("Ctrl+-",), "zoom-out", enabled_when="has_session"),
    ActionSpec("view.pixel_grid", "&Pixel grid", "View", ("Ctrl+G",), checkable=True, separator_before=True),
    ActionSpec("view.crosshair", "&Crosshair", "View", ("Ctrl+H",), checkable=True),
    ActionSpec("view.reset_window", "&Reset window/level", "View", ("Ctrl+W",), enabled_when="has_session",
               tip="Back to the automatic window (1st..99th percentile); Ctrl+right-drag adjusts it"),
    ActionSpec("view.dark_theme", "&Dark theme", "View", ("Ctrl+Shift+T",), checkable=True,
               enabled_when="theme_unlocked", separator_before=True),
    ActionSpec("task.next", "&Next asset", "Task", ("D", "PgDown"), "go-next", toolbar="main",
               enabled_when="has_rows"),
    ActionSpec("task.previous", "&Previous asset", "Task", ("A", "PgUp"), "go-previous", toolbar="main",
               enabled_when="has_rows"),
    ActionSpec("task.submit", "&Submit", "Task", ("Ctrl+Return", "Ctrl+Enter"), "dialog-ok-apply",
               toolbar="main", enabled_when="has_task", separator_before=True,
               tip="Mark this task done and go to the next asset"),
    ActionSpec("task.skip", "S&kip", "Task", ("Ctrl+K",), "media-skip-forward", enabled_when="has_task"),
    ActionSpec("tools.cycle", "&Next tool", "Tools", ("Ctrl+T",), enabled_when="has_tools", separator_before=True),
)
ICONS_DIR = Path(__file__).resolve().parents[2] / "resources" / "icons"

_FALLBACK_ICONS = {
    "document-open": QStyle.StandardPixmap.SP_DirOpenIcon,
    "application-exit": QStyle.StandardPixmap.SP_DialogCloseButton,
    "edit-undo": QStyle.StandardPixmap.SP_ArrowBack,
    "edit-redo": QStyle.StandardPixmap.SP_ArrowForward,
    "edit-delete": QStyle.StandardPixmap.SP_TrashIcon,
    "go-next": QStyle.StandardPixmap.SP_ArrowRight,
    "go-previous": QStyle.StandardPixmap.SP_ArrowLeft,
    "dialog-ok-apply": QStyle.StandardPixmap.SP_DialogApplyButton,
    "media-skip-forward": QStyle.StandardPixmap.SP_MediaSkipForward,
}


def tool_specs(registry_module: str = "app.annotators.tools.registry") -> tuple[ActionSpec, ...]:
    """One checkable action per available canvas tool in the registry's `TOOLS` (id, name,
    shortcut, icon, tip); none while the registry does not exist."""
    try:
        registry = importlib.import_module(registry_module)
    except ImportError:
        return ()
    specs = []
    for tool in getattr(registry, "TOOLS", ()):
        if not getattr(tool, "available", True):
            continue
        shortcut = getattr(tool, "shortcut", "")
        specs.append(ActionSpec(f"tool.{tool.id}", tool.name, "Tools", (shortcut,) if shortcut else (),
                                getattr(tool, "icon", ""), toolbar="tools", checkable=True,
                                enabled_when="has_session", tip=getattr(tool, "tip", ""), group="tools"))
    return tuple(specs)


def all_specs() -> tuple[ActionSpec, ...]:
    """The table with the registry's tools inserted at the top of the Tools menu."""
    tools_menu = tuple(spec for spec in ACTIONS if spec.menu == "Tools")
    return tuple(spec for spec in ACTIONS if spec.menu != "Tools") + tool_specs() + tools_menu


def _keys(shortcut: Shortcut) -> tuple[str, ...]:
    return (shortcut,) if isinstance(shortcut, str) else tuple(shortcut)


def _icon(name: str) -> QIcon:
    if not name:
        return QIcon()
    for suffix in (".svg", ".png"):
        if (ICONS_DIR / f"{name}{suffix}").is_file():
            return QIcon(str(ICONS_DIR / f"{name}{suffix}"))
    icon = QIcon.fromTheme(name)
    if icon.isNull() and name in _FALLBACK_ICONS:
        icon = QApplication.style().standardIcon(_FALLBACK_ICONS[name])
    return icon


class ActionSet:
    """The QActions, menus and toolbar generated from a table of `ActionSpec`s."""

    def __init__(self, window: QMainWindow, specs: Iterable[ActionSpec],
                 handlers: Mapping[str, Callable[..., object]], shortcuts: Mapping[str, Shortcut] | None = None):
        self.specs = {spec.id: spec for spec in specs}
        self.actions: dict[str, QAction] = {}
        self.menus: dict[str, QMenu] = {}
        self.groups: dict[str, QActionGroup] = {}
        self.toolbars: dict[str, QToolBar] = {}
        self._handlers = dict(handlers)
        self._enabled_state: dict[str, bool] = {}
        for spec in self.specs.values():
            self._build(window, spec)
        self.rebind(shortcuts or {})
        self.update_enabled({})

    def __getitem__(self, action_id: str) -> QAction:
        return self.actions[action_id]

    def __contains__(self, action_id: object) -> bool:
        return action_id in self.actions

    def _handler(self, action_id: str) -> Callable[..., object] | None:
        if action_id in self._handlers:
            return self._handlers[action_id]
        family = action_id.split(".", 1)[0] + ".*"
        if family in self._handlers:
            tail = action_id.split(".", 1)[1]
            family_handler = self._handlers[family]
            return lambda *args: family_handler(tail, *args)
        return None

    def _build(self, window: QMainWindow, spec: ActionSpec) -> None:
        action = QAction(_icon(spec.icon), spec.text, window)
        action.setObjectName(spec.id)
        action.setCheckable(spec.checkable)
        if spec.tip:
            action.setStatusTip(spec.tip)
            action.setToolTip(spec.tip)
        handler = self._handler(spec.id)
        if handler is not None:
            if spec.checkable:
                action.triggered.connect(lambda checked, h=handler: h(checked))
            else:
                action.triggered.connect(lambda _checked=False, h=handler: h())
        if spec.group:
            group = self.groups.get(spec.group) or self.groups.setdefault(spec.group, QActionGroup(window))
            group.addAction(action)
        menu = self._menu(window, spec.menu)
        if spec.separator_before and menu.actions():
            menu.addSeparator()
        menu.addAction(action)
        window.addAction(action)  # shortcuts work even while the menu bar is hidden
        if spec.toolbar:
            self._toolbar(window, spec.toolbar).addAction(action)
        self.actions[spec.id] = action

    def _toolbar(self, window: QMainWindow, name: str) -> QToolBar:
        if name not in self.toolbars:
            bar = QToolBar(name.capitalize(), window)
            bar.setObjectName(f"toolbar.{name}")
            window.addToolBar(bar)
            self.toolbars[name] = bar
        return self.toolbars[name]

    def _menu(self, window: QMainWindow, path: str) -> QMenu:
        if path in self.menus:
            return self.menus[path]
        parent, _, leaf = path.rpartition("/")
        title = MENU_TITLES.get(leaf, leaf)
        menu = self._menu(window, parent).addMenu(title) if parent else window.menuBar().addMenu(title)
        menu.setObjectName(f"menu.{path}")
        self.menus[path] = menu
        return menu

    # -- shortcuts ----------------------------------------------------------------------

    def rebind(self, overrides: Mapping[str, Shortcut]) -> None:
        """Apply shortcut overrides by action id ("" or () removes an action's keys)."""
        unknown = sorted(set(overrides) - set(self.actions))
        if unknown:
            log.warning("shortcut overrides for unknown actions ignored: %s", ", ".join(unknown))
        for action_id, action in self.actions.items():
            keys = _keys(overrides[action_id]) if action_id in overrides else self.specs[action_id].shortcut
            action.setShortcuts([QKeySequence(k) for k in keys if k])

    def shortcuts(self) -> dict[str, tuple[str, ...]]:
        """The current keys of every action, as portable strings (what an editor shows)."""
        return {action_id: tuple(seq.toString(QKeySequence.SequenceFormat.PortableText)
                                 for seq in action.shortcuts())
                for action_id, action in self.actions.items()}

    def conflicts(self) -> dict[str, list[str]]:
        """Keys bound to more than one action, with those actions' ids."""
        bound: dict[str, list[str]] = {}
        for action_id, keys in self.shortcuts().items():
            for key in keys:
                bound.setdefault(key, []).append(action_id)
        return {key: ids for key, ids in bound.items() if len(ids) > 1}

    # -- state --------------------------------------------------------------------------

    def editor_entries(self) -> list[tuple[str, str, str, str]]:
        """(id, text, default key, current key) per action: what `ShortcutEditor` takes."""
        current = self.shortcuts()
        return [(action_id, spec.text.replace("&", ""), spec.shortcut[0] if spec.shortcut else "",
                 current[action_id][0] if current[action_id] else "")
                for action_id, spec in self.specs.items()]

    def update_enabled(self, state: Mapping[str, bool]) -> None:
        """Enable each action whose predicate holds in `state` (a missing predicate is False)."""
        self._enabled_state.update(state)
        for action_id, action in self.actions.items():
            spec = self.specs[action_id]
            has_handler = self._handler(action_id) is not None
            holds = spec.enabled_when is None or self._enabled_state.get(spec.enabled_when, False)
            action.setEnabled(has_handler and holds)

    def set_checked(self, action_id: str, checked: bool) -> None:
        """Reflect a state without running the handler."""
        action = self.actions[action_id]
        blocked = action.blockSignals(True)
        action.setChecked(checked)
        action.blockSignals(blocked)
