"""Keep Python's cyclic garbage collector from freezing the GUI.

A full (generation 2) collection walks every tracked object while holding the GIL, from
whichever thread happens to trigger it. After torch, segment-anything and Qt load there are
millions of them: measured here, one collection held the GIL for 1.1 s, and the event loop
stood still that long while a model loaded in the background. `freeze_long_lived()` moves
everything alive now into the permanent generation (`gc.freeze`, no collection, O(1)), so later
collections only walk objects created afterwards. Call it after start-up and after a model
loads: what exists then lives for the whole session anyway.
"""

from __future__ import annotations

import gc


def freeze_long_lived() -> int:
    """Exempt every object alive now from future collections; returns how many are frozen."""
    gc.freeze()
    return gc.get_freeze_count()
