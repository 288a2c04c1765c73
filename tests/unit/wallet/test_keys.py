"""BIP-39 (the official Trezor vectors) and BIP-44 (known addresses), and refusals that never
repeat a word or a key."""

from __future__ import annotations

import pytest

from app.wallet.errors import WalletError
from app.wallet.keys import (account_path, address_of, check_confirmation, confirmation_positions, key_at,
                             mnemonic_from_entropy, new_mnemonic, normalize_mnemonic, parse_private_key,
                             seed_from_mnemonic)
from tests.unit.wallet.conftest import ANVIL_ADDRESSES, ANVIL_KEY_0, ANVIL_MNEMONIC

# trezor/python-mnemonic vectors.json, "english", passphrase "TREZOR": entropy, mnemonic, seed
TREZOR_VECTORS = [
    ("00000000000000000000000000000000",
     "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about",
     "c55257c360c07c72029aebc1b53c05ed0362ada38ead3e3e9efa3708e53495531f09a6987599d18264c1e1c92f2cf141630c7a3c4ab7c81b2f001698e7463b04"),
    ("7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f",
     "legal winner thank year wave sausage worth useful legal winner thank yellow",
     "2e8905819b8723fe2c1d161860e5ee1830318dbf49a83bd451cfb8440c28bd6fa457fe1296106559a3c80937a1c1069be3a3a5bd381ee6260e8d9739fce1f607"),
    ("80808080808080808080808080808080",
     "letter advice cage absurd amount doctor acoustic avoid letter advice cage above",
     "d71de856f81a8acc65e6fc851a38d4d7ec216fd0796d0a6827a3ad6ed5511a30fa280f12eb2e47ed2ac03b5c462a0358d18d69fe4f985ec81778c1b370b652a8"),
    ("ffffffffffffffffffffffffffffffff",
     "zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo wrong",
     "ac27495480225222079d7be181583751e86f571027b0497b5b5d11218e0a8a13332572917f0f8e5a589620c6f15b11c61dee327651a14c34e18231052e48c069"),
    ("000000000000000000000000000000000000000000000000",
     "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
     "abandon abandon abandon abandon agent",
     "035895f2f481b1b0f01fcf8c289c794660b289981a78f8106447707fdd9666ca06da5a9a565181599b79f53b844d8a71dd9f439c52a3d7b3e8a79c906ac845fa"),
    ("808080808080808080808080808080808080808080808080",
     "letter advice cage absurd amount doctor acoustic avoid letter advice cage absurd amount doctor acoustic "
     "avoid letter always",
     "107d7c02a5aa6f38c58083ff74f04c607c2d2c0ecc55501dadd72d025b751bc27fe913ffb796f841c49b1d33b610cf0e91d3aa239027f5e99fe4ce9e5088cd65"),
    ("0000000000000000000000000000000000000000000000000000000000000000",
     "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
     "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon art",
     "bda85446c68413707090a52022edd26a1c9462295029f2e60cd7c4f2bbd3097170af7a4d73245cafa9c3cca8d561a7c3de6f5d4a10be8ed2a5e608d68f92fcc8"),
    ("7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f",
     "legal winner thank year wave sausage worth useful legal winner thank year wave sausage worth useful legal "
     "winner thank year wave sausage worth title",
     "bc09fca1804f7e69da93c2f2028eb238c227f2e9dda30cd63699232578480a4021b146ad717fbb7e451ce9eb835f43620bf5c514db0f8add49f5d121449d3e87"),
    ("ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
     "zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo vote",
     "dd48c104698c30cfe2b6142103248622fb7bb0ff692eebb00089b32d22484e1613912f0a5b694407be899ffd31ed3992c456cdf60f5d4564b8ba3f05a69890ad"),
    ("9e885d952ad362caeb4efe34a8e91bd2",
     "ozone drill grab fiber curtain grace pudding thank cruise elder eight picnic",
     "274ddc525802f7c828d8ef7ddbcdc5304e87ac3535913611fbbfa986d0c9e5476c91689f9c8a54fd55bd38606aa6a8595ad213d4c9c9f9aca3fb217069a41028"),
    ("68a79eaca2324873eacc50cb9c6eca8cc68ea5d936f98787c60c7ebc74e6ce7c",
     "hamster diagram private dutch cause delay private meat slide toddler razor book happy fancy gospel tennis "
     "maple dilemma loan word shrug inflict delay length",
     "64c87cde7e12ecf6704ab95bb1408bef047c22db4cc7491c4271d170a1b213d20b385bc1588d9c7b38f1b39d415665b8a9030c9ec653d75e65f847d8fc1fc440"),
    ("f585c11aec520db57dd353c69554b21a89b20fb0650966fa0a9d6f74fd989d8f",
     "void come effort suffer camp survey warrior heavy shoot primary clutch crush open amazing screen patrol "
     "group space point ten exist slush involve unfold",
     "01f5bced59dec48e362f2c45b5de68b9fd6c92c6634f44d6d40aab69056506f0e35524a518034ddc1192e1dacd32c1ed3eaa3c3b131c88ed8e7e54c49a5d0998"),
]


