"""The tensor panel's header: what is selected (its name, its key, its details), with a
copy-key button. The button keeps its room when hidden, so the tabs below stay where they
are; details too long for one line wrap between their parts, never inside a number."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QGridLayout, QProgressBar, QToolButton, QWidget

from inspector.core.dtypes import is_known
from inspector.core.tensor_notes import role_text
from inspector.gui.formatting import human_size, shape_text
from inspector.gui.panels.plot_style import NO_BREAK_SPACE, dim_text_color, shrinkable_label, unbreakable, wrapping_label

REVEAL_PROGRESS_MS = 300
SEPARATOR = "  ·  "  # between the parts of the details


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
    return SEPARATOR.join(parts)


def group_details(node: Any) -> str:
    kind = getattr(node, "class_name", None) or node.kind
    count = getattr(node, "tensor_count", 0)
    parts = [str(kind), f"{count:,} tensor{'' if count == 1 else 's'}",
             f"{getattr(node, 'numel_total', 0):,} elements",
             human_size(getattr(node, "nbytes_total", 0) or 0)]
    return SEPARATOR.join(parts)


def breaking_between_parts(details: str) -> str:
    """``details`` with the spaces inside each part made unbreakable, and the separators
    breakable only after their dot: a wrapped line never splits "2.0 MiB" or "512,000 elements"
    and never starts with a dot."""
    parts = [unbreakable(part) for part in details.split(SEPARATOR)]
    return f"{NO_BREAK_SPACE * 2}·{NO_BREAK_SPACE} ".join(parts)


class NodeHeader(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = shrinkable_label()
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        self.title.setFont(font)
        self.details = wrapping_label()
        self.details.setObjectName("node_details")
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.key_label = shrinkable_label()
        self.key_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._dim_key_label()
        self.copy_button = QToolButton(text="Copy key")
        self.copy_button.clicked.connect(self._on_copy_button_clicked)
        _keep_size_when_hidden(self.copy_button)  # the root, which has no key, is as tall as a module
        self.progress = QProgressBar(maximumHeight=6, textVisible=False, minimum=0, maximum=1000)
        _keep_size_when_hidden(self.progress)  # appearing must not shift the plots
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
        self.details.setText(breaking_between_parts(details))

    def start_progress(self) -> None:
        """Work began: the bar shows only if it lasts long enough to be worth a bar."""
        self.progress.setValue(0)
        self._reveal.start()

    def show_progress(self, fraction: float) -> None:
        self.progress.setValue(int(fraction * 1000))

    def stop_progress(self) -> None:
        self._reveal.stop()
        self.progress.setVisible(False)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange:
            self._dim_key_label()
        super().changeEvent(event)

    def _dim_key_label(self) -> None:
        """The key in a quieter colour than the details, still readable (not a disabled grey).
        A style sheet, not a palette: the app's style sheet puts back the palettes it saw."""
        self.key_label.setStyleSheet(f"color: {dim_text_color(self).name()}")

    def _on_reveal_timeout(self) -> None:
        self.progress.setVisible(True)

    def _on_copy_button_clicked(self) -> None:
        QGuiApplication.clipboard().setText(self.key_label.text())


def _keep_size_when_hidden(widget: QWidget) -> None:
    policy = widget.sizePolicy()
    policy.setRetainSizeWhenHidden(True)
    widget.setSizePolicy(policy)
