"""Edit menu commands on the open session: copy, cut, paste, delete, select all (no Qt needed).

Copy and paste go through the Qt-free `Clipboard` (new ids, this asset, clipped to the image,
offset when a copy would land on its original); every change is one undo step.
"""

from __future__ import annotations

from app.annotators.clipboard import Clipboard
from app.annotators.commands import RemoveAnnotations
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
