"""The output keys an export writes, after renames: a table over a ``ResolvedPlan``, one row
per output tensor, with the key it comes from and the rename rules that produced it."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, Qt

from inspector.core.plan import ResolvedPlan
from inspector.gui.formatting import human_size, shape_text
from inspector.gui.window import theme


class PreviewModel(QAbstractTableModel):
    KEY, RULES, FROZEN, SOURCE, DTYPE, SHAPE, SIZE = range(7)
    HEADERS = ("Output key", "Rules", "Frozen", "From", "Dtype", "Shape", "Size")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._resolved: ResolvedPlan | None = None
        self._frozen: set[str] = set()

    @property
    def resolved(self) -> ResolvedPlan | None:
        return self._resolved

    def set_resolved(self, resolved: ResolvedPlan | None) -> None:
        self.beginResetModel()
        self._resolved = resolved
        self._frozen = set(resolved.frozen) if resolved is not None else set()
        self.endResetModel()

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        if parent.isValid() or self._resolved is None:
            return 0
        return len(self._resolved.tensors)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        return None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or self._resolved is None:
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return self.text(index.row(), index.column())
        if role == Qt.ItemDataRole.ForegroundRole and index.column() == self.SOURCE:
            return theme.dim_text_color()
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() == self.SIZE:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def text(self, row: int, column: int) -> str:
        tensor = self._resolved.tensors[row]
        key = tensor.key
        if column == self.KEY:
            return key
        if column == self.SOURCE:
            return self._resolved.source_keys[key]
        if column == self.RULES:
            return ", ".join(self._resolved.produced_by[key]) or "—"
        if column == self.FROZEN:
            return "frozen" if key in self._frozen else ""
        if column == self.DTYPE:
            return tensor.dtype if tensor.dtype == tensor.source.dtype else f"{tensor.source.dtype} → {tensor.dtype}"
        if column == self.SHAPE:
            return shape_text(tensor.source.shape)
        return human_size(tensor.nbytes)
