"""Who is working: the name recorded as the author of edits made on this machine."""

from __future__ import annotations

import getpass


def local_user() -> str:
    """The operating-system user, or "local" where it cannot be told (containers without one)."""
    try:
        return getpass.getuser() or "local"
    except (KeyError, OSError):
        return "local"
