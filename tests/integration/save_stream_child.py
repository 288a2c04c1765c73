"""Child process for the crash test: saves annotations forever, acknowledging each commit.

Usage: python save_stream_child.py WORKSPACE SEED
Prints `ACK <annotation_id> <version>` only after the save's transaction committed.
"""

from __future__ import annotations

import hashlib
import random
import sys
from pathlib import Path

from app.annotators.annotation import Annotation
from app.annotators.shapes import Box
from app.store.assets import NewAsset
from app.store.workspace import Workspace


def main() -> None:
    root, seed = Path(sys.argv[1]), int(sys.argv[2])
    rng = random.Random(seed)
    ws = Workspace.open(root)
    project = ws.projects.get_or_create("crash")
    sha = hashlib.sha256(b"crash-asset").hexdigest()
    ws.assets.add_many(project.id, [NewAsset(sha256=sha, modality="image", storage="reference",
                                             path="/nowhere.png", original_name="x.png", size_bytes=1,
                                             metadata={})])
    asset = ws.assets.by_sha256(project.id, [sha])[sha]
    live: list[Annotation] = []
    while True:
        if live and rng.random() < 0.6:  # edit an existing annotation: a new version
            i = rng.randrange(len(live))
            x = rng.uniform(0, 500)
            live[i] = ws.annotations.save(live[i].replace(shape=Box(x, x, x + 10, x + 20)))
            saved = live[i]
        else:
            saved = ws.annotations.save(Annotation.new(asset_id=asset.id, label="car",
                                                       shape=Box(1, 2, 30, 40), author="crash"))
            live.append(saved)
        print(f"ACK {saved.id} {saved.version}", flush=True)


if __name__ == "__main__":
    main()
