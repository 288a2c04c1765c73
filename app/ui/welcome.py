"""The first page on an empty workspace: import a folder, or open the sample project."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget


class WelcomePage(QWidget):
    import_requested = Signal()
    sample_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("welcome")
        title = QLabel("<h1>Welcome to Alaya Workstation</h1>")
        text = QLabel("Your workspace is empty. Import a folder of images, video or audio, "
                      "or open a small sample project of street scenes to try the tools.")
        text.setWordWrap(True)
        text.setMaximumWidth(460)
        self.import_button = QPushButton("&Import folder…", objectName="welcome.import")
        self.sample_button = QPushButton("Open the &sample project", objectName="welcome.sample")
        self.import_button.setDefault(True)
        self.import_button.clicked.connect(self.import_requested)
        self.sample_button.clicked.connect(self.sample_requested)
        self.message = QLabel(objectName="welcome.message")
        layout = QVBoxLayout(self)
        layout.addStretch(2)
        for widget in (title, text, self.import_button, self.sample_button, self.message):
            layout.addWidget(widget, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(3)

    def set_busy(self, message: str) -> None:
        """Show progress ("Preparing the sample project…"); "" re-enables the buttons."""
        self.message.setText(message)
        self.import_button.setEnabled(not message)
        self.sample_button.setEnabled(not message)
