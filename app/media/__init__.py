"""Media intake: find files, validate them by decoding, hash them, scrub private metadata.

Qt-free and database-free. The names below load their modules on first use, so
`import app.media` stays cheap until a decoder is needed.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "discover_files": "discover", "natural_key": "discover",
    "probe_file": "probe", "MediaInfo": "probe", "Rejection": "probe", "ProbeResult": "probe",
    "identify": "probe", "sniff": "probe",
    "scan_files": "scan", "default_workers": "scan",
    "sha256_file": "hashing", "sha256_bytes": "hashing", "phash_array": "hashing",
    "hamming": "hashing", "near_duplicate_groups": "hashing", "exact_duplicate_groups": "hashing",
    "DEFAULT_NEAR_THRESHOLD": "hashing",
    "scrub_metadata": "metadata", "scrub_bytes": "metadata", "ScrubReport": "metadata",
    "DEFAULT_MAX_PIXELS": "images",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'app.media' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"app.media.{module}"), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return __all__