@pytest.mark.parametrize(("entropy", "mnemonic", "seed"), TREZOR_VECTORS, ids=lambda v: v[:12])
def test_trezor_bip39_vectors(entropy: str, mnemonic: str, seed: str) -> None:
    assert mnemonic_from_entropy(bytes.fromhex(entropy)) == mnemonic
    assert normalize_mnemonic(mnemonic) == mnemonic
    assert seed_from_mnemonic(mnemonic, "TREZOR").hex() == seed


def test_known_bip44_addresses() -> None:
    anvil = seed_from_mnemonic(ANVIL_MNEMONIC)
    assert tuple(address_of(key_at(anvil, i)) for i in range(3)) == ANVIL_ADDRESSES
    assert "0x" + key_at(anvil, 0).hex() == ANVIL_KEY_0
    abandon = seed_from_mnemonic("abandon " * 11 + "about")
    assert address_of(key_at(abandon, 0)) == "0x9858EfFD232B4033E47d90003D41EC34EcaEda94"
    assert account_path(7) == "m/44'/60'/0'/0/7"


def test_new_mnemonic_is_24_checked_words_and_never_repeats() -> None:
    first, second = new_mnemonic(), new_mnemonic()
    assert len(first.split()) == 24 and normalize_mnemonic(first) == first and first != second


def test_phrase_input_is_normalised() -> None:
    assert normalize_mnemonic("  TEST test\ttest test test test test test test test test\njunk ") == ANVIL_MNEMONIC


@pytest.mark.parametrize(("phrase", "message"), [
    ("test " * 11, "has 11"),
    ("test " * 11 + "junkk", "word 12 of the recovery phrase is not in the English"),
    ("test " * 12, "checksum does not match"),
    ("abandon " * 12, "checksum does not match"),
])
def test_bad_phrases_are_refused_without_echoing_words(phrase: str, message: str) -> None:
    with pytest.raises(WalletError, match=message) as caught:
        normalize_mnemonic(phrase)
    assert "test" not in str(caught.value) and "abandon" not in str(caught.value)


def test_private_keys() -> None:
    assert parse_private_key(ANVIL_KEY_0) == bytes.fromhex(ANVIL_KEY_0[2:])
    assert parse_private_key(ANVIL_KEY_0[2:].upper()) == bytes.fromhex(ANVIL_KEY_0[2:])
    for bad in ("0x1234", "zz" * 32, "00" * 32, "ff" * 32):
        with pytest.raises(WalletError) as caught:
            parse_private_key(bad)
        assert bad not in str(caught.value)


def test_account_index_bounds() -> None:
    for bad in (-1, 2**31, True, 1.0):
        with pytest.raises(WalletError, match="account index"):
            account_path(bad)  # type: ignore[arg-type]


def test_confirmation_of_the_written_phrase() -> None:
    positions = confirmation_positions(3)
    assert len(set(positions)) == 3 and all(1 <= p <= 24 for p in positions)
    words = ANVIL_MNEMONIC.split()
    check_confirmation(ANVIL_MNEMONIC, {1: "TEST ", 12: "junk"})
    with pytest.raises(WalletError, match="word 12 does not match") as caught:
        check_confirmation(ANVIL_MNEMONIC, {1: words[0], 12: "test"})
    assert "junk" not in str(caught.value)
    with pytest.raises(WalletError, match="type back"):
        check_confirmation(ANVIL_MNEMONIC, {})
