"""The tensor panel's header: what is selected, in two lines, with a copy-key button."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QGridLayout, QProgressBar, QToolButton, QWidget

from inspector.core.dtypes import is_known
from inspector.core.tensor_notes import role_text
from inspector.gui.formatting import human_size, shape_text
from inspector.gui.panels.plot_style import shrinkable_label

REVEAL_PROGRESS_MS = 300


def node_key(node: Any) -> str:
    """The selected entry's name as the user would index it (its key, else its path)."""
    key = getattr(node, "key", None)
    if key not in (None, ""):
        return str(key)
    path = getattr(node, "path", ()) or ()
    return " › ".join(str(part) for part in path)


def tensor_details(tensor: Any, shared_with: str = "") -> str:
    size = human_size(tensor.nbytes) if is_known(tensor.dtype) else "unknown element size"
    parts = [shape_text(tensor.shape), tensor.dtype, role_text(tensor, shared_with), tensor.device, size,
             f"{tensor.numel:,} elements"]
    if tensor.layout != "strided":
        parts.append(tensor.layout)
    if not tensor.is_contiguous():
        parts.append("non-contiguous view")
    return "  ·  ".join(parts)


def group_details(node: Any) -> str:
    kind = getattr(node, "class_name", None) or node.kind
    parts = [str(kind), f"{getattr(node, 'tensor_count', 0):,} tensors",
             f"{getattr(node, 'numel_total', 0):,} elements",
             human_size(getattr(node, "nbytes_total", 0) or 0)]
    return "  ·  ".join(parts)


class NodeHeader(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = shrinkable_label()
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        self.title.setFont(font)
        self.details = shrinkable_label()
        self.details.setObjectName("node_details")
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.key_label = shrinkable_label()
        self.key_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.key_label.setEnabled(False)  # drawn in the palette's dimmed text colour
        self.copy_button = QToolButton(text="Copy key")
        self.copy_button.clicked.connect(self._on_copy_button_clicked)
        self.progress = QProgressBar(maximumHeight=6, textVisible=False, minimum=0, maximum=1000)
        policy = self.progress.sizePolicy()
        policy.setRetainSizeWhenHidden(True)  # appearing must not shift the plots
        self.progress.setSizePolicy(policy)
        self.progress.setVisible(False)
        self._reveal = QTimer(self, singleShot=True, interval=REVEAL_PROGRESS_MS)
        self._reveal.timeout.connect(self._on_reveal_timeout)
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title, 0, 0)
        layout.addWidget(self.copy_button, 0, 1, Qt.AlignmentFlag.AlignRight)
        layout.addWidget(self.key_label, 1, 0, 1, 2)
        layout.addWidget(self.details, 2, 0, 1, 2)
        layout.addWidget(self.progress, 3, 0, 1, 2)
        layout.setColumnStretch(0, 1)

    def show_node(self, node: Any, details: str) -> None:
        self.title.setText(str(getattr(node, "name", "")) if node is not None else "")
        key = node_key(node) if node is not None else ""
        self.key_label.setText(key)
        self.key_label.setToolTip(key)
        self.details.setToolTip(details)
        self.key_label.setVisible(bool(key) and key != self.title.text())
        self.copy_button.setVisible(bool(key))
        self.details.setText(details)

    def start_progress(self) -> None:
        """Work began: the bar shows only if it lasts long enough to be worth a bar."""
        self.progress.setValue(0)
        self._reveal.start()

    def show_progress(self, fraction: float) -> None:
        self.progress.setValue(int(fraction * 1000))

    def stop_progress(self) -> None:
        self._reveal.stop()
        self.progress.setVisible(False)

    def _on_reveal_timeout(self) -> None:
        self.progress.setVisible(True)

    def _on_copy_button_clicked(self) -> None:
        QGuiApplication.clipboard().setText(self.key_label.text())
