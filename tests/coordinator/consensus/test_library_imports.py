"""The engine is a library: importing it loads neither the service stack nor pandas."""

from __future__ import annotations

import subprocess
import sys


def test_importing_consensus_loads_only_numpy_and_scipy() -> None:
    code = ("import sys, coordinator.consensus; "
            "print(','.join(m for m in ('fastapi', 'sqlalchemy', 'pandas', 'crowdkit', 'app', "
            "'coordinator.db', 'PySide6') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
