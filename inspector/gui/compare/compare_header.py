"""The compare view's first line: which file is A and which is B (drop a file on either to
replace it), a swap button, the summary, and the run's progress with Cancel / Run again."""

from __future__ import annotations

import os

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QSizePolicy, QToolButton, QWidget

from inspector.gui.panels.plot_style import shrinkable_label


class SideLabel(QLabel):
    """"A: name" with the full path in its tooltip; a checkpoint dropped on it replaces that side."""

    fileDropped = Signal(str)

    def __init__(self, side: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.side = side
        self.setAcceptDrops(True)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setMinimumWidth(60)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

    def set_path(self, path: str, source_format: str | None = None) -> None:
        name = os.path.basename(path.rstrip(os.sep)) or path
        kind = f" <span style='color:gray'>({source_format})</span>" if source_format else ""
        self.setText(f"<b>{self.side}</b>&nbsp;{_escape(name)}{kind}")
        self.setToolTip(f"{self.side}: {path}\nDrop a checkpoint here to compare another file as {self.side}")

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if _one_local_path(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        path = _one_local_path(event.mimeData())
        if path:
            event.acceptProposedAction()
            self.fileDropped.emit(path)


class CompareHeader(QWidget):
    swapRequested = Signal()
    cancelRequested = Signal()
    rerunRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.side_a, self.side_b = SideLabel("A"), SideLabel("B")
        self.swap_button = QToolButton(text="⇄")
        self.swap_button.setToolTip("Swap A and B (B becomes the reference)")
        self.summary = shrinkable_label(align_right=True)
        self.summary.setObjectName("compare_summary")
        self.progress = QProgressBar(minimumWidth=60, maximumWidth=200, textVisible=False)
        self.cancel_button = QPushButton("Cancel")
        self.rerun_button = QPushButton("Run again")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.side_a, 2)
        layout.addWidget(self.swap_button)
        layout.addWidget(self.side_b, 2)
        layout.addWidget(self.summary, 3)
        for widget in (self.progress, self.cancel_button, self.rerun_button):
            layout.addWidget(widget)
        self.swap_button.clicked.connect(self.swapRequested)
        self.cancel_button.clicked.connect(self.cancelRequested)
        self.rerun_button.clicked.connect(self.rerunRequested)
        self.set_running(False)

    def set_paths(self, path_a: str, path_b: str, formats: tuple[str | None, str | None] = (None, None)) -> None:
        self.side_a.set_path(path_a, formats[0])
        self.side_b.set_path(path_b, formats[1])

    def set_running(self, running: bool) -> None:
        self.progress.setVisible(running)
        self.cancel_button.setVisible(running)
        self.rerun_button.setVisible(not running)
        if running:
            self.progress.setRange(0, 0)

    def set_progress(self, done: int, total: int, message: str) -> None:
        if total > 0:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * min(done, total) / total))
        self.progress.setToolTip(message)

    def set_summary(self, text: str, tooltip: str = "") -> None:
        self.summary.setText(text)
        self.summary.setToolTip(tooltip or text)


def _one_local_path(mime) -> str | None:
    if not mime.hasUrls():
        return None
    paths = [url.toLocalFile() for url in mime.urls() if url.isLocalFile() and url.toLocalFile()]
    return paths[0] if len(paths) == 1 else None


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
