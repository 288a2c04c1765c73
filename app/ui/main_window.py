"""The main window: a shell of docks and actions around the canvas, and nothing more.

Left: the project switcher over the task list. Centre: the canvas (the welcome page on an
empty workspace). Right: label palette, attributes, annotation list, history. Menus and the
toolbar come from the action table in `actions.py`; each handler here is a line or two that
hands the work to a panel, the `AssetOpener`, or a worker thread through the `Bridge`.

The canvas is `app.ui.canvas.view.CanvasView`; `ViewCommands` applies the View and Tools
commands to it and opens each asset's image.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QCloseEvent, QKeyEvent
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QMainWindow,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.context import AppContext
from app.core.errors import AlayaError
from app.core.heap import freeze_long_lived
from app.core.identity import local_user
from app.core.history import HISTORY_CHANGED
from app.core.settings import save_user_settings
from app.editing.session import NOTIFIED, SAVE_STATE_CHANGED, SELECTION_CHANGED, AssetSession
from app.sample import ensure_sample_project
from app.ui.actions import ActionSet, Shortcut, all_specs
from app.ui.asset_opener import AssetOpener
from app.ui.assist_host import AssistHost
from app.ui.canvas.view import CanvasView
from app.ui.dialogs.settings_dialog import SettingsDialog
from app.ui.dialogs.shortcut_editor import ShortcutEditor
from app.ui.dialogs.wallet_dialog import open_wallet_dialog
from app.ui.wallet.chain_window import ChainWindow
from app.ui.edit_ops import EditOps
from app.ui.guarded import run_parts
from app.ui.lease_heartbeat import LeaseHeartbeat
from app.ui.operations import import_folder
from app.ui.panels.annotation_list import AnnotationList
from app.ui.panels.attributes import AttributeEditor
from app.ui.panels.history_panel import HistoryPanel
from app.ui.panels.label_palette import LabelPalette
from app.ui.panels.project_switcher import ProjectSwitcher
from app.ui.panels.task_list import TaskListPanel
from app.ui.status import StatusBar
from app.ui.sync_status import SyncStatusWidget
from app.ui.theme import apply_theme, is_dark
from app.ui.view_commands import ZOOM_STEP, ViewCommands
from app.ui.wallet_sync import WalletSyncWatch
from app.ui.welcome import WelcomePage
from app.ui.workers import Bridge, describe

log = logging.getLogger(__name__)

ORGANIZATION, APPLICATION = "Alaya", "Alaya Workstation"
RIGHT_PANELS = (("label_palette", "Labels"), ("attributes", "Attributes"),
                ("annotation_list", "Annotations"), ("history_panel", "History"))


def _make_panels() -> dict[str, QWidget]:
    return {"label_palette": LabelPalette(), "attributes": AttributeEditor(),
            "annotation_list": AnnotationList(), "history_panel": HistoryPanel()}


class MainWindow(QMainWindow):
    def __init__(self, ctx: AppContext, *, bridge: Bridge | None = None,
                 shortcuts: Mapping[str, Shortcut] | None = None, author: str | None = None) -> None:
        super().__init__()
        self.setWindowTitle(APPLICATION)
        self.ctx = ctx
        self.bridge = bridge or Bridge(self)
        self.opener = AssetOpener(ctx, self.bridge, author=author or local_user(), parent=self)
        self.edit_ops = EditOps()
        self._session_subscriptions: list[Callable[[], None]] = []
        self._build_central()
        self._build_docks()
        self.status = StatusBar(self)
        self.setStatusBar(self.status)
        self.sync_status = SyncStatusWidget(self.bridge, lambda: ctx.runner.submit_io(ctx.sync.sync_now))
        self.status.addPermanentWidget(self.sync_status)
        ctx.sync.board.changed.subscribe(self.sync_status.post_status, weak=True)
        ctx.runner.submit_io(ctx.sync.refresh)
        self.wallet_sync = WalletSyncWatch(ctx, self.bridge, lambda exc: self.status.showMessage(
            f"wallet: {describe(exc)}", 10000), self)  # unlocked, the wallet signs for sync
        self.heartbeat = LeaseHeartbeat(ctx.settings.settings.sync.heartbeat_s, self._open_task_id,
                                        lambda task_id: ctx.runner.submit_io(ctx.sync.beat, task_id), self)
        self.view = ViewCommands(self.canvas, self.status, ctx.workspace.root)
        self.assist_host = AssistHost(ctx, self.bridge, repaint=self.canvas.viewport().update,
                                      upcoming=self.task_list.rows_after_current, parent=self)
        if shortcuts is None:
            shortcuts = _bindings(ctx)
        self.action_set = ActionSet(self, all_specs(), self._handlers(), shortcuts)
        self.action_set.set_checked("view.dark_theme", is_dark(ctx.settings.settings.general.theme))
        self._select_first_tool()
        self._wire()
        self._restore_geometry()
        self.refresh_actions()
        self.project_switcher.reload()
        freeze_long_lived()  # start-up objects live all session: full GCs need not walk them

    # -- building -----------------------------------------------------------------------

    def _build_central(self) -> None:
        self.canvas = CanvasView()
        self.welcome = WelcomePage()
        self.central = QStackedWidget()
        self.central.addWidget(self.canvas)
        self.central.addWidget(self.welcome)
        self.setCentralWidget(self.central)

    def _build_docks(self) -> None:
        self.project_switcher = ProjectSwitcher(self.ctx, self.bridge)
        self.task_list = TaskListPanel(self.ctx, self.bridge)
        left = QWidget()
        layout = QVBoxLayout(left)
        layout.addWidget(self.project_switcher)
        layout.addWidget(self.task_list, 1)
        left.setMinimumWidth(420)
        self._dock("dock.tasks", "Tasks", left, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.panels = _make_panels()
        for name, title in RIGHT_PANELS:
            self._dock(f"dock.{name}", title, self.panels[name], Qt.DockWidgetArea.RightDockWidgetArea)

    def _dock(self, name: str, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self, objectName=name)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _handlers(self) -> dict[str, Callable[..., Any]]:
        handlers: dict[str, Callable[..., Any]] = {
            "file.import": self.choose_import_folder, "file.sample": self.open_sample_project,
            "file.quit": self.close,
            "edit.undo": lambda: self._on_session(AssetSession.undo),
            "edit.redo": lambda: self._on_session(AssetSession.redo),
            "edit.copy": lambda: self._on_session(self.edit_ops.copy),
            "edit.paste": lambda: self._on_session(self.edit_ops.paste),
            "edit.delete": lambda: self._on_session(self.edit_ops.delete),
            "edit.select_all": lambda: self._on_session(self.edit_ops.select_all),
            "edit.cut": lambda: self._on_session(self.edit_ops.cut),
            "edit.bring_front": lambda: self._on_session(self.edit_ops.bring_to_front),
            "edit.send_back": lambda: self._on_session(self.edit_ops.send_to_back),
            "edit.hide": lambda: self._on_session(self.edit_ops.toggle_hidden),
            "edit.lock": lambda: self._on_session(self.edit_ops.toggle_locked),
            "view.reset_window": lambda: self.view.reset_window(),
            "view.fit": lambda: self.view.fit(), "view.actual": lambda: self.view.actual_size(),
            "view.zoom_in": lambda: self.view.zoom_by(ZOOM_STEP),
            "view.zoom_out": lambda: self.view.zoom_by(1 / ZOOM_STEP),
            "view.pixel_grid": lambda on: self.view.set_pixel_grid(on),
            "view.crosshair": lambda on: self.view.set_crosshair(on),
            "view.dark_theme": self.set_dark_theme,
            "task.next": self.next_asset, "task.previous": self.previous_asset,
            "task.submit": self.submit_task, "task.skip": self.skip_task,
            "tool.*": self.set_tool,
            "tools.cycle": self.cycle_tool,
            "file.settings": self.open_settings, "file.shortcuts": self.edit_shortcuts,
            "file.wallet": lambda: open_wallet_dialog(self.ctx, self.bridge, self, lambda exc: self.status.showMessage(
                f"wallet: {describe(exc)}", 10000)),
        }
        return handlers

    def _wire(self) -> None:
        self.bridge.error.connect(lambda text: self.status.showMessage(text, 8000))
        self.opener.message.connect(lambda text: self.status.showMessage(text, 5000))
        self.assist_host.message.connect(lambda text: self.status.showMessage(text, 8000))
        self.opener.session_changed.connect(self._session_changed)
        self.opener.task_changed.connect(lambda _task_id: self.task_list.refresh())
        self.project_switcher.projects_loaded.connect(self._projects_loaded)
        self.project_switcher.project_changed.connect(self._project_changed)
        self.task_list.task_activated.connect(self.opener.open)
        self.task_list.count_changed.connect(lambda _n: self.refresh_actions())
        self.welcome.import_requested.connect(self.choose_import_folder)
        self.welcome.sample_requested.connect(self.open_sample_project)

    # -- state ----------------------------------------------------------------------------

    @property
    def session(self) -> AssetSession | None:
        return self.opener.session

    def _open_task_id(self) -> int | None:
        return self.session.task_id if self.session is not None else None

    def enabled_state(self) -> dict[str, bool]:
        s = self.session
        return {
            "has_project": self.project_switcher.current_project_id is not None,
            "has_rows": self.task_list.model.rowCount() > 0,
            "has_session": s is not None,
            "has_task": s is not None and self.opener.row is not None,
            "can_undo": s is not None and s.history.can_undo,
            "can_redo": s is not None and s.history.can_redo,
            "has_selection": s is not None and bool(s.selection),
            "can_paste": s is not None and bool(self.edit_ops.clipboard),
            "has_tools": any(a.startswith("tool.") for a in self.action_set.actions),
            "theme_unlocked": not self.ctx.settings.is_locked("general.theme"),
        }

    def refresh_actions(self, *_: object) -> None:
        self.action_set.update_enabled(self.enabled_state())
        s = self.session
        undo, redo = (s.history.undo_text, s.history.redo_text) if s else (None, None)
        self.action_set["edit.undo"].setText(f"&Undo {undo}" if undo else "&Undo")
        self.action_set["edit.redo"].setText(f"&Redo {redo}" if redo else "&Redo")

    def _projects_loaded(self, projects: list) -> None:
        self.central.setCurrentWidget(self.canvas if projects else self.welcome)

    def _project_changed(self, project_id: int | None) -> None:
        self.opener.close_session()
        self.task_list.set_project(project_id)
        self.refresh_actions()

    def _session_changed(self, session: AssetSession | None) -> None:
        for unsubscribe in self._session_subscriptions:
            unsubscribe()
        self._session_subscriptions = []
        self.assist_host.attach(session)
        self.view.set_session(session)
        for panel in self.panels.values():
            panel.set_session(session)  # type: ignore[attr-defined]
        self.status.show_save_state(session.save_state if session else None)
        if session is not None:
            self._session_subscriptions = [
                session.history.events.subscribe(HISTORY_CHANGED, self.refresh_actions),
                session.events.subscribe(SELECTION_CHANGED, self.refresh_actions),
                session.events.subscribe(SAVE_STATE_CHANGED, self.status.show_save_state),
                session.events.subscribe(NOTIFIED, lambda text: self.status.showMessage(text, 4000)),
            ]
        project = self.project_switcher.current_project
        parts = [session.asset.original_name if session else None, project.name if project else None, APPLICATION]
        self.setWindowTitle(" — ".join(p for p in parts if p))
        self.refresh_actions()

    def _on_session(self, fn: Callable[[AssetSession], object]) -> None:
        if self.session is not None:
            fn(self.session)
            self.refresh_actions()

    # -- commands -------------------------------------------------------------------------

    def next_asset(self) -> bool:
        return self.task_list.select_relative(+1)

    def previous_asset(self) -> bool:
        return self.task_list.select_relative(-1)

    def submit_task(self) -> None:
        self._finish("submitted")

    def skip_task(self) -> None:
        self._finish("skipped")

    def _finish(self, target: str) -> None:
        if self.opener.finish(target) is not None and not self.next_asset():
            self.status.showMessage("That was the last task in the list", 5000)

    def _tool_actions(self) -> list[Any]:
        return [a for key, a in self.action_set.actions.items() if key.startswith("tool.")]

    def _select_first_tool(self) -> None:
        tools = self._tool_actions()
        if tools:
            tools[0].setChecked(True)
            self.view.tool_id = tools[0].objectName().split(".", 1)[1]

    def set_tool(self, tool_id: str, _checked: bool = True) -> None:
        if tool_id == "smart":
            self.assist_host.activate()
        self.view.set_tool(tool_id)

    def cycle_tool(self) -> None:
        tools = [a for a in self._tool_actions() if a.isEnabled()]
        if tools:
            current = next((i for i, a in enumerate(tools) if a.isChecked()), -1)
            tools[(current + 1) % len(tools)].trigger()

    def set_dark_theme(self, dark: bool) -> None:
        self._apply_settings(self.ctx.settings.update("general.theme", "dark" if dark else "light"), save=True)

    def _apply_settings(self, loaded: Any, *, save: bool) -> None:
        """Adopt new settings: theme and shortcuts now; the user file written on the I/O pool."""
        self.ctx.settings = loaded
        app = QApplication.instance()
        if isinstance(app, QApplication):
            self.action_set.set_checked("view.dark_theme", apply_theme(app, loaded.settings.general.theme))
        self.action_set.rebind(_bindings(self.ctx))
        self.assist_host.settings_changed()
        if save:
            self.bridge.run(self.ctx.runner.submit_io(save_user_settings, loaded), lambda _path: None,
                            lambda exc: self.status.showMessage(f"cannot save settings: {describe(exc)}", 8000))

    def open_settings(self) -> None:
        updated = SettingsDialog.edit(self.ctx.settings, self)
        if updated is not None:
            self._apply_settings(updated, save=False)  # the dialog saved the file

    def edit_shortcuts(self) -> None:
        overrides = ShortcutEditor.edit(self.action_set.editor_entries(), self)
        if overrides is None:
            return
        try:
            self._apply_settings(self.ctx.settings.update("shortcuts.bindings", overrides), save=True)
        except AlayaError as exc:  # locked by policy, or a settings schema without shortcuts
            self.action_set.rebind(overrides)
            self.status.showMessage(f"shortcuts apply to this session only: {exc}", 8000)

    def open_sample_project(self) -> None:
        self.welcome.set_busy("Preparing the sample project…")
        self.status.showMessage("Preparing the sample project…")

        def done(project: Any) -> None:
            self.welcome.set_busy("")
            self.status.showMessage(f"Opened {project.name}", 5000)
            self.project_switcher.reload(select=project.id)

        def failed(exc: BaseException) -> None:
            self.welcome.set_busy("")
            self.status.showMessage(f"cannot create the sample project: {describe(exc)}", 8000)

        self.bridge.run(self.ctx.runner.submit_io(ensure_sample_project, self.ctx.workspace), done, failed)

    def choose_import_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Import folder")
        if folder:
            current = self.project_switcher.current_project
            self.import_folder(Path(folder), current.name if current else None)

    def import_folder(self, folder: Path, project_name: str | None = None) -> None:
        """Validate and import a folder on the I/O pool; progress shows in the status bar."""
        self.status.showMessage(f"Importing {folder}…")

        def progress(stage: str, done: int, total: int) -> None:
            if done == total or done % 25 == 0:
                self.bridge.post(lambda: self.status.showMessage(f"Importing: {stage} {done}/{total}"))

        def done(result: Any) -> None:
            project, report = result
            self.status.showMessage(f"{project.name}: {len(report.imported)} imported, "
                                    f"{len(report.rejected)} rejected, {len(report.duplicates)} duplicates", 10000)
            self.project_switcher.reload(select=project.id)
            self.task_list.refresh()

        future = self.ctx.runner.submit_io(import_folder, self.ctx, folder, project_name, progress)
        self.bridge.run(future, done, lambda exc: self.status.showMessage(f"import failed: {describe(exc)}", 10000))

    # -- geometry and closing ---------------------------------------------------------------

    def _restore_geometry(self) -> None:
        settings = QSettings(ORGANIZATION, APPLICATION)
        geometry, state = settings.value("main_window/geometry"), settings.value("main_window/state")
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1400, 900)
        if state is not None:
            self.restoreState(state)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt's name
        """Keys no tool and no action took: the schema's label hotkeys (1-9 and letters)."""
        plain = not event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        if plain and self.panels["label_palette"].handle_hotkey(event.text() or event.key()):
            event.accept()
            return
        super().keyPressEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        settings = QSettings(ORGANIZATION, APPLICATION)
        settings.setValue("main_window/geometry", self.saveGeometry())
        settings.setValue("main_window/state", self.saveState())
        run_parts([self.task_list.model.close,  # no new reads; queued writes still finish (AppContext.close)
                   self.assist_host.close, self.wallet_sync.close,
                   # a pending confirmation declined, tracking stopped: each chain window's worker ends
                   *[chain_window.shut_down for chain_window in self.findChildren(ChainWindow)]])
        super().closeEvent(event)


def _bindings(ctx: AppContext) -> dict[str, str]:
    """Shortcut overrides from the typed settings (`shortcuts.bindings`)."""
    return dict(ctx.settings.settings.shortcuts.bindings)
