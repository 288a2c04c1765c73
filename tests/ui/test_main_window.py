"""The workstation shell: welcome, sample project, navigation, tasks, actions, bridge, start-up."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QApplication

from app.annotators.annotation import Annotation
from app.annotators.commands import AddAnnotation
from app.annotators.shapes import Box
from app.context import AppContext
from app.sample import SAMPLE_PROJECT, ensure_sample_project
from app.store.workspace import Workspace
from app.ui.actions import ACTIONS
from app.ui.main_window import MainWindow
from app.ui.workers import Bridge

MakeWindow = Callable[..., MainWindow]


@pytest.fixture(scope="module")
def sample_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sample") / "ws"
    with Workspace.open(root) as ws:
        ensure_sample_project(ws)
    return root


@pytest.fixture
def sample_ws(sample_template: Path, tmp_path: Path) -> Path:
    target = tmp_path / "sample-ws"
    shutil.copytree(sample_template, target)
    return target


@pytest.fixture
def make_window(qtbot, tmp_path: Path) -> Iterator[MakeWindow]:
    made: list[tuple[MainWindow, AppContext]] = []

    def make(workspace: Path | None = None, **kwargs) -> MainWindow:
        ctx = AppContext.load(workspace=workspace or tmp_path / "ws")
        window = MainWindow(ctx, author="tester", **kwargs)
        qtbot.addWidget(window)
        window.show()
        made.append((window, ctx))
        return window

    yield make
    for window, ctx in made:
        window.close()
        ctx.close()


def opened(window: MainWindow, name: str) -> bool:
    return window.session is not None and window.session.asset.original_name == name


def with_rows(qtbot, window: MainWindow, n: int) -> MainWindow:
    qtbot.waitUntil(lambda: window.task_list.model.rowCount() == n, timeout=5000)
    return window


def test_empty_workspace_shows_the_welcome(qtbot, make_window: MakeWindow) -> None:
    window = make_window()
    qtbot.waitUntil(lambda: window.central.currentWidget() is window.welcome)
    assert window.welcome.import_button.isEnabled() and window.welcome.sample_button.isEnabled()
    assert not window.action_set["task.submit"].isEnabled()
    assert not window.action_set["edit.undo"].isEnabled()


def test_open_the_sample_project_from_the_welcome(qtbot, make_window: MakeWindow) -> None:
    window = make_window()
    qtbot.waitUntil(lambda: window.central.currentWidget() is window.welcome)
    window.welcome.sample_button.click()
    assert not window.welcome.sample_button.isEnabled()  # busy while it is generated off-thread
    with_rows(qtbot, window, 12)
    assert window.project_switcher.combo.currentText() == SAMPLE_PROJECT
    assert window.central.currentWidget() is window.canvas
    qtbot.waitUntil(lambda: window.task_list.model.index(0, 1).data() == "street_01.jpg")


def test_next_and_previous_change_the_current_asset(qtbot, make_window: MakeWindow, sample_ws: Path) -> None:
    window = with_rows(qtbot, make_window(sample_ws), 12)
    window.action_set["task.next"].trigger()
    qtbot.waitUntil(lambda: opened(window, "street_01.jpg"))
    assert window.windowTitle().startswith("street_01.jpg")
    window.action_set["task.next"].trigger()
    qtbot.waitUntil(lambda: opened(window, "street_02.jpg"))
    window.action_set["task.previous"].trigger()
    qtbot.waitUntil(lambda: opened(window, "street_01.jpg"))
    assert window.status.save_state.text() == "✓ Saved"
    for panel in window.panels.values():  # every dock follows the open asset
        assert getattr(panel, "session", window.session) is window.session


def test_submit_transitions_the_task_and_moves_on(qtbot, make_window: MakeWindow, sample_ws: Path) -> None:
    window = with_rows(qtbot, make_window(sample_ws), 12)
    window.next_asset()
    qtbot.waitUntil(lambda: opened(window, "street_01.jpg"))
    session = window.session
    assert session is not None and window.action_set["task.submit"].isEnabled()
    session.push(AddAnnotation(Annotation.new(asset_id=session.asset_id, label="car",
                                              shape=Box(10, 10, 50, 50), author="tester")))
    ws = window.ctx.workspace
    task_id = session.task_id
    assert task_id is not None
    qtbot.waitUntil(lambda: ws.tasks.get(task_id).state == "in_progress")  # claimed by the first edit
    assert window.action_set["edit.undo"].isEnabled()

    window.action_set["task.submit"].trigger()
    qtbot.waitUntil(lambda: opened(window, "street_02.jpg"))
    qtbot.waitUntil(lambda: ws.tasks.get(task_id).state == "submitted")
    qtbot.waitUntil(lambda: window.task_list.model.index(0, 3).data() == "submitted")
    assert window.task_list.model.index(0, 4).data() == 1  # its label count

    window.task_list.set_filter(state="pending")  # the submitted task leaves the list
    with_rows(qtbot, window, 11)
    qtbot.waitUntil(lambda: window.task_list.current_row() is not None)  # the open task stays selected
    assert window.task_list.current_row().name == "street_02.jpg"
    window.skip_task()
    qtbot.waitUntil(lambda: opened(window, "street_03.jpg"))
    qtbot.waitUntil(lambda: ws.tasks.get(window.session.task_id - 1).state == "skipped")
    with_rows(qtbot, window, 10)


def test_edit_actions_work_on_the_open_session(qtbot, make_window: MakeWindow, sample_ws: Path) -> None:
    window = with_rows(qtbot, make_window(sample_ws), 12)
    window.next_asset()
    qtbot.waitUntil(lambda: window.session is not None)
    s = window.session
    assert s is not None
    s.push(AddAnnotation(Annotation.new(asset_id=s.asset_id, label="car", shape=Box(1, 1, 20, 20), author="t")))
    window.action_set["edit.select_all"].trigger()
    assert len(s.selection) == 1 and window.action_set["edit.copy"].isEnabled()
    window.action_set["edit.copy"].trigger()
    window.action_set["edit.paste"].trigger()
    assert len(s.document) == 2
    window.action_set["edit.delete"].trigger()  # the pasted copy is selected
    assert len(s.document) == 1
    window.action_set["edit.undo"].trigger()
    assert len(s.document) == 2
    window.action_set["edit.redo"].trigger()
    assert len(s.document) == 1
    qtbot.waitUntil(lambda: s.save_state == "saved" and window.status.save_state.text() == "✓ Saved")


def test_order_hide_lock_and_cut_actions(qtbot, make_window: MakeWindow, sample_ws: Path) -> None:
    window = with_rows(qtbot, make_window(sample_ws), 12)
    window.next_asset()
    qtbot.waitUntil(lambda: window.session is not None)
    s = window.session
    a, b = (Annotation.new(asset_id=s.asset_id, label="car", shape=Box(x, 1, x + 20, 20), author="t")
            for x in (1, 10))
    s.push(AddAnnotation(a, b))
    s.set_selection([a.id])
    window.action_set["edit.bring_front"].trigger()
    assert s.document.annotations()[-1].id == a.id  # drawn last = on top
    window.action_set["edit.send_back"].trigger()
    assert s.document.annotations()[0].id == a.id
    window.action_set["edit.hide"].trigger()
    assert s.document.get(a.id).hidden and not window.canvas.layer.items[a.id].isVisible()
    window.action_set["edit.hide"].trigger()
    assert not s.document.get(a.id).hidden
    window.action_set["edit.lock"].trigger()
    assert s.document.get(a.id).locked
    window.action_set["edit.delete"].trigger()  # locked: kept
    assert a.id in s.document
    window.action_set["edit.lock"].trigger()
    window.action_set["edit.cut"].trigger()
    assert a.id not in s.document and window.action_set["edit.paste"].isEnabled()
    window.action_set["edit.paste"].trigger()
    assert len(s.document) == 2
    for _ in range(8):
        window.action_set["edit.undo"].trigger()
    assert [x.id for x in s.document.annotations()] == [a.id, b.id] and not s.document.get(a.id).locked


def test_menus_come_from_the_action_table(qtbot, make_window: MakeWindow) -> None:
    window = make_window()
    menus = {path: [a.objectName() for a in menu.actions() if not a.isSeparator()]
             for path, menu in window.action_set.menus.items()}
    assert list(menus)[:5] == ["File", "Edit", "View", "Task", "Tools"]
    assert menus["File"] == ["file.import", "file.sample", "file.settings", "file.shortcuts", "file.wallet",
                             "file.quit"]
    assert menus["Edit"] == ["edit.undo", "edit.redo", "edit.copy", "edit.cut", "edit.paste", "edit.delete",
                             "edit.select_all", "edit.bring_front", "edit.send_back", "edit.hide", "edit.lock"]
    assert menus["Task"] == ["task.next", "task.previous", "task.submit", "task.skip"]
    assert {"view.fit", "view.actual", "view.zoom_in", "view.zoom_out", "view.pixel_grid", "view.crosshair",
            "view.reset_window", "view.dark_theme"} == set(menus["View"])
    assert menus["Tools"][-1] == "tools.cycle"
    assert all(spec.id in window.action_set for spec in ACTIONS)
    keys = window.action_set.shortcuts()
    assert keys["task.next"] == ("D", "PgDown") and keys["task.previous"] == ("A", "PgUp")
    assert keys["task.submit"][0] == "Ctrl+Return" and keys["edit.undo"] == ("Ctrl+Z",)
    assert window.action_set.conflicts() == {}
    assert window.action_set["task.submit"].shortcut() == QKeySequence("Ctrl+Return")


def test_a_shortcut_override_rebinds(qtbot, make_window: MakeWindow, sample_ws: Path) -> None:
    window = with_rows(qtbot, make_window(sample_ws, shortcuts={"task.next": "N", "task.skip": ""}), 12)
    assert window.action_set.shortcuts()["task.next"] == ("N",)
    assert window.action_set.shortcuts()["task.skip"] == ()
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    qtbot.keyClick(window.task_list.view, "n")
    qtbot.waitUntil(lambda: opened(window, "street_01.jpg"))
    window.action_set.rebind({"task.next": "J"})  # what the shortcut editor does
    assert window.action_set["task.next"].shortcut().toString() == "J"
    assert window.action_set.shortcuts()["task.skip"] == ("Ctrl+K",)  # back to its default


def test_bridge_delivers_results_and_errors_on_the_gui_thread(qtbot) -> None:
    bridge = Bridge()
    gui = threading.get_ident()
    seen: list[tuple[str, object, int]] = []
    ok: Future[int] = Future()
    bad: Future[int] = Future()
    bridge.run(ok, lambda v: seen.append(("done", v, threading.get_ident())))
    bridge.run(bad, lambda v: None, lambda e: seen.append(("error", str(e), threading.get_ident())))
    worker = threading.Thread(target=lambda: (ok.set_result(7), bad.set_exception(ValueError("x")),
                                              bridge.post(lambda: seen.append(("post", None, threading.get_ident())))))
    worker.start()
    worker.join()
    assert seen == []  # nothing runs until the GUI thread's event loop does
    qtbot.waitUntil(lambda: len(seen) == 3)
    assert [s[:2] for s in seen] == [("done", 7), ("error", "x"), ("post", None)]
    assert {s[2] for s in seen} == {gui}
    with qtbot.waitSignal(bridge.error) as blocker:  # no on_error: reported as a signal
        failing: Future[int] = Future()
        bridge.run(failing, lambda v: None)
        failing.set_exception(RuntimeError("disk full"))
    assert blocker.args == ["RuntimeError: disk full"]
    bridge.close()
    bridge.post(lambda: seen.append(("late", None, 0)))
    qtbot.wait(20)
    assert len(seen) == 3 and bridge.pending == 0


def test_run_starts_and_closes_offscreen(qtbot, tmp_path: Path) -> None:
    from app.ui.app import run

    ctx = AppContext.load(workspace=tmp_path / "ws")
    QTimer.singleShot(300, lambda: [w.close() for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow)])
    assert run(ctx, ["alaya"]) == 0
    assert ctx._runner is None and ctx._workspace is None  # closed: pending writes waited for


def test_alaya_gui_command(qtbot, tmp_path: Path) -> None:
    from app.cli import main

    QTimer.singleShot(300, lambda: [w.close() for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow)])
    assert main(["gui", "--workspace", str(tmp_path / "ws")]) == 0
    assert (tmp_path / "ws" / "alaya.sqlite3").is_file()


def test_import_folder_creates_a_project_with_rows(qtbot, make_window: MakeWindow, tmp_path: Path) -> None:
    from app.sample import write_sample_images

    folder = tmp_path / "drive-2024"
    write_sample_images(folder, count=3, size=(320, 240))
    window = make_window()
    window.import_folder(folder)
    with_rows(qtbot, window, 3)
    assert window.project_switcher.combo.currentText() == "drive-2024"
    qtbot.waitUntil(lambda: "3 imported" in window.status.currentMessage())


def test_tools_and_theme_actions(qtbot, make_window: MakeWindow, sample_ws: Path) -> None:
    window = with_rows(qtbot, make_window(sample_ws), 12)
    tools = [key for key in window.action_set.actions if key.startswith("tool.")]
    if tools:
        window.next_asset()
        qtbot.waitUntil(lambda: window.session is not None)
        first = next(key for key in tools if window.action_set[key].isChecked())
        window.action_set["tools.cycle"].trigger()
        checked = [key for key in tools if window.action_set[key].isChecked()]
        assert checked != [first] and len(checked) == 1
        assert window.view.tool_id == checked[0].split(".", 1)[1]
    app = QApplication.instance()
    style, palette, sheet = app.style().name(), app.palette(), app.styleSheet()
    dark = window.action_set["view.dark_theme"]
    was = dark.isChecked()
    try:
        dark.trigger()
        assert dark.isChecked() != was
        assert window.ctx.settings.settings.general.theme == ("dark" if dark.isChecked() else "light")
        dark.trigger()
        assert window.ctx.settings.settings.general.theme == ("dark" if was else "light")
        qtbot.waitUntil(lambda: window.ctx.settings.user_file.is_file())  # saved on the I/O pool
        assert "theme" in window.ctx.settings.user_file.read_text()
    finally:
        app.setStyleSheet(sheet)
        app.setStyle(style)
        app.setPalette(palette)

def test_window_geometry_is_remembered(qtbot, make_window: MakeWindow) -> None:
    first = make_window()
    first.resize(first.width(), 520)  # the offscreen screen is narrower than the docks need: vary the height
    first.close()
    second = make_window()
    assert second.height() == 520  # not the 900 of a first start


def test_tool_keys_win_over_window_shortcuts(qtbot, make_window: MakeWindow, sample_ws: Path) -> None:
    """Ctrl+Z mid-polygon takes back a vertex; Delete on a picked vertex removes only it."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    from app.annotators.shapes import Polygon
    from tests.ui.canvas_fixtures import click

    window = with_rows(qtbot, make_window(sample_ws), 12)
    window.next_asset()
    qtbot.waitUntil(lambda: window.session is not None)
    s, view = window.session, window.canvas
    view.actual_size()
    view.centerOn(300, 300)
    window.view.set_tool("polygon")
    for x, y in ((200, 200), (300, 200), (300, 300)):
        click(view, x, y)
    view.setFocus()
    QTest.keyClick(view, Qt.Key.Key_Return)
    (first,) = s.document.annotations()
    assert window.action_set["edit.undo"].isEnabled()
    for x, y in ((400, 200), (500, 200), (500, 300), (450, 350)):
        click(view, x, y)
    QTest.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # drops (450, 350)
    QTest.keyClick(view, Qt.Key.Key_Return)
    assert len(s.document) == 2
    second = next(a for a in s.document.annotations() if a.id != first.id)
    assert isinstance(second.shape, Polygon) and len(second.shape.parts[0].exterior) == 3
    window.view.set_tool("select")
    click(view, 450, 230)  # select the second polygon
    assert s.selection == {second.id}
    click(view, 500, 300)  # pick its vertex
    QTest.keyClick(view, Qt.Key.Key_Delete)
    assert second.id in s.document  # a triangle keeps its 3 vertices: refused, not deleted
    assert len(s.document.get(second.id).shape.parts[0].exterior) == 3


