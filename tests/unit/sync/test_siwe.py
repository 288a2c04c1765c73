"""EIP-4361: the spec's examples byte for byte, strict parsing, and every refusal of `verify`."""

from __future__ import annotations

import string
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from hypothesis import assume, given
from hypothesis import strategies as st

from app.sync import siwe
from app.sync.siwe import (
    ChainMismatch, DomainMismatch, ExpiredMessage, InvalidMessage, InvalidSignature, NonceMismatch, NotYetValid,
    SiweError, SiweMessage, UriMismatch,
)

KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"  # anvil / hardhat account 0
ADDRESS = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
OTHER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"  # account 1
UTC = timezone.utc
T0 = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)

# the examples of ERC-4361 (with statement and resources, with scheme, with port, none of them)
SPEC_BODY = """0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2

I accept the ExampleOrg Terms of Service: https://example.com/tos

URI: https://example.com/login
Version: 1
Chain ID: 1
Nonce: 32891756
Issued At: 2021-09-30T16:25:24Z
Resources:
- ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq/
- https://example.com/my-web2-claim.json"""
SPEC_EXAMPLES = {
    "plain": "example.com wants you to sign in with your Ethereum account:\n" + SPEC_BODY,
    "scheme": "https://example.com wants you to sign in with your Ethereum account:\n" + SPEC_BODY,
    "port": "example.com:3388 wants you to sign in with your Ethereum account:\n" + SPEC_BODY,
    "scheme and port": "https://example.com:3388 wants you to sign in with your Ethereum account:\n" + SPEC_BODY,
    "no statement, no resources": """service.org wants you to sign in with your Ethereum account:
0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2


URI: https://service.org/login
Version: 1
Chain ID: 1
Nonce: 32891756
Issued At: 2021-09-30T16:25:24Z""",
    "every optional field": """https://a:b@service.org:8443 wants you to sign in with your Ethereum account:
0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2

I accept the ServiceOrg Terms of Service: https://service.org/tos

URI: https://service.org/login?next=%2Fhome#top
Version: 1
Chain ID: 137
Nonce: 32891756abcDEF
Issued At: 2021-09-30T16:25:24.000123456+05:30
Expiration Time: 2021-10-01t00:00:00z
Not Before: 2021-09-30T10:00:00-00:00
Request ID: req-1:@%20x
Resources:
- urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6""",
}


@pytest.mark.parametrize("text", SPEC_EXAMPLES.values(), ids=SPEC_EXAMPLES.keys())
def test_spec_examples_parse_and_reserialise_byte_for_byte(text: str) -> None:
    message = siwe.parse(text)
    assert message.to_text() == text
    assert siwe.parse(message.to_text()) == message


def test_parsed_fields_of_the_spec_example() -> None:
    message = siwe.parse(SPEC_EXAMPLES["scheme and port"])
    assert (message.scheme, message.domain) == ("https", "example.com:3388")
    assert message.address == "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2"
    assert message.statement == "I accept the ExampleOrg Terms of Service: https://example.com/tos"
    assert (message.uri, message.version, message.chain_id, message.nonce) == (
        "https://example.com/login", "1", 1, "32891756")
    assert message.issued_at == datetime(2021, 9, 30, 16, 25, 24, tzinfo=UTC)
    assert message.expiration_time is None and message.not_before is None and message.request_id is None
    assert message.resources == ("ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq/",
                                 "https://example.com/my-web2-claim.json")
    assert siwe.parse(SPEC_EXAMPLES["plain"]).scheme is None


def test_dates_keep_their_text_and_become_aware_datetimes() -> None:
    message = siwe.parse(SPEC_EXAMPLES["every optional field"])
    assert message.issued_at == datetime(2021, 9, 30, 10, 55, 24, 123, tzinfo=UTC)  # nanoseconds cut
    assert message.issued_at_text == "2021-09-30T16:25:24.000123456+05:30"
    assert message.expiration_time == datetime(2021, 10, 1, tzinfo=UTC)
    assert message.not_before == datetime(2021, 9, 30, 10, tzinfo=UTC)
    assert message.request_id == "req-1:@%20x"


