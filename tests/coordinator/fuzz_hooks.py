"""schemathesis hooks for `test_openapi_fuzz`, loaded by its CLI through SCHEMATHESIS_HOOKS.

The fuzzing admin must not lock itself out or drop its own roles half-way: GET /v1/me hands
its address to PATCH /v1/accounts/{address} (a link schemathesis infers), and one such call
turns every later request into a 403. Calls on its own account go to a bystander's instead.
"""

from __future__ import annotations

import os
from typing import Any

import schemathesis

PROTECTED = os.environ.get("ALAYA_FUZZ_PROTECT", "").lower()
BYSTANDER = os.environ.get("ALAYA_FUZZ_BYSTANDER", "")


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    address = (case.path_parameters or {}).get("address")
    if PROTECTED and isinstance(address, str) and address.lower() == PROTECTED:
        case.path_parameters["address"] = BYSTANDER
