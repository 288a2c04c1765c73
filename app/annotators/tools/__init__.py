"""Canvas tools: Qt-free state machines over neutral pointer and key events, one per module.

The Qt view translates its mouse and key events into `PointerEvent`/`KeyEvent` in image
coordinates and hands them to the active tool; the tool pushes commands through its
`ToolContext` and exposes a `Preview` for the view to draw. Tools never touch Qt.
"""
