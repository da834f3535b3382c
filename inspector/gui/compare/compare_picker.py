"""Choosing what to compare: File > Compare… and a tab's "Compare with" menu."""

from __future__ import annotations

import os
from typing import Callable

from PySide6.QtWidgets import (
    QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout, QMenu, QPushButton, QWidget,
)

from inspector.core.sniff import CHECKPOINT_SUFFIXES

OPEN_FILTER = f"Checkpoints ({' '.join('*' + suffix for suffix in CHECKPOINT_SUFFIXES)});;All files (*)"


class ComparePicker(QDialog):
    """Two paths, each an open document or any file: A (the reference) and B."""

    def __init__(self, open_paths: list[str], path_a: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Compare two checkpoints")
        self.combo_a = _path_combo(open_paths, path_a)
        others = [path for path in open_paths if path != path_a]
        self.combo_b = _path_combo(others, others[0] if others and path_a else None)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Compare")
        form = QFormLayout(self)
        form.addRow("A (reference)", self._with_browse(self.combo_a))
        form.addRow("B", self._with_browse(self.combo_b))
        form.addRow(self.buttons)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        for combo in (self.combo_a, self.combo_b):
            combo.currentTextChanged.connect(lambda _text: self._update_ok())
        self.resize(640, self.sizeHint().height())
        self._update_ok()

    def paths(self) -> tuple[str, str]:
        return self.combo_a.currentText().strip(), self.combo_b.currentText().strip()

    def set_paths(self, path_a: str, path_b: str) -> None:
        self.combo_a.setEditText(path_a)
        self.combo_b.setEditText(path_b)

    def _with_browse(self, combo: QComboBox) -> QWidget:
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(combo, 1)
        browse = QPushButton("Browse…")
        browse.clicked.connect(lambda: self._browse(combo))
        layout.addWidget(browse)
        return row

    def _browse(self, combo: QComboBox) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a checkpoint", os.path.dirname(combo.currentText()),
                                              OPEN_FILTER)
        if path:
            combo.setEditText(path)

    def _update_ok(self) -> None:
        path_a, path_b = self.paths()
        ready = bool(path_a and path_b) and os.path.abspath(path_a) != os.path.abspath(path_b)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(ready)


def _path_combo(paths: list[str], current: str | None) -> QComboBox:
    combo = QComboBox(editable=True)
    combo.addItems(paths)
    combo.setEditText(current or "")
    combo.lineEdit().setPlaceholderText("a checkpoint file or folder")
    return combo


def compare_menu(parent: QWidget, path: str, other_paths: list[str], compare: Callable[[str, str], object],
                 pick: Callable[[str], object]) -> QMenu:
    """A document tab's "Compare with" menu: each other open document, or a file to choose."""
    menu = QMenu("Compare &with", parent)
    for other in other_paths:
        action = menu.addAction(os.path.basename(other.rstrip(os.sep)) or other)
        action.setToolTip(other)
        action.triggered.connect(lambda _checked=False, chosen=other: compare(path, chosen))
    if other_paths:
        menu.addSeparator()
    menu.addAction("Another &File…", lambda: pick(path))
    return menu