def _message(**overrides: object) -> SiweMessage:
    fields: dict[str, object] = dict(
        domain="coordinator.alaya.test", address=ADDRESS.lower(), uri="https://coordinator.alaya.test/v1",
        chain_id=31337, nonce="abcdEFGH1234", issued_at=T0, statement="Sign in to the Alaya coordinator.",
        expiration_time=T0 + timedelta(minutes=10),
    )
    fields.update(overrides)
    return SiweMessage.create(**fields)  # type: ignore[arg-type]


def test_create_formats_times_and_checksums_the_address() -> None:
    message = _message(issued_at=datetime(2026, 1, 2, 8, 4, 5, 250000, tzinfo=timezone(timedelta(hours=5))),
                       not_before=datetime(999, 1, 1, tzinfo=UTC), request_id="r1", resources=["https://x.test/a"])
    assert message.address == ADDRESS
    assert message.issued_at_text == "2026-01-02T03:04:05.250000Z"
    assert message.not_before_text == "0999-01-01T00:00:00Z"
    assert message.resources == ("https://x.test/a",)
    text = message.to_text()
    assert text.startswith("coordinator.alaya.test wants you to sign in with your Ethereum account:\n"
                           f"{ADDRESS}\n\nSign in to the Alaya coordinator.\n\nURI: https://coordinator.alaya.test/v1\n"
                           "Version: 1\nChain ID: 31337\nNonce: abcdEFGH1234\nIssued At: 2026-01-02T03:04:05.250000Z\n"
                           "Expiration Time: 2026-11-25T06:10:00Z\nNot Before: 0999-01-01T00:00:00Z\nRequest ID: r1\n"
                           "Resources:\n- https://x.test/a")
    assert siwe.parse(text) == message


def test_create_without_statement_leaves_two_empty_lines() -> None:
    text = _message(statement=None).to_text()
    assert f"{ADDRESS}\n\n\nURI: " in text
    assert _message(statement="").to_text() == text


@pytest.mark.parametrize("overrides, field", [
    (dict(address="0xF39fd6e51aad88F6F4ce6aB8827279cffFb92266"), "address"),  # mixed case, wrong checksum
    (dict(address="0x1234"), "address"),
    (dict(issued_at=datetime(2026, 1, 1)), "issued_at"),  # naive
    (dict(expiration_time="2026-01-01T00:00:00Z"), "expiration_time"),
    (dict(nonce="short"), "nonce"),
    (dict(nonce="abcd-efgh-1234"), "nonce"),
    (dict(chain_id=0), "chain_id"),
    (dict(chain_id=True), "chain_id"),
    (dict(chain_id="1"), "chain_id"),
    (dict(version="2"), "version"),
    (dict(statement="two\nlines"), "statement"),
    (dict(uri="not a uri"), "uri"),
    (dict(domain="exa mple.com"), "domain"),
    (dict(scheme="1http"), "scheme"),
    (dict(request_id="a b"), "request_id"),
    (dict(resources="https://x.test"), "resources"),
    (dict(resources=["https://x.test", "no uri"]), "resources"),
])
def test_create_refuses_bad_fields(overrides: dict, field: str) -> None:
    with pytest.raises(InvalidMessage) as caught:
        _message(**overrides)
    assert caught.value.field == field
    assert isinstance(caught.value, ValueError)


# ---- strict parsing: each variant of a good message is refused, naming its line ------------

GOOD = _message(request_id="r-1", resources=("https://x.test/a",)).to_text()
ADDRESS_LINE = f"{ADDRESS}\n"

