"""Assertions for chain tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from web3.contract import Contract
from web3.logs import DISCARD

from app.wallet.revert import ContractReverted


@contextmanager
def refused(name: str, **expected_args: Any) -> Iterator[None]:
    """The block must raise ContractReverted with custom error `name` and these argument values."""
    with pytest.raises(ContractReverted) as caught:
        yield
    revert = caught.value.revert
    assert (revert.kind, revert.name) == ("custom", name), revert
    for key, value in expected_args.items():
        assert revert.args[key] == value, (key, revert.args)
    assert "`" not in revert.message, revert.message  # every placeholder was filled


def event_args(contract: Contract, event: str, receipt: Any) -> dict[str, Any]:
    """The arguments of the one `event` that `contract` emitted in `receipt`."""
    (log,) = getattr(contract.events, event)().process_receipt(receipt, errors=DISCARD)
    return dict(log["args"])
