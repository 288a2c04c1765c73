"""The wallet's create and import pages: widgets that collect input, nothing else.

They never touch the disk or run scrypt: the wallet dialog takes what they collect and runs
the work on the app's executors. A new recovery phrase is shown on one step and asked back
(some of its words) on the next, where it is no longer visible; `clear()` wipes every secret
from the widgets once the wallet exists or the user goes back.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QFormLayout, QGridLayout, QHBoxLayout, QLabel,
                               QLineEdit, QPushButton, QStackedWidget, QVBoxLayout, QWidget)

from app.wallet.errors import WalletError
from app.wallet.keys import check_confirmation


def _secret_field(name: str, *, mode: QLineEdit.EchoMode = QLineEdit.EchoMode.Password) -> QLineEdit:
    field = QLineEdit()
    field.setObjectName(name)
    field.setEchoMode(mode)
    return field


class PassphraseFields(QWidget):
    """A new wallet passphrase typed twice, or (when a real OS keychain exists) the keychain."""

    def __init__(self, name: str, *, keychain_available: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.use_keychain = QCheckBox("Keep the wallet password in the OS keychain (no passphrase to type)")
        self.use_keychain.setObjectName(f"{name}-use-keychain")
        self.use_keychain.setVisible(keychain_available)
        self.use_keychain.setChecked(keychain_available)
        self.first, self.second = _secret_field(f"{name}-passphrase"), _secret_field(f"{name}-passphrase-again")
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow(self.use_keychain)
        form.addRow("New passphrase", self.first)
        form.addRow("Passphrase again", self.second)
        self.use_keychain.toggled.connect(self._sync)
        self._sync()

    def _sync(self) -> None:
        for field in (self.first, self.second):
            field.setEnabled(not self.use_keychain.isChecked())

    def password(self) -> str | None:
        """None: the keychain; else the passphrase (the wallet checks its length)."""
        if self.use_keychain.isChecked():
            return None
        if self.first.text() != self.second.text():
            raise WalletError("the two passphrases differ")
        return self.first.text()

    def clear(self) -> None:
        self.first.clear()
        self.second.clear()


class CreatePage(QWidget):
    """Step 1: the 24 words. Step 2: some of them typed back, and the protection."""

    create_requested = Signal()
    cancelled = Signal()

    def __init__(self, *, keychain_available: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._mnemonic = ""
        self._positions: list[int] = []
        self.steps = QStackedWidget()
        self.word_labels = [QLabel() for _ in range(24)]
        self.answers: list[QLineEdit] = []
        self.answer_form = QFormLayout()
        self.protection = PassphraseFields("wallet-create", keychain_available=keychain_available)
        self.steps.addWidget(self._words_step())
        self.steps.addWidget(self._confirm_step())
        layout = QVBoxLayout(self)
        layout.addWidget(self.steps)

    def _words_step(self) -> QWidget:
        step = QWidget()
        layout = QVBoxLayout(step)
        note = QLabel("Write these 24 words down, in order, and keep them offline. They are shown only now and "
                      "are never stored: they are the only way to restore this wallet.")
        note.setWordWrap(True)
        grid = QGridLayout()
        for n, label in enumerate(self.word_labels):
            label.setObjectName(f"wallet-word-{n + 1}")
            label.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)  # no copy to the clipboard
            grid.addWidget(label, n // 4, n % 4)
        written = QPushButton("I have written them down")
        written.setObjectName("wallet-words-written")
        written.clicked.connect(lambda: self.steps.setCurrentIndex(1))
        back = QPushButton("Cancel")
        back.clicked.connect(self.cancelled.emit)
        layout.addWidget(note)
        layout.addLayout(grid)
        layout.addLayout(_row(back, written))
        return step

    def _confirm_step(self) -> QWidget:
        step = QWidget()
        layout = QVBoxLayout(step)
        layout.addWidget(QLabel("Type back these words of your recovery phrase:"))
        layout.addLayout(self.answer_form)
        layout.addWidget(self.protection)
        create = QPushButton("Create wallet")
        create.setObjectName("wallet-create-confirm")
        create.clicked.connect(self.create_requested.emit)
        back = QPushButton("Show the words again")
        back.clicked.connect(lambda: self.steps.setCurrentIndex(0))
        layout.addLayout(_row(back, create))
        return step

    def start(self, mnemonic: str, positions: list[int]) -> None:
        self.clear()
        self._mnemonic, self._positions = mnemonic, positions
        for n, (label, word) in enumerate(zip(self.word_labels, mnemonic.split()), 1):
            label.setText(f"{n}. {word}")
        for position in positions:
            field = QLineEdit()
            field.setObjectName(f"wallet-confirm-{position}")
            self.answer_form.addRow(f"Word {position}", field)
            self.answers.append(field)
        self.steps.setCurrentIndex(0)

    def confirmed(self) -> tuple[str, str | None]:
        """(the phrase, the password or None for the keychain) once the answers match."""
        check_confirmation(self._mnemonic, {p: f.text() for p, f in zip(self._positions, self.answers)})
        return self._mnemonic, self.protection.password()

    def clear(self) -> None:
        self._mnemonic = ""
        for label in self.word_labels:
            label.clear()
        while self.answer_form.rowCount():
            self.answer_form.removeRow(0)
        self.answers.clear()
        self.protection.clear()


class ImportPage(QWidget):
    """A recovery phrase (with an optional BIP-39 passphrase), a private key or a keystore file."""

    import_requested = Signal()
    cancelled = Signal()
    SOURCES = ("Recovery phrase", "Private key", "Keystore file")

    def __init__(self, *, keychain_available: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.source = QComboBox()
        self.source.setObjectName("wallet-import-source")
        self.source.addItems(self.SOURCES)
        self.secret = _secret_field("wallet-import-secret", mode=QLineEdit.EchoMode.PasswordEchoOnEdit)
        self.bip39 = _secret_field("wallet-import-bip39")
        self.keystore_path = QLineEdit()
        self.keystore_path.setObjectName("wallet-import-keystore")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        self.keystore_password = _secret_field("wallet-import-keystore-password")
        self.protection = PassphraseFields("wallet-import", keychain_available=keychain_available)
        self.form = QFormLayout()
        self.form.addRow("Import from", self.source)
        self.form.addRow("Phrase or key", self.secret)
        self.form.addRow("BIP-39 passphrase (optional)", self.bip39)
        self.keystore_row = _row(self.keystore_path, browse)
        self.form.addRow("Keystore file", self.keystore_row)
        self.form.addRow("Keystore password", self.keystore_password)
        go, back = QPushButton("Import"), QPushButton("Cancel")
        go.setObjectName("wallet-import-confirm")
        go.clicked.connect(self.import_requested.emit)
        back.clicked.connect(self.cancelled.emit)
        layout = QVBoxLayout(self)
        layout.addLayout(self.form)
        layout.addWidget(self.protection)
        layout.addLayout(_row(back, go))
        self.source.currentIndexChanged.connect(self._sync)
        self._sync()

    def _sync(self) -> None:
        kind = self.source.currentIndex()
        for row, shown in ((self.secret, kind < 2), (self.bip39, kind == 0), (self.keystore_row, kind == 2),
                           (self.keystore_password, kind == 2)):
            self.form.setRowVisible(row, shown)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Keystore file", "", "Keystore (*.json);;All files (*)")
        if path:
            self.keystore_path.setText(path)

    def request(self) -> dict[str, object]:
        """What to import, for `WalletDialog` to run in the background."""
        kind = ("mnemonic", "private_key", "keystore")[self.source.currentIndex()]
        request: dict[str, object] = {"kind": kind, "password": self.protection.password()}
        if kind == "keystore":
            if not self.keystore_path.text().strip():
                raise WalletError("choose the keystore file to import")
            request.update(path=self.keystore_path.text().strip(), secret=self.keystore_password.text())
        else:
            request.update(secret=self.secret.text(), bip39_passphrase=self.bip39.text())
        return request

    def clear(self) -> None:
        for field in (self.secret, self.bip39, self.keystore_password, self.keystore_path):
            field.clear()
        self.protection.clear()


def _row(*widgets: QWidget) -> QHBoxLayout:
    row = QHBoxLayout()
    row.addStretch(1)
    for widget in widgets:
        row.addWidget(widget)
    return row
