"""The strip above a document's tree that names what the file would do if torch.load ran it."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QLabel, QSizePolicy, QToolButton, QVBoxLayout, QHBoxLayout

CODE_RUNNING_PREFIX = "would run code under"  # the core's wording; shown by the danger banner instead


class WarningBanner(QFrame):
    """Hidden unless there is something to say. "danger" for code-running globals, else "info"."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("warningBanner")
        self.level = ""
        self.headline = QLabel(wordWrap=True, textInteractionFlags=Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details = QLabel(wordWrap=True, textInteractionFlags=Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.setVisible(False)
        self.toggle = QToolButton(text="Details", checkable=True, autoRaise=True)
        self.toggle.toggled.connect(self.details.setVisible)
        self.headline.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.headline)
        top.addWidget(self.toggle, alignment=Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        layout.addLayout(top)
        layout.addWidget(self.details)
        self.setVisible(False)

    def show_warnings(self, code_running: list[str], warnings: list[str]) -> None:
        others = [text for text in warnings if not text.startswith(CODE_RUNNING_PREFIX)]
        if code_running:
            self.level = "danger"
            self.headline.setText(
                f"<b>This file would run code if opened with torch.load(weights_only=False):</b> "
                f"{', '.join(code_running)}. Nothing from it was run here.")
        elif others:
            self.level = "info"
            self.headline.setText(f"<b>{len(others)} warning{'s' if len(others) != 1 else ''}:</b> {others[0]}")
        else:
            self.level = ""
            self.setVisible(False)
            return
        self.details.setText("\n".join(f"• {text}" for text in others))
        self.toggle.setVisible(bool(others) and (bool(code_running) or len(others) > 1))
        self._apply_level()
        self.setVisible(True)

    def _apply_level(self) -> None:
        """The stylesheet colours the banner by its ``level`` property."""
        self.setProperty("level", self.level)
        self.style().unpolish(self)
        self.style().polish(self)
