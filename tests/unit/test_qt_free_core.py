"""Everything outside `app/ui/` imports and runs with PySide6 made unimportable.

import-linter checks the import graph statically; this checks the running program, which
also catches an import hidden in a function body or done through importlib.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent(
    """
    import importlib, pkgutil, sys
    sys.modules["PySide6"] = None  # any `import PySide6...` now raises ImportError
    import app
    names = [m.name for m in pkgutil.walk_packages(app.__path__, "app.")
             if not m.name.startswith("app.ui") and ".migrations" not in m.name
             and m.name != "app.__main__"]
    for name in names:
        importlib.import_module(name)
    from app.cli import main
    code = main(["--help"])
    assert not any(k.startswith("PySide6.") for k in sys.modules), "a Qt module was loaded"
    print(len(names), code)
    """
)


def test_core_packages_import_and_run_without_qt() -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    count, code = proc.stdout.split()[-2:]
    assert int(count) > 40 and code == "0"
