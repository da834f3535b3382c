"""A table of the first values of the selected slice, exactly as stored."""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QHBoxLayout, QHeaderView, QTableView, QToolButton, QVBoxLayout, QWidget

from inspector.core.slices import PREVIEW_ROWS, PreviewData

from inspector.gui.panels.plot_style import shrinkable_label

AnyIndex = QModelIndex | QPersistentModelIndex
VALUE_ROLE = Qt.ItemDataRole.UserRole  # the value as a Python number
CELL_DIGITS = 4


class PreviewTableModel(QAbstractTableModel):
    """Read-only rows x columns of a small 2-D numpy array."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._values = np.zeros((0, 0))
        self._column_title: str | None = None  # one title for a single column of values
        self._first_row = 0

    def set_values(self, values: np.ndarray | None, column_title: str | None = None, first_row: int = 0) -> None:
        self.beginResetModel()
        self._values = np.zeros((0, 0)) if values is None else np.atleast_2d(values)
        self._column_title = column_title
        self._first_row = first_row  # rows are numbered as in the tensor
        self.endResetModel()

    def values(self) -> np.ndarray:
        return self._values

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else self._values.shape[0]

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else self._values.shape[1]

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= self.rowCount() or index.column() >= self.columnCount():
            return None
        value = self._values[index.row(), index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return format_value(value)
        if role == Qt.ItemDataRole.ToolTipRole:
            return repr(python_value(value))
        if role == VALUE_ROLE:
            return python_value(value)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role != Qt.ItemDataRole.DisplayRole or section < 0:
            return None
        if orientation == Qt.Orientation.Horizontal and self._column_title is not None:
            return self._column_title
        return str(section + (self._first_row if orientation == Qt.Orientation.Vertical else 0))

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable


def python_value(value: Any) -> Any:
    """bool/int/float/complex for any numpy scalar, bfloat16 and float8 included."""
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if np.iscomplexobj(value):
        return complex(value)
    return float(value)


def format_value(value: Any) -> str:
    """Four significant digits, so a 7×7 kernel fits the panel (the tooltip has every digit);
    NaN and Inf as people write them."""
    number = python_value(value)
    if isinstance(number, float):
        if number != number:
            return "NaN"
        if number in (float("inf"), float("-inf")):
            return "Inf" if number > 0 else "-Inf"
        return f"{number:.{CELL_DIGITS}g}"
    return str(number)


class ValuesPreview(QWidget):
    """One page of the slice's values, a line saying which part it is, and page buttons."""

    pageRequested = Signal(int)  # the first row of the page wanted

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._first_row, self._rows = 0, 0
        self.previous_button = QToolButton(text="◀", toolTip=f"previous {PREVIEW_ROWS} rows", autoRaise=True)
        self.next_button = QToolButton(text="▶", toolTip=f"next {PREVIEW_ROWS} rows", autoRaise=True)
        self.previous_button.clicked.connect(lambda: self.pageRequested.emit(max(self._first_row - PREVIEW_ROWS, 0)))
        self.next_button.clicked.connect(lambda: self.pageRequested.emit(self._first_row + PREVIEW_ROWS))
        self.model = PreviewTableModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().setDefaultSectionSize(20)
        self.table.horizontalHeader().setMinimumSectionSize(24)
        self.table.setAlternatingRowColors(True)
        self.note = shrinkable_label()
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.note, 1)
        top.addWidget(self.previous_button)
        top.addWidget(self.next_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        self._update_buttons()

    def set_preview(self, page: PreviewData, where: str, column_title: str | None = None) -> None:
        self.model.set_values(page.values, column_title, page.first_row)
        rows, columns = np.atleast_2d(page.values).shape
        self._first_row, self._rows = page.first_row, page.full_shape[0]
        last = page.first_row + rows - 1
        self.note.setText(f"{where}rows {page.first_row:,}–{last:,} of {page.full_shape[0]:,}, "
                          f"columns 0–{columns - 1} of {page.full_shape[1]:,}" if rows and columns
                          else f"{where}empty")
        self._update_buttons()

    def first_row(self) -> int:
        return self._first_row

    def clear(self, message: str = "") -> None:
        self.model.set_values(None)
        self._first_row, self._rows = 0, 0
        self.note.setText(message)
        self._update_buttons()

    def _update_buttons(self) -> None:
        paged = self._rows > PREVIEW_ROWS
        for button in (self.previous_button, self.next_button):
            button.setVisible(paged)
        self.previous_button.setEnabled(self._first_row > 0)
        self.next_button.setEnabled(self._first_row + PREVIEW_ROWS < self._rows)
