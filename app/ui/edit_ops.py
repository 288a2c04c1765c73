"""Edit menu commands on the open session: copy, cut, paste, delete, select all (no Qt needed).

Copy and paste go through the Qt-free `Clipboard` (new ids, this asset, clipped to the image,
offset when a copy would land on its original); every change is one undo step.
"""

from __future__ import annotations

from app.annotators.clipboard import Clipboard
from app.annotators.commands import RemoveAnnotations, SetHidden, SetLocked, SetZOrder
from app.editing.session import AssetSession


class EditOps:
    def __init__(self) -> None:
        self.clipboard = Clipboard()

    def copy(self, session: AssetSession) -> int:
        return self.clipboard.copy(session)

    def cut(self, session: AssetSession) -> int:
        return self.clipboard.cut(session)

    def paste(self, session: AssetSession) -> list[str]:
        return self.clipboard.paste(session)

    def delete(self, session: AssetSession) -> int:
        ids = sorted(i for i in session.selection if not session.document.get(i).locked)
        if len(ids) < len(session.selection):
            session.notify("locked annotations are kept")
        if ids:
            session.push(RemoveAnnotations(ids))
        return len(ids)

    def select_all(self, session: AssetSession) -> None:
        session.set_selection(session.document.ids())

    def bring_to_front(self, session: AssetSession) -> None:
        if session.selection:
            session.push(SetZOrder.to_front(session.document, session.selection))

    def send_to_back(self, session: AssetSession) -> None:
        if session.selection:
            session.push(SetZOrder.to_back(session.document, session.selection))

    def toggle_hidden(self, session: AssetSession) -> None:
        """Hide the selection, or show it when all of it is hidden (one undo step)."""
        chosen = [session.document.get(i) for i in session.selection]
        if chosen:
            session.push(SetHidden(session.selection, not all(a.hidden for a in chosen)))

    def toggle_locked(self, session: AssetSession) -> None:
        chosen = [session.document.get(i) for i in session.selection]
        if chosen:
            session.push(SetLocked(session.selection, not all(a.locked for a in chosen)))
