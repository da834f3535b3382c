"""The options of the export dialog: destination, format, dtype, a prefix to strip and one to add.

The plan's ``rename`` list may hold more than two rules (a loaded plan, a check's remap): the
Strip field edits its first strip rule, the Add field its first add rule, and the others stay
as they are, in their order, listed under the fields.
"""

from __future__ import annotations

import os

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QWidget,
)

from inspector.core.key_rules import Rule
from inspector.core.writers.cast import CAST_TARGETS

FORMATS = ((".pt", "PyTorch state dict (.pt)"), (".safetensors", "safetensors (.safetensors)"))
KEEP_DTYPE = "Keep each tensor's dtype"
Renames = tuple[tuple[str, str], ...]


class ExportOptions(QWidget):
    changed = Signal()  # any field but the destination
    destinationChanged = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.destination = QLineEdit(placeholderText="Where to write the state dict")
        self.browse_button = QPushButton("Browse…")
        self.format = QComboBox()
        for suffix, text in FORMATS:
            self.format.addItem(text, suffix)
        self.dtype = QComboBox()
        self.dtype.addItem(KEEP_DTYPE, None)
        for name in CAST_TARGETS:
            self.dtype.addItem(f"Cast floating-point tensors to {name}", name)
        self.strip = QLineEdit(placeholderText="e.g. module.")
        self.add = QLineEdit(placeholderText="e.g. backbone.")
        self.other_renames = QLabel(wordWrap=True)
        self._renames: Renames = ()
        self._layout_widgets()
        self._connect()

    # --- values --------------------------------------------------------------------------
    def set_values(self, destination: str, renames: Renames, dtype: str | None) -> None:
        self.set_destination(destination)
        self.set_plan_fields(renames, dtype)

    def set_plan_fields(self, renames: Renames, dtype: str | None) -> None:
        self._renames = tuple(renames)
        strip, add, others = split_renames(self._renames)
        for field, value in ((self.strip, strip), (self.add, add)):
            field.blockSignals(True)
            field.setText(value)
            field.blockSignals(False)
        self.dtype.setCurrentIndex(max(self.dtype.findData(dtype), 0))
        self.other_renames.setText("Also: " + ", ".join(_rule_name(old, new) for old, new in others) if others else "")
        self.other_renames.setVisible(bool(others))

    def set_destination(self, path: str) -> None:
        self.destination.setText(path)

    def renames(self) -> Renames:
        return join_renames(self._renames, self.strip.text().strip(), self.add.text().strip())

    def cast_dtype(self) -> str | None:
        return self.dtype.currentData()

    def destination_path(self) -> str:
        return os.path.abspath(os.path.expanduser(self.destination.text().strip())) if self.destination.text().strip() else ""

    # --- wiring --------------------------------------------------------------------------
    def _layout_widgets(self) -> None:
        where = QHBoxLayout()
        where.addWidget(self.destination, 1)
        where.addWidget(self.browse_button)
        prefixes = QHBoxLayout()
        prefixes.addWidget(self.strip, 1)
        prefixes.addWidget(QLabel("Add prefix:"))
        prefixes.addWidget(self.add, 1)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Destination:", where)
        form.addRow("Format:", self.format)
        form.addRow("Dtype:", self.dtype)
        form.addRow("Strip prefix:", prefixes)
        form.addRow("", self.other_renames)
        self.other_renames.setVisible(False)

    def _connect(self) -> None:
        self.browse_button.clicked.connect(self._on_browse_button_clicked)
        self.format.currentIndexChanged.connect(self._on_format_current_index_changed)
        self.destination.textChanged.connect(self._on_destination_text_changed)
        self.dtype.currentIndexChanged.connect(lambda _index: self.changed.emit())
        self.strip.textChanged.connect(lambda _text: self.changed.emit())
        self.add.textChanged.connect(lambda _text: self.changed.emit())

    def _on_browse_button_clicked(self) -> None:
        filters = ";;".join(f"{text.split(' (')[0]} (*{suffix})" for suffix, text in FORMATS)
        chosen = self.format.currentData()
        initial = self.destination_path()
        path, selected = QFileDialog.getSaveFileName(self, "Export to", initial, filters,
                                                     next(f for f in filters.split(";;") if chosen in f))
        if path:
            suffix = next(suffix for suffix, text in FORMATS if suffix in selected)
            self.set_destination(path if os.path.splitext(path)[1] in dict(FORMATS) else path + suffix)

    def _on_format_current_index_changed(self, _index: int) -> None:
        path = self.destination.text()
        stem, suffix = os.path.splitext(path)
        wanted = self.format.currentData()
        if path and suffix.lower() != wanted:
            self.destination.setText((stem if suffix.lower() in dict(FORMATS) else path) + wanted)
        self.changed.emit()

    def _on_destination_text_changed(self, text: str) -> None:
        index = self.format.findData(os.path.splitext(text)[1].lower())
        if index >= 0 and index != self.format.currentIndex():
            self.format.blockSignals(True)
            self.format.setCurrentIndex(index)
            self.format.blockSignals(False)
            self.changed.emit()  # another format may hold other dtypes
        self.destinationChanged.emit()


def split_renames(renames: Renames) -> tuple[str, str, Renames]:
    """(first strip prefix, first add prefix, the other rules in order)."""
    strip = next((old for old, new in renames if old and not new), "")
    add = next((new for old, new in renames if new and not old), "")
    others = tuple(rule for rule in renames if rule not in ((strip, ""), ("", add)))
    return strip, add, others


def join_renames(renames: Renames, strip: str, add: str) -> Renames:
    """``renames`` with its first strip rule set to ``strip`` and its first add rule to ``add``
    (a new strip goes first, a new add last; an empty field removes the rule)."""
    old_strip, old_add, _ = split_renames(renames)
    result = list(renames)
    for old_rule, new_rule, at_start in (((old_strip, ""), (strip, ""), True), (("", old_add), ("", add), False)):
        present = old_rule in result and any(old_rule)
        if present:
            position = result.index(old_rule)
            if any(new_rule):
                result[position] = new_rule
            else:
                del result[position]
        elif any(new_rule):
            result.insert(0 if at_start else len(result), new_rule)
    return tuple(result)


def _rule_name(old: str, new: str) -> str:
    if not new:
        return Rule.strip_prefix(old).name
    if not old:
        return Rule.add_prefix(new).name
    return Rule.rename(old, new).name


def default_destination(source: str) -> str:
    """``<folder>/<name>-export.pt`` beside the source file (or folder)."""
    source = os.path.abspath(source.rstrip(os.sep))
    stem = os.path.basename(source)
    if not os.path.isdir(source):
        stem = os.path.splitext(stem)[0]
    return os.path.join(os.path.dirname(source), f"{stem}-export.pt")
