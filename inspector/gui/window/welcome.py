"""What the window shows when nothing is open: a drop area, open buttons and recent files."""

from __future__ import annotations

import os

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from inspector.gui.window import theme

MAX_RECENT_SHOWN = 6


class WelcomeView(QWidget):
    openFileRequested = Signal()
    openFolderRequested = Signal()
    demoRequested = Signal()
    recentRequested = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.drop_frame = QFrame(objectName="dropFrame")
        self.recent_box = QVBoxLayout()
        self._build()

    def set_recent(self, paths: list[str]) -> None:
        while self.recent_box.count():
            item = self.recent_box.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        if not paths:
            return
        heading = QLabel("<b>Recent</b>")
        self.recent_box.addWidget(heading)
        for path in paths[:MAX_RECENT_SHOWN]:
            link = QPushButton(os.path.basename(path.rstrip(os.sep)) or path, flat=True, toolTip=path)
            link.setCursor(Qt.CursorShape.PointingHandCursor)
            link.setStyleSheet("text-align: left; padding: 2px 6px;")
            link.clicked.connect(lambda _checked=False, chosen=path: self.recentRequested.emit(chosen))
            self.recent_box.addWidget(link)

    def _build(self) -> None:
        icon = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        icon.setPixmap(theme.app_icon().pixmap(72, 72))
        title = QLabel("Checkpoint Inspector", alignment=Qt.AlignmentFlag.AlignCenter)
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.8)
        font.setBold(True)
        title.setFont(font)
        hint = QLabel("Drop .pt · .pth · .bin · .ckpt · .safetensors files or checkpoint folders here;\n"
                      "hold Shift while dropping two to compare them.\n"
                      "Nothing in them is ever run: files are only read.",
                      alignment=Qt.AlignmentFlag.AlignCenter, wordWrap=True)
        frame_layout = QVBoxLayout(self.drop_frame)
        frame_layout.setContentsMargins(40, 32, 40, 32)
        for widget in (icon, title, hint):
            frame_layout.addWidget(widget)
        frame_layout.addSpacing(12)
        frame_layout.addLayout(self._buttons())
        frame_layout.addSpacing(12)
        frame_layout.addLayout(self.recent_box)
        self.drop_frame.setMinimumWidth(600)
        self.drop_frame.setMaximumWidth(680)
        layout = QVBoxLayout(self)
        layout.addStretch()
        layout.addWidget(self.drop_frame, alignment=Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch()

    def _buttons(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addStretch()
        for text, signal in (("Open File…", self.openFileRequested), ("Open Folder…", self.openFolderRequested),
                             ("Open Demo Checkpoints", self.demoRequested)):
            button = QPushButton(text)
            button.clicked.connect(signal)
            row.addWidget(button)
        row.addStretch()
        return row