Mutation = Callable[[str], str]
BROKEN: dict[str, tuple[Mutation, int | None]] = {
    "empty": (lambda t: "", 1),
    "wrong header wording": (lambda t: t.replace("sign in with", "log in with"), 1),
    "header with trailing space": (lambda t: t.replace("account:\n", "account: \n", 1), 1),
    "empty domain": (lambda t: t.replace("coordinator.alaya.test wants", " wants", 1), 1),
    "empty scheme": (lambda t: "://" + t, 1),
    "domain with a path": (lambda t: t.replace("coordinator.alaya.test wants", "evil.test/x wants", 1), 1),
    "lowercase address": (lambda t: t.replace(ADDRESS, ADDRESS.lower(), 1), 2),
    "uppercase address": (lambda t: t.replace(ADDRESS, "0x" + ADDRESS[2:].upper(), 1), 2),
    "short address": (lambda t: t.replace(ADDRESS, ADDRESS[:-1], 1), 2),
    "no blank line after address": (lambda t: t.replace(ADDRESS_LINE + "\n", ADDRESS_LINE, 1), 3),
    "no blank line after statement": (lambda t: t.replace("coordinator.\n\n", "coordinator.\n", 1), 5),
    "extra blank line": (lambda t: t.replace(ADDRESS_LINE + "\n", ADDRESS_LINE + "\n\n", 1), 5),
    "statement with a quote": (lambda t: t.replace("Sign in", 'Sign "in"', 1), 4),
    "statement with unicode": (lambda t: t.replace("Sign in", "Sign іn", 1), 4),  # Cyrillic i
    "CRLF line ends": (lambda t: t.replace("\n", "\r\n"), 1),
    "a CR in the nonce": (lambda t: t.replace("Nonce: abcdEFGH1234", "Nonce: abcdEFGH1234\r"), 9),
    "a tab": (lambda t: t.replace("URI: ", "URI:\t"), 6),
    "a NUL": (lambda t: t.replace("Version: 1", "Version: 1\x00"), 7),
    "trailing newline": (lambda t: t + "\n", 15),
    "trailing junk": (lambda t: t + "\nhello", 15),
    "unknown field": (lambda t: t.replace("Request ID", "Session ID"), 12),
    "repeated nonce": (lambda t: t.replace("Request ID: r-1", "Nonce: abcdEFGH1234\nRequest ID: r-1"), 12),
    "optional fields out of order": (lambda t: t.replace(
        "Expiration Time: 2026-11-25T06:10:00Z\nRequest ID: r-1", "Request ID: r-1\nExpiration Time: 2026-11-25T06:10:00Z"), 12),
    "required fields out of order": (lambda t: t.replace(
        "Version: 1\nChain ID: 31337", "Chain ID: 31337\nVersion: 1"), 7),
    "missing issued at": (lambda t: t.replace("Issued At: 2026-11-25T06:00:00Z\n", ""), 10),
    "missing colon space": (lambda t: t.replace("Request ID: r-1", "Request ID:r-1"), 12),
    "ends after nonce": (lambda t: t.split("\nIssued At")[0], 10),
    "lowercase tag": (lambda t: t.replace("URI: ", "uri: "), 6),
    "version 2": (lambda t: t.replace("Version: 1", "Version: 2"), 7),
    "chain id with leading zero": (lambda t: t.replace("Chain ID: 31337", "Chain ID: 031337"), 8),
    "chain id in hex": (lambda t: t.replace("Chain ID: 31337", "Chain ID: 0x7a69"), 8),
    "chain id zero": (lambda t: t.replace("Chain ID: 31337", "Chain ID: 0"), 8),
    "chain id too large": (lambda t: t.replace("Chain ID: 31337", "Chain ID: " + str(2**256)), 8),
    "short nonce": (lambda t: t.replace("abcdEFGH1234", "abc123"), 9),
    "nonce with a dash": (lambda t: t.replace("abcdEFGH1234", "abcd-EFGH-1234"), 9),
    "nonce with a space": (lambda t: t.replace("abcdEFGH1234", "abcdEFGH1234 "), 9),
    "relative uri": (lambda t: t.replace("URI: https://coordinator.alaya.test/v1", "URI: /v1"), 6),
    "uri with a space": (lambda t: t.replace("/v1", "/v 1"), 6),
    "date without zone": (lambda t: t.replace("06:00:00Z", "06:00:00"), 10),
    "date with a space": (lambda t: t.replace("2026-11-25T06:00:00Z", "2026-11-25 06:00:00Z"), 10),
    "february 30": (lambda t: t.replace("2026-11-25T06:00:00Z", "2026-02-30T06:00:00Z"), 10),
    "hour 24": (lambda t: t.replace("2026-11-25T06:00:00Z", "2026-11-25T24:00:00Z"), 10),
    "leap second": (lambda t: t.replace("2026-11-25T06:00:00Z", "2026-11-25T06:00:60Z"), 10),
    "offset hour 24": (lambda t: t.replace("2026-11-25T06:00:00Z", "2026-11-25T06:00:00+24:00"), 10),
    "bad expiration": (lambda t: t.replace("Expiration Time: 2026-11-25T06:10:00Z", "Expiration Time: soon"), 11),
    "request id with a space": (lambda t: t.replace("Request ID: r-1", "Request ID: r 1"), 12),
    "resources without entries": (lambda t: t.replace("\n- https://x.test/a", ""), 13),
    "resource without dash": (lambda t: t.replace("- https://x.test/a", "https://x.test/a"), 14),
    "resource that is no uri": (lambda t: t.replace("- https://x.test/a", "- x.test/a"), 14),
    "field after resources": (lambda t: t + "\nNot Before: 2026-11-25T06:00:00Z", 15),
    "oversized": (lambda t: t.replace("Request ID: r-1", "Request ID: " + "r" * 9000), None),
}


