"""The domain's exception hierarchy.

Every error a user can cause derives from `AlayaError` and carries a message written for
that user: the CLI prints it as one line, the GUI shows it in a dialog. Anything else that
escapes is a bug and is logged with its traceback.
"""

from __future__ import annotations


class AlayaError(Exception):
    """An error with a message meant for the user."""

    exit_code = 1


class ValidationError(AlayaError, ValueError):
    """Input that does not satisfy its schema; names the field or location at fault."""

    exit_code = 2

    def __init__(self, message: str, *, where: str | None = None) -> None:
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


class NotFoundError(AlayaError, LookupError):
    """A project, asset, task or annotation that does not exist."""

    exit_code = 3


class ConflictError(AlayaError):
    """A write that contradicts the current state (duplicate name, illegal transition)."""

    exit_code = 4


class LockedSettingError(AlayaError):
    """The administrator policy locks this setting; the message says by which file and why."""

    exit_code = 5


class StorageError(AlayaError):
    """The workspace database or its files cannot be opened, migrated or written."""

    exit_code = 6


class MediaError(AlayaError):
    """A media file that cannot be decoded or fails validation."""

    exit_code = 7
