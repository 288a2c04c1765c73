"""The Qt workstation: the only package allowed to import PySide6 (see pyproject's import contracts)."""
