"""A table of the first values of the selected slice, exactly as stored."""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QHeaderView, QTableView, QVBoxLayout, QWidget

from inspector.gui.panels.plot_style import shrinkable_label

AnyIndex = QModelIndex | QPersistentModelIndex
VALUE_ROLE = Qt.ItemDataRole.UserRole  # the value as a Python number


class PreviewTableModel(QAbstractTableModel):
    """Read-only rows x columns of a small 2-D numpy array."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._values = np.zeros((0, 0))
        self._column_title: str | None = None  # one title for a single column of values

    def set_values(self, values: np.ndarray | None, column_title: str | None = None) -> None:
        self.beginResetModel()
        self._values = np.zeros((0, 0)) if values is None else np.atleast_2d(values)
        self._column_title = column_title
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
        return str(section)
        return None

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
    number = python_value(value)
    if isinstance(number, float):
        return f"{number:.6g}"
    return str(number)


class ValuesPreview(QWidget):
    """The preview table plus a line saying how much of the slice it shows."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = PreviewTableModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().setDefaultSectionSize(20)
        self.table.setAlternatingRowColors(True)
        self.note = shrinkable_label()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addWidget(self.note)
        layout.addWidget(self.table, 1)

    def set_preview(self, values: np.ndarray, full_shape: tuple[int, int], where: str,
                    column_title: str | None = None) -> None:
        self.model.set_values(values, column_title)
        rows, columns = np.atleast_2d(values).shape
        self.note.setText(f"{where}rows 0–{rows - 1} of {full_shape[0]:,}, "
                          f"columns 0–{columns - 1} of {full_shape[1]:,}" if rows and columns
                          else f"{where}empty")

    def clear(self, message: str = "") -> None:
        self.model.set_values(None)
        self.note.setText(message)
