"""The window's side of pre-labeling: one `PrelabelAssist`, fed by the open task and the queue.

The assist (model, embeddings, prefetch) is built on first need: when the smart tool is
chosen, or at once when a SAM checkpoint is configured (the user asked for SAM, so the next
tasks' embeddings should be ready before they open). Each session gets a `SessionAssist`, the
`ProposalRequests` its smart tool talks to; answers return through the bridge and repaint the
canvas. No model, disk or image work happens here: it all runs on the assist's threads.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from app.context import AppContext
from app.editing.assist import PrelabelAssist
from app.editing.session import AssetSession
from app.store.records import media_path
from app.ui.workers import Bridge, describe

log = logging.getLogger(__name__)


def _load_image(path: str) -> Any:
    from app.media.raster_io import decode_full, read_info

    return decode_full(read_info(path))


class AssistHost(QObject):
    message = Signal(str)  # for the status bar

    def __init__(self, ctx: AppContext, bridge: Bridge, *, repaint: Callable[[], None],
                 upcoming: Callable[[int], list[Any]], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.bridge = ctx, bridge
        self._repaint = repaint
        self._upcoming = upcoming  # n -> the next n task rows after the open one, in queue order
        self.assist: PrelabelAssist | None = None
        self.session: AssetSession | None = None
        self._active = False  # the smart tool was chosen in this window
        self._opened: str | None = None  # sha256 the assist has open

    @property
    def settings(self) -> Any:
        return self.ctx.settings.settings.prelabel

    def _wanted(self) -> bool:
        return self._active or self.settings.checkpoint is not None

    def _ensure(self) -> PrelabelAssist:
        if self.assist is None:
            from app.models.registry import create

            prelabel = self.settings
            self.assist = PrelabelAssist(functools.partial(create, prelabel),
                                         self.ctx.workspace.root / "cache" / "embeddings",
                                         prefetch_ahead=prelabel.prefetch_ahead,
                                         cache_bytes=prelabel.cache_disk_mb * 2**20)
        return self.assist

    # -- the window tells us -----------------------------------------------------------------

    def attach(self, session: AssetSession | None) -> None:
        """A new session is open: give it a `SessionAssist` and start its embedding."""
        if self.session is not None and isinstance(self.session.assist, SessionAssist):
            self.session.assist.close()
        self.session, self._opened = session, None
        if session is None or session.asset.modality != "image":
            return
        session.assist = SessionAssist(self, session)
        if self._wanted():
            self.open(session)

    def activate(self) -> None:
        """The smart tool was chosen: build the model now, and start on the open image."""
        if not self._active:
            self._active = True
            self.bridge.run(self._ensure().preload(), lambda _m: None,
                            lambda exc: self.message.emit(f"pre-labeling unavailable: {describe(exc)}"))
        if self.session is not None and self._opened != self.session.asset.sha256:
            self.open(self.session)

    def open(self, session: AssetSession) -> None:
        assist = self._ensure()
        self._opened = session.asset.sha256
        path = str(session.asset.media_path(self.ctx.workspace.root))
        self.bridge.run(assist.open(session.asset.sha256, functools.partial(_load_image, path)),
                        lambda _r: None, lambda exc: self.message.emit(f"pre-labeling: {describe(exc)}"))
        if self.settings.prefetch_ahead > 0:
            rows = [r for r in self._upcoming(self.settings.prefetch_ahead) if r.modality == "image"]
            root = self.ctx.workspace.root
            upcoming = [(r.sha256, functools.partial(_load_image, str(media_path(root, r.path, r.storage)))) for r in rows]
            self.bridge.run(assist.schedule(upcoming), lambda _r: None, lambda exc: log.warning(
                "prefetch schedule failed: %s", exc))

    def settings_changed(self) -> None:
        """Model, checkpoint or device may have changed: the next use builds a new assist.

        The open session keeps its `SessionAssist`: its smart tool goes on asking, and the
        next request reaches the new model.
        """
        self._drop_assist()
        if self.session is not None and self._wanted():
            self.open(self.session)

    def close(self) -> None:
        """The window closes: the session's requests stop and the model's threads end."""
        if self.session is not None and isinstance(self.session.assist, SessionAssist):
            self.session.assist.close()
        self._drop_assist()

    def _drop_assist(self) -> None:
        old, self.assist, self._opened = self.assist, None, None
        if old is not None:  # joining its threads may wait for a running encode: not on the GUI thread
            threading.Thread(target=old.close, name="alaya-assist-close", daemon=True).start()


HOVER_SETTLE_MS = 60  # a hover preview is asked for once the pointer rests this long


class SessionAssist:
    """The `ProposalRequests` of one session's smart tool.

    Hover previews wait until the pointer settles: a pointer sweeping across the image would
    otherwise keep the decoder busy non-stop, taking the CPU from the prefetch encoder and the
    GUI, for previews nobody sees. Clicks go at once and drop a waiting hover.
    """

    def __init__(self, host: AssistHost, session: AssetSession) -> None:
        self.host, self.session = host, session
        self._hover: dict[str, Any] | None = None
        self._closed = False
        self._hover_timer = QTimer(host)  # dies with the window, never fires into a closed one
        self._hover_timer.setSingleShot(True)
        self._hover_timer.setInterval(HOVER_SETTLE_MS)
        self._hover_timer.timeout.connect(self._send_hover)

    @property
    def accept_as(self) -> str:
        return str(self.host.settings.accept_as)

    @property
    def tolerance(self) -> float:
        return float(self.host.settings.polygon_tolerance)

    def request(self, *, positive: Sequence[Any], negative: Sequence[Any], box: Any, previous_logits: Any,
                hover: bool, done: Callable[[Any], None]) -> None:
        if self._closed:
            return  # a tool of a session no longer shown
        request = dict(positive=positive, negative=negative, box=box, previous_logits=previous_logits,
                       hover=hover, done=done)
        if hover:
            self._hover = request
            self._hover_timer.start()  # restarts: only the resting position is asked for
            return
        self._hover = None
        self._hover_timer.stop()
        self._send(**request)

    def close(self) -> None:
        """The session is no longer shown: drop a waiting hover and the timer. Idempotent.

        A second `deleteLater` would touch a deleted QTimer; that RuntimeError, raised inside a
        Qt override such as `closeEvent`, makes shiboken 6.11 segfault instead of raising.
        """
        if self._closed:
            return
        self._closed, self._hover = True, None
        self._hover_timer.stop()
        self._hover_timer.deleteLater()

    def _send_hover(self) -> None:
        request, self._hover = self._hover, None
        if request is not None and self.host.session is self.session:
            self._send(**request)

    def _send(self, *, positive: Sequence[Any], negative: Sequence[Any], box: Any, previous_logits: Any,
              hover: bool, done: Callable[[Any], None]) -> None:
        from app.models.base import Prompt

        host = self.host
        if host.session is not self.session:
            return  # a tool of a session no longer shown
        if host._opened != self.session.asset.sha256:
            host.open(self.session)
        assist = host._ensure()

        def deliver(result: Any) -> None:
            if host.session is self.session:
                done(result)
                host._repaint()

        try:
            prompt = Prompt(positive=tuple(positive), negative=tuple(negative), box=box,
                            previous_logits=previous_logits)
        except Exception as exc:  # noqa: BLE001 - a bad prompt is reported like a failed one
            host.bridge.post(lambda: deliver(exc))
            return
        host.bridge.run(assist.propose(prompt, hover=hover), deliver, deliver)
