"""Revert data decoded into words a user can act on.

A reverted call carries ABI-encoded data: `Error(string)` from `require(..., "text")`,
`Panic(uint256)` from the compiler's checks, or a custom error declared in a contract's ABI.
web3 8 decodes only the first two (and names custom errors by raw hex), so every revert the
wallet shows goes through `RevertDecoder`, which knows the custom errors of all our artifacts.

The words for a custom error come from the contract itself: its NatSpec `@notice` (compiled into
the artifact's `userdoc`), with each `name` in backticks replaced by that argument's value. For
OpenZeppelin's errors, whose NatSpec is written for developers, `PLAIN_WORDS` below says it
for users; anything else falls back to the `@dev` text, then to `Name(arg=value, ...)`.
Arguments named `...At` or `deadline` are unix times and are shown as UTC dates.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi.exceptions import DecodingError
from eth_utils import function_signature_to_4byte_selector, keccak, to_checksum_address

from app.core.errors import AlayaError, ValidationError

ERROR_SELECTOR = function_signature_to_4byte_selector("Error(string)")
PANIC_SELECTOR = function_signature_to_4byte_selector("Panic(uint256)")

# https://docs.soliditylang.org/en/latest/control-structures.html#panic-via-assert-and-error-via-require
PANIC_MEANINGS: dict[int, str] = {
    0x00: "a generic compiler panic",
    0x01: "an internal check (assert) failed",
    0x11: "an arithmetic overflow or underflow",
    0x12: "a division or modulo by zero",
    0x21: "a value out of range for an enum",
    0x22: "a corrupt storage byte array",
    0x31: "pop() on an empty array",
    0x32: "an array index out of bounds",
    0x41: "too much memory allocated",
    0x51: "a call to an uninitialised internal function",
}

# OpenZeppelin errors our contracts can raise, in a user's words (their NatSpec speaks to developers).
PLAIN_WORDS: dict[str, str] = {
    "ERC20InsufficientBalance": "`sender` holds `balance` tokens, but `needed` are needed.",
    "ERC20InsufficientAllowance": "`spender` may spend only `allowance` of your tokens, but `needed` are needed: "
    "approve it for more first.",
    "ERC2612ExpiredSignature": "The permit signature expired at `deadline`.",
    "ERC2612InvalidSigner": "The permit was signed by `signer`, not by the owner `owner`.",
    "OwnableUnauthorizedAccount": "`account` is not the owner of this contract.",
    "AccessControlUnauthorizedAccount": "`account` lacks the role `neededRole` for this action.",
    "ERC721NonexistentToken": "Token `tokenId` does not exist.",
    "ERC721IncorrectOwner": "`sender` does not own token `tokenId` (its owner is `owner`).",
    "ERC721InsufficientApproval": "`operator` is not allowed to move token `tokenId`.",
    "ReentrancyGuardReentrantCall": "The contract refused a re-entrant call.",
    "ECDSAInvalidSignature": "The signature is invalid.",
    "ECDSAInvalidSignatureLength": "The signature has a wrong length (`length` bytes).",
    "ECDSAInvalidSignatureS": "The signature is malformed (its s value is too high).",
    "SafeERC20FailedOperation": "A transfer of token `token` failed.",
    "ERC20InvalidApprover": "`approver` cannot approve tokens (the zero address).",
    "ERC20InvalidSpender": "`spender` cannot be approved to spend tokens (the zero address).",
    "ERC20InvalidSender": "Tokens cannot be sent from `sender` (the zero address).",
    "ERC20InvalidReceiver": "Tokens cannot be sent to `receiver` (the zero address).",
    "ERC721InvalidApprover": "`approver` cannot approve this NFT.",
    "ERC721InvalidOperator": "`operator` cannot be approved for NFTs.",
    "ERC721InvalidOwner": "`owner` cannot own NFTs (the zero address).",
    "ERC721InvalidSender": "The NFT cannot come from `sender`.",
    "ERC721InvalidReceiver": "`receiver` cannot receive this NFT (the zero address, or a contract that does not "
    "accept NFTs).",
    "InvalidAccountNonce": "The signature uses a stale nonce: `account`'s current nonce is `currentNonce`.",
    "OwnableInvalidOwner": "`owner` cannot own this contract (the zero address).",
    "AccessControlBadConfirmation": "Only the account itself can renounce its role.",
    "InvalidShortString": "A name is too long for this contract.",
    "StringTooLong": "The text `str` is too long for this contract.",
}

_PLACEHOLDER = re.compile(r"`([A-Za-z_][A-Za-z0-9_]*)`")
_HEX = re.compile(r"(?:0x)?([0-9a-fA-F]*)")
EMPTY_REVERT_MESSAGE = (
    "The contract refused without giving a reason (a require without a message, running out "
    "of gas, or a call to an address that is not a contract)."
)


@dataclass(frozen=True)
class DecodedRevert:
    """One revert, decoded. `kind`: error (Error(string)), panic, custom, empty, unknown, malformed
    or out-of-gas (a mined transaction that hit its gas limit)."""

    kind: str
    name: str
    args: Mapping[str, Any]
    message: str
    data: bytes = field(repr=False)

    def __str__(self) -> str:
        return self.message


class ContractReverted(AlayaError):
    """A call or transaction the contract refused; the message is the decoded reason."""

    def __init__(self, revert: DecodedRevert) -> None:
        self.revert = revert
        super().__init__(revert.message)


@dataclass(frozen=True)
class _ErrorType:
    name: str
    names: tuple[str, ...]
    types: tuple[str, ...]
    template: str


def _canonical_type(entry: Mapping[str, Any]) -> str:
    """ABI type with tuples spelled out, as in a signature: (uint256,address)[]."""
    abi_type = entry["type"]
    if abi_type.startswith("tuple"):
        inner = ",".join(_canonical_type(component) for component in entry["components"])
        return f"({inner}){abi_type[len('tuple'):]}"
    return abi_type


class RevertDecoder:
    """Maps 4-byte selectors to the custom errors of a set of ABIs (and their NatSpec)."""

    def __init__(self) -> None:
        self._errors: dict[bytes, _ErrorType] = {}
        self._roles: dict[bytes, str] = {bytes(32): "DEFAULT_ADMIN_ROLE"}

    def add_abi(self, abi: Iterable[Mapping[str, Any]], userdoc: Mapping | None = None,
                devdoc: Mapping | None = None) -> RevertDecoder:
        """Learn the errors (and role constants) of one contract ABI; returns self for chaining."""
        if isinstance(abi, (str, bytes)) or not isinstance(abi, Iterable):
            raise ValidationError("an ABI must be a list of entries", where="abi")
        notices = (userdoc or {}).get("errors", {})
        details = (devdoc or {}).get("errors", {})
        for entry in abi:
            if not isinstance(entry, Mapping) or "type" not in entry:
                raise ValidationError(f"not an ABI entry: {entry!r:.80}", where="abi")
            if entry["type"] == "function" and entry.get("name", "").endswith("_ROLE") and not entry.get("inputs"):
                self._roles[keccak(text=entry["name"])] = entry["name"]
            if entry["type"] != "error":
                continue
            inputs = entry.get("inputs", [])
            types = tuple(_canonical_type(item) for item in inputs)
            signature = f"{entry['name']}({','.join(types)})"
            template = (_doc_text(notices.get(signature), "notice") or PLAIN_WORDS.get(entry["name"])
                        or _doc_text(details.get(signature), "details") or "")
            names = tuple(item.get("name") or f"arg{index}" for index, item in enumerate(inputs))
            self._errors[function_signature_to_4byte_selector(signature)] = _ErrorType(
                entry["name"], names, types, template)
        return self

    def error_words(self) -> dict[str, tuple[tuple[str, ...], str]]:
        """{error signature: (argument names, the words shown, with `name` placeholders)}."""
        return {f"{item.name}({','.join(item.types)})": (item.names, item.template) for item in self._errors.values()}

    def decode(self, data: bytes | str | None) -> DecodedRevert:
        """Decode raw revert data (bytes or 0x-hex) into a `DecodedRevert`."""
        raw = _to_bytes(data)
        if not raw:
            return DecodedRevert("empty", "", {}, EMPTY_REVERT_MESSAGE, raw)
        selector, body = raw[:4], raw[4:]
        if selector == ERROR_SELECTOR:
            return self._decode_error_string(raw, body)
        if selector == PANIC_SELECTOR:
            return self._decode_panic(raw, body)
        error_type = self._errors.get(selector)
        if error_type is None:
            return DecodedRevert("unknown", "", {}, f"The contract refused with an error this wallet does not know "
                                 f"(selector 0x{selector.hex()}).", raw)
        try:
            values = abi_decode(list(error_type.types), body, strict=False)
        except (DecodingError, ValueError, OverflowError):
            return DecodedRevert("malformed", error_type.name, {}, f"The contract refused with {error_type.name}, "
                                 "but the details it sent could not be read.", raw)
        args = {name: to_checksum_address(value) if abi_type == "address" else value
                for name, abi_type, value in zip(error_type.names, error_type.types, values)}
        return DecodedRevert("custom", error_type.name, args, self._words(error_type, args), raw)

    def _decode_error_string(self, raw: bytes, body: bytes) -> DecodedRevert:
        try:
            (reason,) = abi_decode(["string"], body, strict=False)
        except (DecodingError, ValueError, UnicodeDecodeError):
            return DecodedRevert("malformed", "Error", {}, "The contract refused with a reason that could not be read.",
                                 raw)
        return DecodedRevert("error", "Error", {"reason": reason}, f"The contract refused: {reason}", raw)

    def _decode_panic(self, raw: bytes, body: bytes) -> DecodedRevert:
        try:
            (code,) = abi_decode(["uint256"], body, strict=False)
        except (DecodingError, ValueError):
            return DecodedRevert("malformed", "Panic", {}, "The contract stopped on an unreadable panic.", raw)
        meaning = PANIC_MEANINGS.get(code, "an unknown panic code")
        return DecodedRevert("panic", "Panic", {"code": code},
                             f"The contract stopped on {meaning} (panic 0x{code:02x}): this is a bug in the contract "
                             "or a call it does not expect.", raw)

    def _words(self, error_type: _ErrorType, args: Mapping[str, Any]) -> str:
        formatted = {name: self._format(name, value) for name, value in args.items()}
        if error_type.template:
            return _PLACEHOLDER.sub(lambda match: formatted.get(match.group(1), match.group(0)), error_type.template)
        listed = ", ".join(f"{name}={value}" for name, value in formatted.items())
        return f"The contract refused: {error_type.name}({listed})."

    def _format(self, name: str, value: Any) -> str:
        if isinstance(value, bytes):
            return self._roles.get(value, "0x" + value.hex())
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, int) and (name.endswith("At") or name == "deadline"):
            return _format_time(value)
        return str(value)

    # --- exceptions raised by web3 / eth-tester -------------------------------------------
    def decode_exception(self, exc: BaseException) -> DecodedRevert | None:
        """The revert inside a web3 (or eth-tester) exception, or None when `exc` is not a revert."""
        data = revert_data_of(exc)
        return None if data is None else self.decode(data)

    @contextmanager
    def reverts_decoded(self) -> Iterator[None]:
        """Turn any revert raised inside the block into `ContractReverted` with the decoded reason."""
        try:
            yield
        except ContractReverted:
            raise
        except Exception as exc:
            decoded = self.decode_exception(exc)
            if decoded is None:
                raise
            raise ContractReverted(decoded) from exc


def revert_data_of(exc: BaseException) -> bytes | None:
    """Raw revert data carried by `exc`: web3's ContractLogicError family, or eth-tester's TransactionFailed."""
    from web3.exceptions import ContractLogicError  # web3 is heavy; only the wallet's chain paths need it

    if isinstance(exc, ContractLogicError):
        return _data_from_rpc(exc.data)
    # eth-tester re-raises with a text reason; the raw bytes are on the exception it replaced.
    seen: BaseException | None = exc
    while seen is not None:
        if type(seen).__name__ == "TransactionFailed" and seen.args:
            first = seen.args[0]
            if isinstance(first, bytes):
                return first
            if isinstance(first, str) and first.startswith("execution reverted: b"):
                return _literal_bytes(first.removeprefix("execution reverted: "))
        seen = seen.__context__
    return None


def _data_from_rpc(data: Any) -> bytes:
    """Nodes send revert data as 0x-hex, as 'Reverted 0x...', or inside a dict under 'data'."""
    if isinstance(data, Mapping):
        data = data.get("data")
    if isinstance(data, str):
        return _to_bytes(data.removeprefix("Reverted ").strip())
    return b""


def _literal_bytes(text: str) -> bytes | None:
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return None
    return value if isinstance(value, bytes) else None


def _to_bytes(data: bytes | bytearray | str | None) -> bytes:
    if data is None:
        return b""
    if isinstance(data, (bytes, bytearray)):
        return bytes(data)
    if not isinstance(data, str):
        raise ValidationError(f"revert data must be bytes or a hex string, not {type(data).__name__}",
                              where="revert data")
    match = _HEX.fullmatch(data.strip())
    if match is None or len(match.group(1)) % 2:
        raise ValidationError(f"not an even-length hex string: {data[:80]!r}", where="revert data")
    return bytes.fromhex(match.group(1))


def _doc_text(entries: list[Mapping[str, str]] | None, key: str) -> str:
    return (entries or [{}])[0].get(key, "").strip()


def _format_time(value: int) -> str:
    try:
        return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (OverflowError, OSError, ValueError):
        return str(value)
