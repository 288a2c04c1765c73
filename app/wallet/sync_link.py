"""The wallet signs for sync: while the workspace's wallet is unlocked its signer is attached to
the sync service; when it locks (by hand, or after idle time) the syncer is stopped, so nothing
more is signed or sent, and the status says the wallet is locked. Queued work stays queued and
goes out at the next unlock.

The wallet tells each change on whatever thread caused it (the GUI thread at a click, the
syncer's when its signing finds the wallet expired); the link hands the work to `submit` (an
I/O worker), because starting and stopping the syncer waits on threads and reads the disk.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from app.core.errors import AlayaError
from app.sync.errors import SyncError, plain_words
from app.sync.service import SyncService
from app.sync.status import Phase
from app.wallet.errors import WalletError, WalletLocked
from app.wallet.wallet import Wallet

log = logging.getLogger(__name__)


class WalletSyncLink:
    def __init__(self, wallet: Wallet, service: SyncService, submit: Callable[[Callable[[], None]], Any]) -> None:
        self.wallet, self.service, self.submit = wallet, service, submit
        self._attached: str | None = None  # the address the running syncer signs as
        self._lock = threading.Lock()  # one settle at a time: they read the state when they run
        self._unsubscribe = wallet.lock_changed.subscribe(lambda _locked: self.submit(self.settle))

    def start(self) -> None:
        """At start (on a worker): unlock through the OS keychain when that needs no prompt and there
        is a coordinator to sync with; then sync, or say why not."""
        if self._opens_without_prompt():
            try:
                self.wallet.unlock()  # scrypt; its event settles
                return
            except WalletError as exc:  # a locked or emptied keychain: the user unlocks by hand
                log.info("the wallet did not open from the OS keychain: %s", exc)
        self.settle()

    def _opens_without_prompt(self) -> bool:
        return (getattr(self.service.settings, "coordinator_url", None) is not None and self.wallet.locked
                and self.wallet.keychain is not None and self.wallet.exists()
                and self.wallet.record().protected_by == "keychain")

    def settle(self) -> None:
        """Attach the wallet's signer when it is unlocked, detach when it is locked (on a worker)."""
        with self._lock:
            try:
                self._settle()
            except AlayaError as exc:  # a worker's failure would vanish in its future: show it
                self.service.board.update(phase=Phase.error, last_error=plain_words(exc))

    def _settle(self) -> None:
        try:
            if self.wallet.locked:  # also no wallet yet: nothing to sign with
                raise WalletLocked("the wallet is locked")
            signer = self.wallet.signer()  # WalletLocked too when it locked just now
        except WalletLocked:
            self._attached = None
            self.service.detach()
            return
        if self._attached == signer.address and self.service.syncer is not None:
            return  # already signing as this account
        try:
            self.service.attach(signer)
            self._attached = signer.address
        except SyncError:  # no coordinator is set: the status says so
            self.service.refresh()

    def close(self) -> None:
        self._unsubscribe()
