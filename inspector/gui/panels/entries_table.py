"""The entries of a selected dict, list or object: name, value or shape, type; full text in
the tooltip. Double-clicking an entry selects it in the tree."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QVBoxLayout, QWidget

from inspector.gui.document.tree_model import CheckpointTreeModel as Tree, display_text, full_text

AnyIndex = QModelIndex | QPersistentModelIndex
MAX_ROWS = 10_000


class EntriesModel(QAbstractTableModel):
    COLUMNS = ((Tree.NAME, "Name"), (Tree.SHAPE, "Value / shape"), (Tree.TYPE, "Type"))

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._nodes: list[Any] = []

    def set_node(self, node: Any) -> None:
        self.beginResetModel()
        self._nodes = list(getattr(node, "children", None) or ())[:MAX_ROWS]
        self.endResetModel()

    def node(self, row: int) -> Any:
        return self._nodes[row]

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._nodes)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.COLUMNS)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._nodes):
            return None
        node, column = self._nodes[index.row()], self.COLUMNS[index.column()][0]
        if role == Qt.ItemDataRole.DisplayRole:
            return display_text(node, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            return full_text(node, column)
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role != Qt.ItemDataRole.DisplayRole or not 0 <= section < len(self.COLUMNS):
            return None
        return self.COLUMNS[section][1] if orientation == Qt.Orientation.Horizontal else str(section)

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable


class EntriesTable(QWidget):
    entryActivated = Signal(object)  # the tree node of the double-clicked entry

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = EntriesModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.setWordWrap(False)
        self.table.doubleClicked.connect(lambda index: self.entryActivated.emit(self.model.node(index.row())))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addWidget(self.table)

    def set_node(self, node: Any) -> None:
        self.model.set_node(node)
        self.table.resizeColumnsToContents()
        header = self.table.horizontalHeader()
        for column in range(self.model.columnCount()):
            header.resizeSection(column, min(header.sectionSize(column), 320))
