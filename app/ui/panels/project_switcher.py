"""The project switcher: a combo box of the workspace's projects, read on a worker thread."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from app.context import AppContext
from app.store.records import Project
from app.ui.workers import Bridge


class ProjectSwitcher(QWidget):
    project_changed = Signal(object)  # project id, or None when there is none
    projects_loaded = Signal(list)  # list[Project], after every reload

    def __init__(self, ctx: AppContext, bridge: Bridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.bridge = ctx, bridge
        self.projects: list[Project] = []
        self.combo = QComboBox(objectName="project_switcher.combo")
        self.combo.setMinimumContentsLength(16)
        self.combo.currentIndexChanged.connect(lambda _i: self.project_changed.emit(self.current_project_id))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        label = QLabel("&Project")
        label.setBuddy(self.combo)
        layout.addWidget(label)
        layout.addWidget(self.combo, 1)

    @property
    def current_project_id(self) -> int | None:
        data = self.combo.currentData()
        return int(data) if data is not None else None

    @property
    def current_project(self) -> Project | None:
        pid = self.current_project_id
        return next((p for p in self.projects if p.id == pid), None)

    def reload(self, select: int | str | None = None) -> None:
        """Read the project list off the GUI thread; then select `select` (id or name) if given."""
        self.bridge.run(self.ctx.runner.submit_io(self.ctx.workspace.projects.list),
                        lambda projects: self.set_projects(projects, select))

    def set_projects(self, projects: list[Project], select: int | str | None = None) -> None:
        """Fill the combo; keeps the current project unless `select` names another one."""
        previous = self.current_project_id
        self.projects = list(projects)
        wanted = next((p.id for p in self.projects if select in (p.id, p.name)), previous)
        blocked = self.combo.blockSignals(True)
        self.combo.clear()
        for p in self.projects:
            self.combo.addItem(p.name, p.id)
        index = self.combo.findData(wanted) if wanted is not None else -1
        self.combo.setCurrentIndex(index if index >= 0 else (0 if self.projects else -1))
        self.combo.blockSignals(blocked)
        self.projects_loaded.emit(self.projects)
        if self.current_project_id != previous:
            self.project_changed.emit(self.current_project_id)

    def select(self, project_id: int) -> None:
        index = self.combo.findData(project_id)
        if index >= 0:
            self.combo.setCurrentIndex(index)