@pytest.mark.parametrize("mutate, line", BROKEN.values(), ids=BROKEN.keys())
def test_malformed_messages_are_refused_naming_the_line(mutate: Mutation, line: int | None) -> None:
    text = mutate(GOOD)
    assert text != GOOD
    with pytest.raises(InvalidMessage) as caught:
        siwe.parse(text)
    assert caught.value.line == line, str(caught.value)
    if line is not None:
        assert str(caught.value).startswith(f"line {line}")
    # verify refuses it the same way, before looking at the signature
    with pytest.raises(InvalidMessage):
        siwe.verify(text, siwe.sign(text, KEY), domain="coordinator.alaya.test", nonce="abcdEFGH1234", now=T0)


def test_the_lowercase_address_error_names_the_field() -> None:
    with pytest.raises(InvalidMessage, match=r"line 2 \(address\): must be EIP-55 checksummed"):
        siwe.parse(GOOD.replace(ADDRESS, ADDRESS.lower()))


@pytest.mark.parametrize("value", [None, b"bytes", 42])
def test_parse_refuses_non_text(value: object) -> None:
    with pytest.raises(InvalidMessage):
        siwe.parse(value)  # type: ignore[arg-type]


# ---- round trips over generated messages ---------------------------------------------------

_STATEMENT_CHARS = string.ascii_letters + string.digits + "-._~:/?#[]@!$&'()*+,;= "
_PCHAR = string.ascii_letters + string.digits + "-._~!$&'()*+,;=:@"
uris = st.from_regex(r"(https?|ipfs|urn|did:web)://?[a-z0-9]{1,12}(\.[a-z]{2,5})?(:[0-9]{1,5})?"
                     r"(/[A-Za-z0-9._~!$&'()*+,;=:@-]{0,8}){0,3}(\?[a-z]=[0-9a-f%]{0,6})?(#[a-z0-9]{0,4})?",
                     fullmatch=True).filter(lambda u: "%" not in u or siwe._URI.fullmatch(u) is not None)
domains = st.from_regex(r"([a-z0-9._~-]{1,6}(:[a-z0-9]{0,4})?@)?([a-z0-9-]{1,12}(\.[a-z0-9-]{1,8}){0,3}"
                        r"|\[[0-9a-f:]{2,20}\]|[0-9]{1,3}(\.[0-9]{1,3}){3})(:[0-9]{0,5})?", fullmatch=True)
zones = st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=8)),
                         timezone(timedelta(hours=14))])
times = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=zones)
messages = st.builds(
    SiweMessage.create,
    domain=domains, address=st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex()),
    uri=uris, chain_id=st.integers(1, 2**256 - 1), nonce=st.text(string.ascii_letters + string.digits, min_size=8,
                                                                   max_size=40),
    issued_at=times, statement=st.none() | st.text(_STATEMENT_CHARS, min_size=1, max_size=80),
    expiration_time=st.none() | times, not_before=st.none() | times,
    request_id=st.none() | st.text(_PCHAR, max_size=20), resources=st.lists(uris, max_size=3).map(tuple),
    scheme=st.none() | st.from_regex(r"[a-z][a-z0-9+.-]{0,8}", fullmatch=True),
)


