"""The compare view's "Other values" page: every non-tensor value that differs, a row each, with
A's and B's values side by side (readable roundings; the exact value in the tooltip) and "not in
A" / "not in B" for a value one file lacks. The texts come from ``core.compare_objects``."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QTreeView, QVBoxLayout, QWidget

from inspector.gui.window import theme

PATH_COLUMN_WIDTH = 180


class ObjectsModel(QAbstractTableModel):
    PATH, A, B = range(3)
    HEADERS = ("Value", "A", "B")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[dict] = []

    def set_rows(self, rows: list[dict]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def rows(self) -> list[dict]:
        return list(self._rows)

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        return None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row, column = self._rows[index.row()], index.column()
        if column == self.PATH:
            return path_text(row["path"]) if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole) else None
        side_name = "A" if column == self.A else "B"
        side = row[side_name.lower()]
        if side is None:
            return _missing_data(side_name, role)
        if role == Qt.ItemDataRole.DisplayRole:
            return side["text"]
        if role == Qt.ItemDataRole.ToolTipRole:
            return side["exact"] if side["exact"] == side["text"] else f"exact: {side['exact']}"
        return None


def path_text(path: list) -> str:
    return " › ".join(str(part) for part in path) or "(the whole file)"


def summary_text(rows: list[dict]) -> str:
    """"3 other values differ: 1 changed, 2 only in A", or that none does."""
    if not rows:
        return "No other values differ."
    counts = {"changed": 0, "only in A": 0, "only in B": 0}
    for row in rows:
        counts["only in A" if row["b"] is None else "only in B" if row["a"] is None else "changed"] += 1
    parts = ", ".join(f"{count:,} {what}" for what, count in counts.items() if count)
    return f"{len(rows):,} other value{'s' if len(rows) != 1 else ''} differ{'s' if len(rows) == 1 else ''}: {parts}"


def _missing_data(side: str, role: int) -> Any:
    if role == Qt.ItemDataRole.DisplayRole:
        return f"not in {side}"
    if role == Qt.ItemDataRole.ToolTipRole:
        return f"{side} has no such value"
    if role == Qt.ItemDataRole.ForegroundRole:
        return theme.dim_text_color()
    if role == Qt.ItemDataRole.FontRole:
        font = QFont()
        font.setItalic(True)
        return font
    return None


class ObjectsView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = ObjectsModel(self)
        self.summary = QLabel(wordWrap=True)
        self.view = QTreeView()
        self.view.setModel(self.model)
        self.view.setRootIsDecorated(False)
        self.view.setUniformRowHeights(True)
        self.view.setAlternatingRowColors(True)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setTextElideMode(Qt.TextElideMode.ElideRight)
        header = self.view.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(ObjectsModel.PATH, QHeaderView.ResizeMode.Interactive)
        for column in (ObjectsModel.A, ObjectsModel.B):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Stretch)
        self.view.setColumnWidth(ObjectsModel.PATH, PATH_COLUMN_WIDTH)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addWidget(self.summary)
        layout.addWidget(self.view, 1)
        self.set_rows([])

    def set_rows(self, rows: list[dict]) -> None:
        self.model.set_rows(rows)
        self.summary.setText(summary_text(rows))
        self.view.setVisible(bool(rows))
