"""Mnemonics (BIP-39, English), seeds, BIP-44 derivation and raw private keys.

Built on eth-account's HD wallet code (`eth_account.hdaccount`: the BIP-39 word list and
checksum, PBKDF2 seed, BIP-32 derivation), which eth-account itself uses for
`Account.from_mnemonic`. We call its functions directly rather than `Account.from_mnemonic`
because that path raises errors that quote the words back; every refusal here is ours and
never repeats a word or a key.
"""

from __future__ import annotations

import re
import secrets
import unicodedata

from eth_account import Account
from eth_account.hdaccount import key_from_seed
from eth_account.hdaccount.mnemonic import Mnemonic
from eth_account.types import Language

from app.wallet.errors import WalletError

WORD_COUNTS = (12, 15, 18, 21, 24)
NEW_WALLET_WORDS = 24  # 256 bits of entropy
MAX_ACCOUNT_INDEX = 2**31 - 1  # the last non-hardened BIP-32 index
_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_HEX_KEY = re.compile(r"(?:0x)?([0-9a-fA-F]{64})")
_ENGLISH = Mnemonic(Language.ENGLISH)


def account_path(index: int) -> str:
    """The BIP-44 path of Ethereum account `index`: m/44'/60'/0'/0/index."""
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index <= MAX_ACCOUNT_INDEX:
        raise WalletError(f"an account index is a whole number from 0 to {MAX_ACCOUNT_INDEX}")
    return f"m/44'/60'/0'/0/{index}"


def new_mnemonic(words: int = NEW_WALLET_WORDS) -> str:
    """A fresh English mnemonic from the operating system's random source."""
    if words not in WORD_COUNTS:
        raise WalletError(f"a mnemonic has {', '.join(map(str, WORD_COUNTS))} words")
    return mnemonic_from_entropy(secrets.token_bytes(words * 4 // 3))


def mnemonic_from_entropy(entropy: bytes) -> str:
    return _ENGLISH.to_mnemonic(entropy)


def normalize_mnemonic(text: str) -> str:
    """The words in canonical form (NFKD, lower case, single spaces), checked: English word
    list, a BIP-39 word count and a valid checksum. The message never repeats the words."""
    words = unicodedata.normalize("NFKD", text).lower().split()
    if len(words) not in WORD_COUNTS:
        raise WalletError(f"a recovery phrase has 12, 15, 18, 21 or 24 words; this one has {len(words)}")
    unknown = [n for n, word in enumerate(words, 1) if word not in _ENGLISH.wordlist]
    if unknown:
        places = ", ".join(map(str, unknown[:5]))
        raise WalletError(f"word {places} of the recovery phrase is not in the English BIP-39 word list")
    phrase = " ".join(words)
    if not _ENGLISH.is_mnemonic_valid(phrase):
        raise WalletError("the recovery phrase's checksum does not match: a word is wrong or out of order")
    return phrase


def seed_from_mnemonic(mnemonic: str, passphrase: str = "") -> bytes:
    """The 64-byte BIP-39 seed (PBKDF2-HMAC-SHA512, 2048 rounds) of a checked mnemonic."""
    return Mnemonic.to_seed(normalize_mnemonic(mnemonic), passphrase)


def key_at(seed: bytes, index: int) -> bytes:
    """The private key of account `index` under `seed` (BIP-32 along the BIP-44 path)."""
    if len(seed) != 64:
        raise WalletError("a BIP-39 seed is 64 bytes")
    return key_from_seed(seed, account_path(index))


def address_of(private_key: bytes) -> str:
    """The EIP-55 address of a private key."""
    return Account.from_key(private_key).address


def parse_private_key(text: str) -> bytes:
    """32 bytes from 64 hex characters (with or without 0x), in the secp256k1 range."""
    match = _HEX_KEY.fullmatch(text.strip())
    if match is None:
        raise WalletError("a private key is 64 hexadecimal characters, optionally prefixed with 0x")
    key = bytes.fromhex(match.group(1))
    if not 0 < int.from_bytes(key, "big") < _SECP256K1_N:
        raise WalletError("the private key lies outside the secp256k1 range")
    return key


def confirmation_positions(count: int = 3, words: int = NEW_WALLET_WORDS) -> list[int]:
    """Random 1-based word positions the user types back to show the phrase was written down."""
    return sorted(secrets.SystemRandom().sample(range(1, words + 1), count))


def check_confirmation(mnemonic: str, answers: dict[int, str]) -> None:
    """Raise unless each answered position holds that word; the message names positions only."""
    words = mnemonic.split()
    if not answers:
        raise WalletError("type back the requested words of the recovery phrase to confirm it")
    wrong = [pos for pos, answer in sorted(answers.items())
             if not 1 <= pos <= len(words) or unicodedata.normalize("NFKD", answer).strip().lower() != words[pos - 1]]
    if wrong:
        places = ", ".join(map(str, wrong))
        raise WalletError(f"word {places} does not match the recovery phrase; check what you wrote down")
