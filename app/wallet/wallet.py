"""A wallet folder and its lock state: create, import, unlock, lock, auto-lock, accounts.

Protection: with a real OS keychain (see `keychain`) and no passphrase given, a random
32-byte password encrypts the keystores and lives in the keychain, so the user's login
unlocks the wallet. Otherwise the user's passphrase encrypts them and is needed at each
unlock. Either way every file is scrypt-encrypted (`keystore`), and creation never writes
over an existing wallet.

Unlocked, the wallet holds in memory its password (to encrypt keystores of new accounts), the
seed (hd wallets) and the account keys; `lock()` drops them, and so does any use after
`auto_lock_s` seconds without one (the clock is injectable for tests). `lock_changed` tells
listeners (the sync link) each change: True when it locked, False when it opened; it is
emitted on the thread that caused it, so a listener hands real work to a worker. Every method may be
called from any thread; scrypt makes create/unlock/add_account take about a second, so the
GUI runs them on its executors.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.core.events import Event
from app.core.settings_schema import Settings
from app.wallet import keystore as ks
from app.wallet.errors import KeystoreError, WalletError, WalletLocked
from app.wallet.keychain import Keychain
from app.wallet.keys import address_of, key_at, parse_private_key, seed_from_mnemonic
from app.wallet.record import KEYSTORE_DIR, WALLET_FILE, AccountRecord, WalletRecord, keystore_name
from app.wallet.record import read_record, write_record
from app.wallet.signer import LocalSigner

log = logging.getLogger(__name__)
MIN_PASSPHRASE_CHARS = 8


@dataclass
class _Session:
    password: str
    seed: bytes | None
    keys: dict[str, bytes] = field(default_factory=dict)  # address -> private key
    last_used: float = 0.0


class Wallet:
    def __init__(self, folder: Path, *, keychain: Keychain | None = None, auto_lock_s: float | None = 900.0,
                 clock: Callable[[], float] = time.monotonic, scrypt_n: int | None = None) -> None:
        self.folder = Path(folder)
        self.keychain = keychain
        self.auto_lock_s = auto_lock_s  # None or 0: never
        self.clock = clock
        self.scrypt_n = scrypt_n or ks.SCRYPT_N  # read at creation: tests lower ks.SCRYPT_N
        self._lock = threading.RLock()  # the session; held briefly, never across scrypt or disk
        self._files = threading.Lock()  # one writer of the wallet's files at a time
        self._session: _Session | None = None
        self.lock_changed: Event[bool] = Event("wallet_lock_changed")  # True: locked; False: unlocked

    # ---- state ---------------------------------------------------------------------------

    def exists(self) -> bool:
        return (self.folder / WALLET_FILE).exists()

    def record(self) -> WalletRecord:
        return read_record(self.folder)

    def keystore_path(self, address: str | None = None) -> Path:
        return self.folder / KEYSTORE_DIR / self.record().account(address).keystore

    @property
    def locked(self) -> bool:
        with self._lock:
            self._expire_if_idle()
            return self._session is None

    def lock(self) -> None:
        with self._lock:
            session, self._session = self._session, None
            if session is not None:
                session.keys.clear()
                log.info("wallet locked")
        if session is not None:
            self.lock_changed.emit(True)

    # ---- create and import ---------------------------------------------------------------

    def create_from_mnemonic(self, mnemonic: str, *, bip39_passphrase: str = "",
                             password: str | None = None) -> WalletRecord:
        """A new hd wallet (account 0) from a checked recovery phrase; left unlocked."""
        seed = seed_from_mnemonic(mnemonic, bip39_passphrase)
        return self._create("hd", [(0, key_at(seed, 0))], seed, password)

    def import_private_key(self, key_text: str, *, password: str | None = None) -> WalletRecord:
        key = parse_private_key(key_text)
        return self._create("key", [(None, key)], key, password)

    def import_keystore(self, document_text: str | bytes, keystore_password: str, *,
                        password: str | None = None) -> WalletRecord:
        """Import a keystore v3 file (its own password), re-encrypted as ours (scrypt, our password)."""
        document = ks.parse_keystore(document_text, where="the imported keystore")
        key = ks.decrypt_key(document, keystore_password, where="the imported keystore")
        return self._create("key", [(None, key)], key, password)

    def _create(self, kind: str, keys: list[tuple[int | None, bytes]], secret: bytes,
                password: str | None) -> WalletRecord:
        with self._files:
            if self.exists():
                raise WalletError(f"{self.folder} already holds a wallet; it was left as it is")
            protected_by, password = self._choose_protection(password)
            for folder in (self.folder, self.folder / KEYSTORE_DIR):  # the owner's only (files are 0600)
                folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            wallet_id = uuid.uuid4().hex
            written: list[Path] = []
            try:
                accounts = [self._write_account(index, key, password, written) for index, key in keys]
                record = WalletRecord(id=wallet_id, kind=kind, protected_by=protected_by, accounts=accounts,
                                      secret=ks.seal(secret, password, scrypt_n=self.scrypt_n))
                if protected_by == "keychain":
                    self.keychain.store(wallet_id, password)  # type: ignore[union-attr]
                write_record(self.folder, record)
            except BaseException:
                self._undo_create(written, wallet_id if protected_by == "keychain" else None)
                raise
            seed = secret if kind == "hd" else None
            with self._lock:
                self._session = _Session(password, seed, {a.address: k for a, (_, k) in zip(accounts, keys)},
                                         self.clock())
            log.info("wallet %s created (%s, %s)", wallet_id, kind, protected_by)
            self.lock_changed.emit(False)
            return record

    def _undo_create(self, written: list[Path], keychain_id: str | None) -> None:
        for path in written:
            path.unlink(missing_ok=True)
        if keychain_id is not None and self.keychain is not None:
            self.keychain.forget(keychain_id)

    def _choose_protection(self, password: str | None) -> tuple[str, str]:
        if password is not None:
            check_passphrase(password)
            return "passphrase", password
        if self.keychain is None:
            raise WalletError("there is no OS keychain here: set a passphrase to protect the wallet")
        return "keychain", secrets.token_urlsafe(32)

    def _write_account(self, index: int | None, key: bytes, password: str, written: list[Path]) -> AccountRecord:
        address = address_of(key)
        path = self.folder / KEYSTORE_DIR / keystore_name(address)
        ks.write_keystore(path, ks.encrypt_key(key, password, scrypt_n=self.scrypt_n))
        written.append(path)
        return AccountRecord(index=index, address=address, keystore=path.name)

    # ---- unlock and use ------------------------------------------------------------------

    def unlock(self, password: str | None = None) -> WalletRecord:
        """Open the wallet with `password` (passphrase wallets) or the keychain's (keychain ones).

        Checks that every listed account matches its key, so an edited wallet.json is refused.
        """
        record = self.record()
        if password is None:
            password = self._keychain_password(record)
        secret = ks.unseal(record.secret, password, plaintext_bytes=record.secret_bytes,
                           where=str(self.folder / WALLET_FILE))
        if record.kind == "hd":
            seed, keys = secret, {a.address: key_at(secret, a.index or 0) for a in record.accounts}
        else:
            seed, keys = None, {record.accounts[0].address: secret}
        for address, key in keys.items():
            if address_of(key) != address:
                raise KeystoreError(f"{self.folder / WALLET_FILE}: account {address} does not match the "
                                    "wallet's keys (the file was altered); nothing was changed")
        with self._lock:
            self._session = _Session(password, seed, keys, self.clock())
        log.info("wallet %s unlocked", record.id)
        self.lock_changed.emit(False)
        return record

    def _keychain_password(self, record: WalletRecord) -> str:
        if record.protected_by == "passphrase":
            raise WalletError("this wallet is protected by a passphrase: enter it to unlock")
        if self.keychain is None:
            raise WalletError("this wallet's password is in the OS keychain, which is not available here")
        return self.keychain.fetch(record.id)

    def add_account(self) -> AccountRecord:
        """Derive the next BIP-44 account (hd wallets, unlocked) and write its keystore."""
        with self._files:
            session = self._active()
            record = self.record()
            if record.kind != "hd" or session.seed is None:
                raise WalletError("only a wallet made from a recovery phrase derives more accounts")
            index = record.next_index()
            key = key_at(session.seed, index)
            account = self._write_account(index, key, session.password, [])
            write_record(self.folder, record.model_copy(update={"accounts": [*record.accounts, account]}))
            with self._lock:
                session.keys[account.address] = key
            log.info("wallet %s: account %d added", record.id, index)
            return account

    def require_passphrase(self, passphrase: str) -> WalletRecord:
        """Move a keychain wallet to a passphrase (unlocked first): its password leaves the OS
        keychain, so nothing opens the wallet without the user from now on.

        Crash-safe order: wallet.json (what unlock reads) is rewritten in one atomic step, then
        the keystore copies, then the keychain entry goes; a crash leaves the old protection
        at worst, never a wallet that cannot be opened.
        """
        check_passphrase(passphrase)
        with self._files:
            session = self._active()
            record = self.record()
            if record.protected_by == "passphrase":
                raise WalletError("this wallet is already protected by a passphrase, asked at each unlock")
            secret = session.seed if record.kind == "hd" else session.keys[record.accounts[0].address]
            updated = record.model_copy(update={"protected_by": "passphrase",
                                                "secret": ks.seal(secret, passphrase, scrypt_n=self.scrypt_n)})
            write_record(self.folder, updated)
            for account in record.accounts:
                document = ks.encrypt_key(session.keys[account.address], passphrase, scrypt_n=self.scrypt_n)
                ks.write_keystore(self.folder / KEYSTORE_DIR / account.keystore, document, replace=True)
            if self.keychain is not None:
                self.keychain.forget(record.id)
            with self._lock:
                session.password = passphrase
            log.info("wallet %s now needs its passphrase", record.id)
            return updated

    def signer(self, address: str | None = None) -> LocalSigner:
        """A signer for one account (default: the first); it refuses to sign once locked."""
        account = self.record().account(address)
        self._active()
        return LocalSigner(account.address, lambda: self._key(account.address))

    def _key(self, address: str) -> bytes:
        with self._lock:
            session = self._active()
            session.last_used = self.clock()
            try:
                return session.keys[address]
            except KeyError:
                raise WalletError(f"the wallet has no account {address}") from None

    def _active(self) -> _Session:
        """The unlocked session, or WalletLocked (also when it just expired)."""
        with self._lock:
            self._expire_if_idle()
            if self._session is None:
                raise WalletLocked("the wallet is locked: unlock it first")
            return self._session

    def _expire_if_idle(self) -> None:
        session = self._session
        if session is not None and self.auto_lock_s and self.clock() - session.last_used >= self.auto_lock_s:
            log.info("wallet locked after %.0f s without use", self.auto_lock_s)
            self.lock()


def check_passphrase(passphrase: Any) -> None:
    if not isinstance(passphrase, str) or len(passphrase) < MIN_PASSPHRASE_CHARS:
        raise WalletError(f"a wallet passphrase has at least {MIN_PASSPHRASE_CHARS} characters")


def wallet_folder(settings: Settings) -> Path:
    """Where the workspace's wallet lives: `wallet.keystore_dir`, else <workspace>/wallet."""
    return Path(settings.wallet.keystore_dir or Path(settings.workspace.path) / "wallet")


def open_wallet(settings: Settings, **options: Any) -> Wallet:
    """The workspace's wallet as the settings describe it (keychain detected unless turned off).

    `options` go to `Wallet` (tests pass a keychain, a clock or a light `scrypt_n`)."""
    if "keychain" not in options:
        options["keychain"] = Keychain.detect() if settings.wallet.use_keychain else None
    options.setdefault("auto_lock_s", settings.wallet.auto_lock_minutes * 60.0)
    return Wallet(wallet_folder(settings), **options)
