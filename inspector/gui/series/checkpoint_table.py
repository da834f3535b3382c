"""The series' checkpoints in order, with what each records; pick two to compare them."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QPushButton, QTableView, QVBoxLayout, QWidget,
)

from inspector.core.series_discovery import file_label

FIXED_COLUMNS = ("#", "checkpoint", "epoch", "step")


class CheckpointTableModel(QAbstractTableModel):
    """One row per checkpoint: place, file, epoch, step, then each recorded metric."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._checkpoints: list[dict] = []
        self._metrics: list[str] = []

    def set_checkpoints(self, checkpoints: list[dict]) -> None:
        self.beginResetModel()
        self._checkpoints = list(checkpoints)
        self._metrics = list(dict.fromkeys(name for checkpoint in checkpoints for name in checkpoint["metrics"]))
        self.endResetModel()

    def checkpoint(self, row: int) -> dict:
        return self._checkpoints[row]

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._checkpoints)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(FIXED_COLUMNS) + len(self._metrics)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or role != Qt.ItemDataRole.DisplayRole:
            return None
        titles = (*FIXED_COLUMNS, *self._metrics)
        return titles[section] if 0 <= section < len(titles) else None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._checkpoints):
            return None
        checkpoint = self._checkpoints[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(index.row(), index.column())
        if role == Qt.ItemDataRole.ToolTipRole:
            rules = "; ".join(checkpoint["rules"])
            return checkpoint["path"] + (f"\nkeys matched with {rules}" if rules else "")
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() != 1:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _text(self, row: int, column: int) -> str:
        checkpoint = self._checkpoints[row]
        if column == 0:
            return str(row)
        if column == 1:
            return file_label(checkpoint["path"])
        if column in (2, 3):
            value = checkpoint[FIXED_COLUMNS[column]]
            return "–" if value is None else f"{value:g}" if isinstance(value, float) else str(value)
        value = checkpoint["metrics"].get(self._metrics[column - len(FIXED_COLUMNS)])
        return "–" if value is None else f"{value:.6g}"


class CheckpointTable(QWidget):
    """The table, and "Compare these two" for a pair of selected checkpoints."""

    compareRequested = Signal(str, str)  # the earlier checkpoint's path, then the later one's

    def __init__(self, can_compare: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = CheckpointTableModel(self)
        self.view = QTableView()
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.verticalHeader().setVisible(False)
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.compare_button = QPushButton("Compare these two")
        self.compare_button.setToolTip("Select two checkpoints (Ctrl+click) to open them side by side"
                                       if can_compare else "The compare view is not available in this build")
        self.compare_button.setEnabled(False)
        self._can_compare = can_compare
        self.hint = QLabel()
        self._build_layout()
        self.view.selectionModel().selectionChanged.connect(self._on_selection_changed)
        self.compare_button.clicked.connect(self._on_compare_button_clicked)

    def set_checkpoints(self, checkpoints: list[dict]) -> None:
        self.model.set_checkpoints(checkpoints)
        self._on_selection_changed()

    def selected_rows(self) -> list[int]:
        return sorted({index.row() for index in self.view.selectionModel().selectedRows()})

    def select_rows(self, rows: list[int]) -> None:
        selection = self.view.selectionModel()
        selection.clearSelection()
        for row in rows:
            selection.select(self.model.index(row, 0),
                             selection.SelectionFlag.Select | selection.SelectionFlag.Rows)

    def _build_layout(self) -> None:
        buttons = QHBoxLayout()
        buttons.addWidget(self.hint, 1)
        buttons.addWidget(self.compare_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view, 1)
        layout.addLayout(buttons)

    def _on_selection_changed(self, *_args) -> None:
        rows = self.selected_rows()
        self.compare_button.setEnabled(self._can_compare and len(rows) == 2)
        self.hint.setText("" if len(rows) == 2 else "Select two checkpoints to compare them")

    def _on_compare_button_clicked(self) -> None:
        rows = self.selected_rows()
        if len(rows) == 2:
            self.compareRequested.emit(self.model.checkpoint(rows[0])["path"], self.model.checkpoint(rows[1])["path"])
