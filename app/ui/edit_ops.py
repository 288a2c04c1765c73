"""Edit menu commands on the open session: copy, paste, delete, select all (no Qt needed).

The clipboard holds annotation snapshots inside the application; pasting makes new
annotations (fresh ids, this asset, this author) in one undo step, offset a little when
pasted onto the asset they came from so the copy is visible.
"""

from __future__ import annotations

from app.annotators.annotation import Annotation
from app.annotators.commands import AddAnnotation, RemoveAnnotations
from app.editing.session import AssetSession

PASTE_OFFSET = 10.0


class EditOps:
    def __init__(self) -> None:
        self.clipboard: list[Annotation] = []

    def copy(self, session: AssetSession) -> int:
        self.clipboard = [session.document.get(i) for i in sorted(session.selection)]
        return len(self.clipboard)

    def paste(self, session: AssetSession) -> list[str]:
        if not self.clipboard:
            return []
        same_asset = self.clipboard[0].asset_id == session.asset_id
        pasted = [self._fresh(a, session, same_asset) for a in self.clipboard]
        session.push(AddAnnotation(*pasted, description=f"Paste {len(pasted)}"))
        session.set_selection([a.id for a in pasted])
        return [a.id for a in pasted]

    def delete(self, session: AssetSession) -> int:
        ids = sorted(session.selection)
        if ids:
            session.push(RemoveAnnotations(ids))
        return len(ids)

    def select_all(self, session: AssetSession) -> None:
        session.set_selection(session.document.ids())

    @staticmethod
    def _fresh(a: Annotation, session: AssetSession, offset: bool) -> Annotation:
        shape = a.shape
        if offset and hasattr(shape, "translated"):
            shape = shape.translated(PASTE_OFFSET, PASTE_OFFSET)
        return Annotation.new(asset_id=session.asset_id, label=a.label, shape=shape, author=session.author,
                              attributes=dict(a.attributes), z_order=a.z_order, frame=a.frame)