@given(messages)
def test_parse_of_to_text_round_trips(message: SiweMessage) -> None:
    text = message.to_text()
    assert siwe.parse(text) == message
    assert siwe.parse(text).to_text() == text


@given(messages, st.data())
def test_parse_either_refuses_an_edited_text_or_reproduces_it(message: SiweMessage, data: st.DataObject) -> None:
    """No text is accepted that `to_text` would not write back byte for byte."""
    text = message.to_text()
    at = data.draw(st.integers(0, len(text)))
    cut = data.draw(st.integers(0, 3))
    insert = data.draw(st.text("\n\r :-0aZ/.%\x00é", max_size=3))
    edited = text[:at] + insert + text[at + cut:]
    try:
        parsed = siwe.parse(edited)
    except InvalidMessage:
        return
    assert parsed.to_text() == edited


# ---- verify --------------------------------------------------------------------------------

def _verify(text: str, signature: str, **kwargs: object) -> SiweMessage:
    options: dict[str, object] = dict(domain="coordinator.alaya.test", nonce="abcdEFGH1234", now=T0,
                                      chain_id=31337, uri="https://coordinator.alaya.test/v1")
    options.update(kwargs)
    return siwe.verify(text, signature, **options)  # type: ignore[arg-type]


def test_a_message_signed_with_a_known_key_verifies() -> None:
    message = _message()
    text = message.to_text()
    signature = siwe.sign(message, KEY)
    assert signature == siwe.sign(text, KEY)
    assert Account.recover_message(encode_defunct(text=text), signature=signature) == ADDRESS
    assert _verify(text, signature) == message
    assert _verify(text, signature[2:]).address == ADDRESS  # hex without 0x
    raw = bytearray(bytes.fromhex(signature[2:]))
    raw[64] -= 27
    assert _verify(text, "0x" + raw.hex()).address == ADDRESS  # v as 0/1
    assert siwe.verify(text, signature, domain="coordinator.alaya.test", nonce="abcdEFGH1234", now=T0) == message


def test_the_spec_example_verifies_when_signed() -> None:
    text = SPEC_EXAMPLES["plain"].replace("0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2", ADDRESS)
    message = siwe.verify(text, siwe.sign(text, KEY), domain="example.com", nonce="32891756", chain_id=1,
                          uri="https://example.com/login", now=datetime(2021, 9, 30, 16, 30, tzinfo=UTC))
    assert message.address == ADDRESS


TEXT = _message(not_before=T0 + timedelta(minutes=1)).to_text()
SIGNATURE = siwe.sign(TEXT, KEY)

REFUSALS: dict[str, tuple[dict, type[SiweError]]] = {
    "replayed or wrong nonce": (dict(nonce="abcdEFGH1235"), NonceMismatch),
    "wrong domain": (dict(domain="evil.test"), DomainMismatch),
    "wrong scheme": (dict(scheme="https"), DomainMismatch),
    "wrong chain id": (dict(chain_id=1), ChainMismatch),
    "wrong uri": (dict(uri="https://coordinator.alaya.test/v2"), UriMismatch),
    "expired": (dict(now=T0 + timedelta(minutes=10)), ExpiredMessage),
    "long expired": (dict(now=T0 + timedelta(days=3)), ExpiredMessage),
    "not yet valid": (dict(now=T0 - timedelta(minutes=5)), NotYetValid),
    "not yet valid without skew": (dict(now=T0, clock_skew_s=0), NotYetValid),
    "issued in the future": (dict(now=T0 - timedelta(minutes=4, seconds=1), clock_skew_s=240), NotYetValid),
    "forged (another key)": (dict(signature=siwe.sign(TEXT, OTHER_KEY)), InvalidSignature),
    "tampered text": (dict(text=TEXT.replace("Sign in to", "Sign into")), InvalidSignature),
    "tampered chain id": (dict(text=TEXT.replace("Chain ID: 31337", "Chain ID: 1"), chain_id=1), InvalidSignature),
    "tampered address": (dict(text=TEXT.replace(ADDRESS, "0x70997970C51812dc3A010C7d01b50e0d17dc79C8")),
                         InvalidSignature),
    "garbled signature": (dict(signature="0x" + "00" * 65), InvalidSignature),
    "short signature": (dict(signature=SIGNATURE[:-2]), InvalidSignature),
    "non-hex signature": (dict(signature="0x" + "g" * 130), InvalidSignature),
    "v = 29": (dict(signature=SIGNATURE[:-2] + "1d"), InvalidSignature),
    "signature of the wrong type": (dict(signature=None), InvalidSignature),
}


