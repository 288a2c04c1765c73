"""Submission signatures: canonical JSON, digests, EIP-191 sign/recover and garbled signatures."""

from __future__ import annotations

import hashlib
import math

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from hypothesis import given
from hypothesis import strategies as st

from app.sync.signing import (
    SUBMISSION_PREFIX, SignatureError, canonical_json, checksum_address, decode_signature, payload_digest,
    recover_digest_address, recover_digest_signer,
    recover_text_signer, sign_digest, sign_text, submission_text,
)

# the well-known anvil / hardhat account 0 and 1 (public test keys)
KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
ADDRESS = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
OTHER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
OTHER_ADDRESS = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

json_scalars = st.none() | st.booleans() | st.integers() | st.text() \
    | st.floats(allow_nan=False, allow_infinity=False)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=20)


def test_canonical_json_is_sorted_compact_utf8() -> None:
    payload = {"b": 1, "a": [1, 2.5, {"d": None, "c": "é✓"}], "e": True}
    assert canonical_json(payload) == '{"a":[1,2.5,{"c":"é✓","d":null}],"b":1,"e":true}'.encode()


@given(st.dictionaries(st.text(max_size=8), json_values, max_size=8), st.randoms())
def test_canonical_json_does_not_depend_on_key_order(payload: dict, rnd) -> None:
    items = list(payload.items())
    rnd.shuffle(items)
    shuffled = dict(items)
    assert canonical_json(shuffled) == canonical_json(payload)
    assert payload_digest(shuffled) == payload_digest(payload) == hashlib.sha256(canonical_json(payload)).hexdigest()


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, {"x": [1, {"y": math.nan}]}])
def test_canonical_json_refuses_nan_and_infinity(bad: object) -> None:
    with pytest.raises(ValueError, match="canonical JSON"):
        canonical_json(bad)
    with pytest.raises(ValueError):
        payload_digest(bad)


def test_canonical_json_refuses_lone_surrogates() -> None:
    with pytest.raises(ValueError, match="UTF-8"):
        canonical_json({"text": "\ud800"})


def test_payload_digest_is_lowercase_sha256_hex() -> None:
    assert payload_digest({}) == hashlib.sha256(b"{}").hexdigest()
    assert payload_digest({"a": 1}) == hashlib.sha256(b'{"a":1}').hexdigest()


def test_digest_sign_and_recover_round_trip() -> None:
    digest = payload_digest({"task": "t-1", "annotations": [{"label": "cat", "box": [1, 2, 3, 4]}]})
    signature = sign_digest(digest, KEY)
    assert signature.startswith("0x") and len(signature) == 132
    assert recover_digest_signer(digest, signature) == ADDRESS
    assert recover_digest_signer(digest, signature[2:]) == ADDRESS  # without 0x
    assert recover_digest_signer(digest, bytes.fromhex(signature[2:])) == ADDRESS
    # the wallet shows (and signs) a readable line that names the digest
    assert submission_text(digest) == SUBMISSION_PREFIX + digest
    message = encode_defunct(text=submission_text(digest))
    assert Account.recover_message(message, signature=signature) == ADDRESS


def test_recovery_agrees_with_eth_account_for_any_text() -> None:
    for text in ["", "hello", "multi\nline ✓", "x" * 1000]:
        signature = sign_text(text, OTHER_KEY)
        assert recover_text_signer(text, signature) == OTHER_ADDRESS
        assert Account.recover_message(encode_defunct(text=text), signature=signature) == OTHER_ADDRESS


def test_a_forged_signature_recovers_another_address() -> None:
    digest = payload_digest({"n": 1})
    assert recover_digest_signer(digest, sign_digest(digest, OTHER_KEY)) == OTHER_ADDRESS != ADDRESS
    # a signature over another payload does not recover the signer for this one
    other = sign_digest(payload_digest({"n": 2}), KEY)
    assert recover_digest_signer(digest, other) != ADDRESS


def test_v_may_be_0_or_1() -> None:
    digest = payload_digest({"n": 3})
    raw = bytearray(bytes.fromhex(sign_digest(digest, KEY)[2:]))
    raw[64] -= 27
    assert recover_digest_signer(digest, "0x" + raw.hex()) == ADDRESS