def test_label_hotkeys_on_the_canvas_choose_and_relabel(qtbot, make_window: MakeWindow, sample_ws: Path) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    window = with_rows(qtbot, make_window(sample_ws), 12)
    window.next_asset()
    qtbot.waitUntil(lambda: window.session is not None)
    s, view = window.session, window.canvas
    view.setFocus()
    QTest.keyClick(view, Qt.Key.Key_2)
    assert s.label == "person"
    s.push(AddAnnotation(Annotation.new(asset_id=s.asset_id, label="person", shape=Box(1, 1, 20, 40), author="t")))
    s.set_selection(s.document.ids())
    QTest.keyClick(view, Qt.Key.Key_4)  # with a selection: relabel it, one undo step
    assert s.label == "traffic-light" and s.document.annotations()[0].label == "traffic-light"
    s.undo()
    assert s.document.annotations()[0].label == "person"


@pytest.mark.parametrize("closed", [False, True], ids=["delivered", "closed"])
def test_a_worker_never_drops_the_last_reference_to_a_callback(qtbot, closed: bool) -> None:
    """Callbacks hold widgets; one freed on a worker thread is destroyed there (a segfault now and
    then). Here the worker holds the future longest, yet the callback is freed on the GUI thread."""
    import time

    bridge = Bridge()
    seen: list[int] = []
    freed_on: list[str] = []

    class Holder:
        def done(self, value: int) -> None:
            seen.append(value)

        def __del__(self) -> None:
            freed_on.append(threading.current_thread().name)

    future: Future[int] = Future()
    bridge.run(future, Holder().done)
    if closed:
        bridge.close()
    handed = [future]
    del future

    def worker() -> None:
        f = handed.pop()
        f.set_result(1)
        time.sleep(0.3)  # the GUI thread delivers meanwhile
        del f  # the last reference to the future

    thread = threading.Thread(target=worker, name="worker")
    thread.start()
    qtbot.waitUntil(lambda: bool(freed_on), timeout=5000)
    thread.join()
    assert freed_on == [threading.main_thread().name]
    assert seen == ([] if closed else [1])