@pytest.mark.parametrize("change, error", REFUSALS.values(), ids=REFUSALS.keys())
def test_each_failed_check_raises_its_own_error(change: dict, error: type[SiweError]) -> None:
    change = dict(change)
    text, signature = change.pop("text", TEXT), change.pop("signature", SIGNATURE)
    assert _verify(TEXT, SIGNATURE, now=T0 + timedelta(minutes=2)).address == ADDRESS  # the baseline passes
    with pytest.raises(error) as caught:
        _verify(text, signature, **{"now": T0 + timedelta(minutes=2), **change})
    assert isinstance(caught.value, SiweError) and isinstance(caught.value, ValueError)
    assert type(caught.value) is error


def test_clock_skew_tolerates_clients_slightly_ahead() -> None:
    # not-before is T0+1min: valid from T0-4min with the default 5 minute tolerance
    assert _verify(TEXT, SIGNATURE, now=T0 - timedelta(minutes=4)).address == ADDRESS
    # expiry is strict: valid up to the instant before expiration
    assert _verify(TEXT, SIGNATURE, now=T0 + timedelta(minutes=10) - timedelta(microseconds=1))
    text = _message(issued_at=T0 + timedelta(minutes=3), expiration_time=None).to_text()
    assert _verify(text, siwe.sign(text, KEY), now=T0).issued_at == T0 + timedelta(minutes=3)
    with pytest.raises(NotYetValid, match="issued in the future"):
        _verify(text, siwe.sign(text, KEY), now=T0 + timedelta(minutes=3), clock_skew_s=-1)
    with pytest.raises(NotYetValid, match="issued in the future"):
        _verify(text, siwe.sign(text, KEY), now=T0 - timedelta(minutes=2, microseconds=1))


def test_verify_needs_an_aware_now() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        _verify(TEXT, SIGNATURE, now=datetime(2026, 11, 25, 6, 2))


def test_new_nonces_are_long_random_alphanumerics() -> None:
    nonces = {siwe.new_nonce() for _ in range(1000)}
    assert len(nonces) == 1000
    for nonce in nonces:
        assert len(nonce) >= 17 and nonce.isascii() and nonce.isalnum()  # 17 * log2(62) > 96 bits
    assert _message(nonce=nonces.pop()).nonce


@given(messages, st.sampled_from([KEY, OTHER_KEY]))
def test_generated_messages_verify_for_their_signer_only(message: SiweMessage, key: str) -> None:
    assume(message.expiration_time is None or message.expiration_time > message.issued_at)
    signer = Account.from_key(key).address
    message = SiweMessage(**{**_init_fields(message), "address": signer})
    text = message.to_text()
    now = max([message.issued_at] + ([message.not_before] if message.not_before else []))
    assume(message.expiration_time is None or now < message.expiration_time)
    assert siwe.verify(text, siwe.sign(text, key), domain=message.domain, nonce=message.nonce, now=now,
                       chain_id=message.chain_id, uri=message.uri, scheme=message.scheme) == message
    other = OTHER_KEY if key == KEY else KEY
    with pytest.raises(InvalidSignature):
        siwe.verify(text, siwe.sign(text, other), domain=message.domain, nonce=message.nonce, now=now)


def _init_fields(message: SiweMessage) -> dict[str, object]:
    derived = {"issued_at", "expiration_time", "not_before"}
    return {name: getattr(message, name) for name in message.__dataclass_fields__ if name not in derived}
