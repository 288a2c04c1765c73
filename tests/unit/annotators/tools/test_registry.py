"""The tool registry, and the contract every registered tool keeps with the canvas host."""

from __future__ import annotations

import subprocess
import sys

import pytest

from app.annotators.tools import registry
from app.annotators.tools.base import Preview, Tool
from app.annotators.tools.registry import TOOLS, ToolSpec
from app.core.errors import NotFoundError
from tests.unit.annotators.tools.fake_context import (
    FakeContext,
    hover,
    key,
    press,
    release,
)

MINE = ["box", "rotated_box", "polygon", "polyline", "points", "tag"]


def test_ids_shortcuts_and_modules_are_well_formed() -> None:
    ids = registry.ids()
    assert len(set(ids)) == len(ids)
    assert {*MINE, "select", "brush", "eraser"} <= set(ids)
    shortcuts = [s.shortcut.lower() for s in TOOLS]
    assert len(set(shortcuts)) == len(shortcuts)
    for spec in TOOLS:
        assert len(spec.shortcut) == 1 and spec.shortcut.isalpha()  # 1-9 pick labels
        assert spec.name and spec.icon and spec.tip and spec.class_name
    assert {s.id: s.shortcut for s in TOOLS if s.id in ("select", "box", "polygon")} == {
        "select": "V", "box": "B", "polygon": "P"}
    assert (registry.get("select").module, registry.get("select").class_name) == (
        "select", "SelectTool")
    assert {registry.get(i).class_name for i in ("brush", "eraser")} == {"BrushTool",
                                                                         "EraserTool"}
    assert registry.get("eraser").module == "brush"


def test_importing_the_registry_imports_no_tool() -> None:
    code = ("import sys, app.annotators.tools.registry as r; r.ids(); r.cycle('box');"
            "print(sorted(m for m in sys.modules if m.startswith('app.annotators.tools.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "['app.annotators.tools.base', 'app.annotators.tools.registry']"


@pytest.mark.parametrize("tool_id", MINE)
def test_factory_builds_the_tool(tool_id: str) -> None:
    spec = registry.get(tool_id)
    assert spec.available
    tool = spec.create(FakeContext())
    assert isinstance(tool, Tool) and tool.name == tool_id


def test_get_and_for_shortcut() -> None:
    assert registry.for_shortcut("b") is registry.get("box")
    assert registry.for_shortcut("P").id == "polygon"  # type: ignore[union-attr]
    assert registry.for_shortcut("1") is None
    with pytest.raises(NotFoundError):
        registry.get("lasso")


def test_cycle_wraps_both_ways_over_all_tools() -> None:
    order = registry.ids()
    assert registry.cycle(order[0], 1, available_only=False) == order[1]
    assert registry.cycle(order[-1], 1, available_only=False) == order[0]
    assert registry.cycle(order[0], -1, available_only=False) == order[-1]
    assert registry.cycle(order[2], len(order), available_only=False) == order[2]
    assert registry.cycle(None, 1, available_only=False) == order[0]
    assert registry.cycle("unknown", -1, available_only=False) == order[-1]


def test_cycle_skips_tools_not_written_yet(monkeypatch: pytest.MonkeyPatch) -> None:
    ghost = ToolSpec("ghost", "Ghost", "G", "tool-ghost", "no_such_module", "Ghost", "x")
    box, polygon = registry.get("box"), registry.get("polygon")
    monkeypatch.setattr(registry, "TOOLS", (box, ghost, polygon))
    assert not ghost.available
    assert registry.cycle("box") == "polygon"
    assert registry.cycle("polygon") == "box"
    assert registry.cycle("box", available_only=False) == "ghost"
    with pytest.raises(ImportError):
        ghost.factory  # noqa: B018  # only building the absent tool fails


def test_shortcut_conflicts_with_label_hotkeys() -> None:
    assert registry.shortcut_conflicts(["1", "2", "x"]) == []
    assert registry.shortcut_conflicts(["b", "p", "3"]) == [("box", "B"), ("polygon", "P")]


# -- the contract with the host, for every tool written here ---------------------------------

@pytest.fixture(params=MINE)
def tool(request: pytest.FixtureRequest) -> Tool:
    return registry.get(request.param).create(FakeContext())


def test_idle_tool_is_not_busy_and_leaves_host_keys_alone(tool: Tool) -> None:
    assert not tool.busy
    tool.cancel()  # harmless when idle
    assert not tool.on_key(key("Escape"))
    assert not tool.on_key(key("Delete"))
    assert not tool.on_pointer(press(5, 5, button="middle"))  # middle button pans the view
    pv = tool.preview()
    assert pv is None or isinstance(pv, Preview)


def test_hover_when_idle_changes_nothing(tool: Tool) -> None:
    tool.on_pointer(hover(10, 10))
    assert not tool.busy and len(tool.ctx.document) == 0


def test_escape_ends_any_gesture_without_a_trace(tool: Tool) -> None:
    tool.on_pointer(press(10, 10))
    tool.on_pointer(hover(60, 60))
    tool.on_key(key("Escape"))
    tool.on_pointer(release(60, 60))
    assert not tool.busy
    ctx = tool.ctx
    assert isinstance(ctx, FakeContext)
    assert len(ctx.document) == (1 if tool.name == "tag" else 0)
