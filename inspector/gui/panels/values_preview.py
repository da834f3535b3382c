"""A page of the selected slice's values, exactly as stored, with buttons paging its rows
and its columns."""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QHBoxLayout, QHeaderView, QTableView, QToolButton, QVBoxLayout, QWidget

from inspector.core.slices import PREVIEW_COLUMNS, PREVIEW_ROWS, PreviewData
from inspector.gui.panels.plot_style import unbreakable, wrapping_label

AnyIndex = QModelIndex | QPersistentModelIndex
VALUE_ROLE = Qt.ItemDataRole.UserRole  # the value as a Python number
CELL_DIGITS = 4


class PreviewTableModel(QAbstractTableModel):
    """Read-only rows x columns of a small 2-D numpy array."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._values = np.zeros((0, 0))
        self._column_title: str | None = None  # one title for a single column of values
        self._first_row, self._first_column = 0, 0

    def set_values(self, values: np.ndarray | None, column_title: str | None = None, first_row: int = 0,
                   first_column: int = 0) -> None:
        self.beginResetModel()
        self._values = np.zeros((0, 0)) if values is None else np.atleast_2d(values)
        self._column_title = column_title
        self._first_row, self._first_column = first_row, first_column  # numbered as in the tensor
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
        if orientation == Qt.Orientation.Vertical:
            return str(section + self._first_row)
        return self._column_title if self._column_title is not None else str(section + self._first_column)

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
    """One page of the slice's values, a line saying which part it is, and buttons paging its
    rows (▲ ▼) and columns (◀ ▶), each shown only when there is more than one page."""

    pageRequested = Signal(int, int)  # the first row and first column of the page wanted

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._first_row, self._rows, self._first_column, self._columns = 0, 0, 0, 0
        self.previous_button = _page_button("▲", f"previous {PREVIEW_ROWS} rows", lambda: self._turn(-PREVIEW_ROWS, 0))
        self.next_button = _page_button("▼", f"next {PREVIEW_ROWS} rows", lambda: self._turn(PREVIEW_ROWS, 0))
        self.left_button = _page_button("◀", f"previous {PREVIEW_COLUMNS} columns",
                                        lambda: self._turn(0, -PREVIEW_COLUMNS))
        self.right_button = _page_button("▶", f"next {PREVIEW_COLUMNS} columns", lambda: self._turn(0, PREVIEW_COLUMNS))
        self.model = PreviewTableModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().setDefaultSectionSize(20)
        self.table.horizontalHeader().setMinimumSectionSize(24)
        self.table.setAlternatingRowColors(True)
        self.note = wrapping_label()  # on a narrow panel, one line per part: no number cut
        self._build_layout()
        self._update_buttons()

    def set_preview(self, page: PreviewData, where: str, column_title: str | None = None) -> None:
        """Show ``page``; ``column_title`` names the one column of a vector's values."""
        self.model.set_values(page.values, column_title, page.first_row, page.first_column)
        rows, columns = np.atleast_2d(page.values).shape
        self._first_row, self._first_column = page.first_row, page.first_column
        self._rows, self._columns = page.full_shape
        if not rows or not columns:
            parts = ["empty"]
        elif column_title is not None:
            parts = [span_text(page.first_row, rows, self._rows, "value")]
        else:
            parts = [span_text(page.first_row, rows, self._rows, "row") + ",",
                     span_text(page.first_column, columns, self._columns, "column")]
        self.note.setText(" ".join(unbreakable(part) for part in [where.strip(), *parts] if part))
        self._update_buttons()

    def first_row(self) -> int:
        return self._first_row

    def first_column(self) -> int:
        return self._first_column

    def clear(self, message: str = "") -> None:
        self.model.set_values(None)
        self._first_row, self._rows, self._first_column, self._columns = 0, 0, 0, 0
        self.note.setText(message)
        self._update_buttons()

    def _turn(self, rows: int, columns: int) -> None:
        self.pageRequested.emit(max(self._first_row + rows, 0), max(self._first_column + columns, 0))

    def _update_buttons(self) -> None:
        for back, forward, first, total, page in (
                (self.previous_button, self.next_button, self._first_row, self._rows, PREVIEW_ROWS),
                (self.left_button, self.right_button, self._first_column, self._columns, PREVIEW_COLUMNS)):
            for button in (back, forward):
                button.setVisible(total > page)
            back.setEnabled(first > 0)
            forward.setEnabled(first + page < total)

    def _build_layout(self) -> None:
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.note, 1)
        for button in (self.previous_button, self.next_button, self.left_button, self.right_button):
            top.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)


def span_text(first: int, shown: int, total: int, noun: str) -> str:
    """Which part of ``total`` items a page shows: "rows 200–399 of 500", "all 64 rows", "1 value"."""
    if shown >= total:
        return f"all {total:,} {noun}s" if total > 1 else f"{total} {noun}"
    return f"{noun}s {first:,}–{first + shown - 1:,} of {total:,}"


def _page_button(arrow: str, tooltip: str, slot) -> QToolButton:
    button = QToolButton(text=arrow, toolTip=tooltip, autoRaise=True)
    button.clicked.connect(slot)
    return button
