"""Verify: a submission id -> its inclusion proof fetched from the coordinator, checked here and
against the root anchored on AuditAnchor (`app.wallet.verify.verify_inclusion`); the answer in
plain words. The coordinator's sign-in is signed by the wallet, so it must be unlocked."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QWidget

from app.ui.wallet.chain_page import ERROR_STYLE, OK_STYLE, ChainPage, ChainSource
from app.ui.wallet.redeem_page import NO_COORDINATOR
from app.ui.workers import describe
from app.wallet.chain import ChainWallet
from app.wallet.coordinator_api import CoordinatorApi
from app.wallet.verify import Verified, verify_inclusion


def verified_text(verified: Verified) -> str:
    count = f"{verified.leaf_count} accepted submission" + ("" if verified.leaf_count == 1 else "s")
    return (f"Submission {verified.submission_id} is in the record anchored for {verified.epoch}: the proof "
            f"leads to the root {verified.root} ({count}), checked here and "
            "against the root on the AuditAnchor contract.")


class VerifyPage(ChainPage):
    def __init__(self, source: ChainSource, parent: QWidget | None = None) -> None:
        super().__init__(source, parent)
        self.submission = QLineEdit()
        self.submission.setObjectName("wallet-submission-id")
        self.submission.setPlaceholderText("Submission id")
        self.digest = QLineEdit()
        self.digest.setObjectName("wallet-payload-sha256")
        self.digest.setPlaceholderText("Optional: SHA-256 of your own copy of the submission")
        self.answer = QLabel()
        self.answer.setObjectName("wallet-verify-answer")
        self.answer.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.submission, 1)
        self.verify_button: QPushButton = self.button("wallet-verify", "Verify", self.verify)
        row.addWidget(self.verify_button)
        self.body.addLayout(row)
        self.body.addWidget(self.digest)
        self.body.addWidget(self.answer)
        self.data = True  # nothing to read first

    def reload(self) -> None:
        self.show_state()

    def show_state(self) -> None:
        super().show_state()
        if self.source.read is not None and self.source.coordinator_url is None:
            self.notice.setText(NO_COORDINATOR.replace("there is nothing to redeem from", "proofs come from it"))
            self.notice.setVisible(True)

    def action_enabled(self, button: QPushButton) -> bool:
        return self.source.coordinator_url is not None and not self.loading

    def verify(self) -> None:
        submission, url = self.submission.text().strip(), self.source.coordinator_url
        if not submission or url is None:
            self.answer.setText("Type the id of one of your accepted submissions.")
            return
        digest = self.digest.text().strip() or None

        def check() -> Verified:
            cw: ChainWallet = self.source.signing()
            return verify_inclusion(cw, CoordinatorApi(url, cw.signer).proof(submission), payload_sha256=digest)

        self.loading = True
        self.answer.setText("Fetching the proof and checking it…")
        self.answer.setStyleSheet("")
        self.show_state()
        self.source.bridge.run(self.source.runner.submit_io(check), self._verified, self._refused)

    def _verified(self, verified: Verified) -> None:
        self.loading = False
        self.answer.setText(verified_text(verified))
        self.answer.setStyleSheet(OK_STYLE)
        self.show_state()

    def _refused(self, exc: BaseException) -> None:
        self.loading = False
        self.answer.setText(f"Not verified: {describe(exc)}")
        self.answer.setStyleSheet(ERROR_STYLE)
        self.show_state()
