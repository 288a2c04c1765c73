"""RevertDecoder: Error(string), Panic(uint256) and custom errors from ABIs, in plain words."""

from __future__ import annotations

import re

import pytest
from eth_abi import encode
from eth_utils import function_signature_to_4byte_selector as selector
from web3.exceptions import ContractCustomError, ContractLogicError, ContractPanicError

from app.core.errors import ValidationError
from app.wallet.contracts import revert_decoder
from app.wallet.revert import ContractReverted, RevertDecoder, revert_data_of

ALICE = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
ABI = [
    {"type": "error", "name": "StillBonding", "inputs": [{"name": "unlockAt", "type": "uint64"}]},
    {"type": "error", "name": "Pair", "inputs": [{"name": "", "type": "tuple",
                                                  "components": [{"name": "a", "type": "uint8"},
                                                                 {"name": "b", "type": "bool"}]}]},
    {"type": "function", "name": "MINTER_ROLE", "inputs": [], "outputs": [{"type": "bytes32"}]},
    {"type": "error", "name": "AccessControlUnauthorizedAccount",
     "inputs": [{"name": "account", "type": "address"}, {"name": "neededRole", "type": "bytes32"}]},
]
USERDOC = {"errors": {"StillBonding(uint64)": [{"notice": "Still bonding until `unlockAt`."}]}}


def _data(signature: str, types: list[str], values: list) -> bytes:
    return selector(signature) + encode(types, values)


def test_error_string_and_panic() -> None:
    decoder = RevertDecoder()
    decoded = decoder.decode(_data("Error(string)", ["string"], ["already claimed"]))
    assert (decoded.kind, decoded.args, decoded.message) == ("error", {"reason": "already claimed"},
                                                             "The contract refused: already claimed")
    panic = decoder.decode(_data("Panic(uint256)", ["uint256"], [0x11]))
    assert panic.kind == "panic" and panic.args == {"code": 0x11}
    assert "arithmetic overflow or underflow (panic 0x11)" in panic.message
    assert "unknown panic code" in decoder.decode(_data("Panic(uint256)", ["uint256"], [0x99])).message


def test_custom_error_with_notice_time_and_role_names() -> None:
    decoder = RevertDecoder().add_abi(ABI, USERDOC)
    decoded = decoder.decode("0x" + _data("StillBonding(uint64)", ["uint64"], [1_800_000_000]).hex())
    assert (decoded.kind, decoded.name, decoded.args) == ("custom", "StillBonding", {"unlockAt": 1_800_000_000})
    assert decoded.message == "Still bonding until 2027-01-15 08:00:00 UTC."
    role = _data("AccessControlUnauthorizedAccount(address,bytes32)", ["address", "bytes32"],
                 [ALICE.lower(), bytes.fromhex("9f2df0fed2c77648de5860a4cc508cd0818c85b8b8a1ab4ceeef8d981c8956a6")])
    decoded = decoder.decode(role)
    assert decoded.args["account"] == ALICE  # checksummed
    assert decoded.message == f"{ALICE} lacks the role MINTER_ROLE for this action."


def test_tuple_arguments_and_fallback_words() -> None:
    decoded = RevertDecoder().add_abi(ABI).decode(_data("Pair((uint8,bool))", ["(uint8,bool)"], [(3, True)]))
    assert decoded.name == "Pair" and decoded.args == {"arg0": (3, True)}
    assert decoded.message == "The contract refused: Pair(arg0=(3, True))."


def test_unknown_empty_and_malformed_data() -> None:
    decoder = RevertDecoder().add_abi(ABI, USERDOC)
    assert decoder.decode(b"").kind == "empty" and decoder.decode(None).kind == "empty"
    unknown = decoder.decode(bytes.fromhex("deadbeef"))
    assert unknown.kind == "unknown" and "0xdeadbeef" in unknown.message
    truncated = decoder.decode(selector("StillBonding(uint64)") + b"\x00" * 5)
    assert truncated.kind == "malformed" and truncated.name == "StillBonding"
    assert decoder.decode(selector("Error(string)") + b"\x01").kind == "malformed"


@pytest.mark.parametrize("bad", ["0xabc", "zz", 12])
def test_bad_revert_data_is_refused(bad) -> None:
    with pytest.raises(ValidationError, match="revert data"):
        RevertDecoder().decode(bad)


@pytest.mark.parametrize("bad", ["[]", [1], [{"name": "x"}]])
def test_bad_abi_is_refused(bad) -> None:
    with pytest.raises(ValidationError, match="abi"):
        RevertDecoder().add_abi(bad)


def test_web3_exceptions_are_decoded() -> None:
    decoder = revert_decoder()
    data = "0x" + _data("AlreadyClaimed(uint256,address)", ["uint256", "address"], [202612, ALICE]).hex()
    decoded = decoder.decode_exception(ContractCustomError(data, data=data))
    assert decoded.name == "AlreadyClaimed" and decoded.message == f"{ALICE} already claimed epoch 202612."
    panic = "0x" + _data("Panic(uint256)", ["uint256"], [0x12]).hex()
    assert decoder.decode_exception(ContractPanicError("x", data=panic)).args == {"code": 0x12}
    reverted_prefix = "Reverted " + data
    assert decoder.decode_exception(ContractLogicError("x", data=reverted_prefix)).name == "AlreadyClaimed"
    assert decoder.decode_exception(ContractLogicError("x", data={"data": data})).name == "AlreadyClaimed"
    assert decoder.decode_exception(ContractLogicError("execution reverted", data=None)).kind == "empty"
    assert decoder.decode_exception(ValueError("not a revert")) is None


def test_reverts_decoded_wraps_and_passes_others() -> None:
    decoder = revert_decoder()
    data = "0x" + _data("NothingToWithdraw()", [], []).hex()
    with pytest.raises(ContractReverted, match="nothing waiting to be withdrawn") as caught:
        with decoder.reverts_decoded():
            raise ContractCustomError(data, data=data)
    assert isinstance(caught.value.__cause__, ContractCustomError)
    with pytest.raises(KeyError):
        with decoder.reverts_decoded():
            raise KeyError("unrelated")


def test_every_custom_error_of_our_contracts_has_words() -> None:
    """Each error our contracts declare reads as a sentence, with every placeholder named in its inputs."""
    words = revert_decoder().error_words()
    assert "InvalidVoucherSigner(address)" in words and "ERC20InsufficientAllowance(address,uint256,uint256)" in words
    for signature, (names, template) in words.items():
        assert template, signature
        for name in re.findall(r"`(\w+)`", template):
            assert name in names, (signature, name)


def test_eth_tester_transaction_failed_carries_raw_bytes() -> None:
    from eth_tester.exceptions import TransactionFailed

    raw = _data("ZeroAmount()", [], [])
    try:
        try:
            raise TransactionFailed(raw)
        except TransactionFailed:
            raise TransactionFailed(f"execution reverted: {raw!r}")  # what web3's eth-tester provider does
    except TransactionFailed as outer:
        assert revert_data_of(outer) == raw
    assert revert_data_of(TransactionFailed(f"execution reverted: {raw!r}")) == raw
