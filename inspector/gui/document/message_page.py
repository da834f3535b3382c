"""A large, quiet message where the tensor panel would be: loading, failed, cancelled."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from inspector.gui.window import theme


class MessagePage(QWidget):
    retryRequested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.icon = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.title = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        font.setBold(True)
        self.title.setFont(font)
        self.text = QLabel(alignment=Qt.AlignmentFlag.AlignCenter, wordWrap=True,
                           textInteractionFlags=Qt.TextInteractionFlag.TextSelectableByMouse)
        self.retry_button = QPushButton("Try again")
        self.retry_button.clicked.connect(self.retryRequested)
        buttons = QHBoxLayout()
        buttons.addStretch()
        buttons.addWidget(self.retry_button)
        buttons.addStretch()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(32, 16, 32, 16)
        layout.addStretch(2)
        for widget in (self.icon, self.title):
            layout.addWidget(widget)
        layout.addWidget(self.text)
        layout.addLayout(buttons)
        layout.addStretch(3)

    def show_message(self, kind: str, title: str, text: str) -> None:
        self.icon.setPixmap(theme.status_icon(kind).pixmap(48, 48))
        self.title.setText(title)
        self.text.setText(text)
        color = theme.error_text_color().name() if kind == "error" else ""
        self.title.setStyleSheet(f"color: {color};" if color else "")
        self.retry_button.setVisible(kind in ("error", "cancelled"))