def _with(signature: str, *, r: int | None = None, s: int | None = None, v: int | None = None) -> str:
    raw = bytes.fromhex(signature[2:])
    r = int.from_bytes(raw[:32], "big") if r is None else r
    s = int.from_bytes(raw[32:64], "big") if s is None else s
    v = raw[64] if v is None else v
    return "0x" + r.to_bytes(32, "big").hex() + s.to_bytes(32, "big").hex() + bytes([v]).hex()


GOOD = sign_digest("ab" * 32, KEY)
_S = int(GOOD[66:130], 16)

GARBLED = {
    "empty": "",
    "just 0x": "0x",
    "not hex": "0x" + "zz" * 65,
    "64 bytes": GOOD[:-2],
    "66 bytes": GOOD + "00",
    "0X prefix": "0X" + GOOD[2:],
    "spaces": " " + GOOD,
    "v = 29": _with(GOOD, v=29),
    "v = 2": _with(GOOD, v=2),
    "r = 0": _with(GOOD, r=0),
    "s = 0": _with(GOOD, s=0),
    "r = n": _with(GOOD, r=N),
    "s = 2**256 - 1": _with(GOOD, s=2**256 - 1),
    "high s (malleable twin)": _with(GOOD, s=N - _S, v=55 - int(GOOD[130:], 16)),
}


@pytest.mark.parametrize("signature", GARBLED.values(), ids=GARBLED.keys())
def test_garbled_signatures_raise_signature_error(signature: str) -> None:
    with pytest.raises(SignatureError):
        recover_digest_signer("ab" * 32, signature)


@pytest.mark.parametrize("signature", [None, 12, b"\x00" * 64, bytearray(66)])
def test_signatures_of_the_wrong_type_or_size_raise_signature_error(signature: object) -> None:
    with pytest.raises(SignatureError):
        recover_digest_signer("ab" * 32, signature)  # type: ignore[arg-type]


def test_a_point_that_is_not_on_the_curve_is_a_signature_error() -> None:
    p = 2**256 - 2**32 - 977
    # the smallest r that is no curve point's x: r**3 + 7 is not a square mod p (Euler's criterion)
    r = next(x for x in range(1, 1000) if pow(x**3 + 7, (p - 1) // 2, p) != 1)
    with pytest.raises(SignatureError):
        recover_text_signer("x", _with(GOOD, r=r))


@given(st.binary(min_size=65, max_size=65))
def test_random_bytes_never_escape_as_anything_but_signature_error(raw: bytes) -> None:
    try:
        address = recover_digest_signer("cd" * 32, raw)
    except SignatureError:
        return
    assert address.startswith("0x") and len(address) == 42


def test_decode_signature_normalises_v() -> None:
    v, r, s = decode_signature(GOOD)
    assert v in (0, 1) and 0 < r < N and 0 < s <= N // 2


@pytest.mark.parametrize("digest", ["AB" * 32, "ab" * 31, "ab" * 33, "xy" * 32, "0x" + "ab" * 32, None])
def test_a_malformed_digest_is_a_value_error(digest: object) -> None:
    with pytest.raises(ValueError, match="64 lowercase hex") as caught:
        sign_digest(digest, KEY)  # type: ignore[arg-type]
    assert not isinstance(caught.value, SignatureError)
    with pytest.raises(ValueError, match="64 lowercase hex"):
        recover_digest_signer(digest, GOOD)  # type: ignore[arg-type]


def test_recovery_uses_the_c_backend() -> None:
    """Recovery calls coincurve itself; eth-keys (signing, through eth-account) must use it too:
    without it eth-keys silently falls back to pure Python, ~40x slower."""
    from eth_keys import keys

    assert type(keys.backend).__name__ == "CoinCurveECCBackend"


@given(st.binary(min_size=20, max_size=20))
def test_checksum_address_is_eip55(address: bytes) -> None:
    from eth_utils import to_checksum_address

    assert checksum_address(address) == to_checksum_address("0x" + address.hex())


def test_the_raw_address_is_the_signer_unchecksummed() -> None:
    digest = payload_digest({"a": 1})
    assert recover_digest_address(digest, sign_digest(digest, KEY)) == bytes.fromhex(ADDRESS[2:])
    with pytest.raises(SignatureError):
        recover_digest_address(digest, "0x" + "00" * 65)
