"""Which compare rows show (status chips, a key filter) and in what order (most changed first)."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QObject, QSortFilterProxyModel

from inspector.core.diff import STATUSES
from inspector.gui.compare.diff_model import DiffTableModel


class DiffFilterProxy(QSortFilterProxyModel):
    """Keeps rows whose status is shown and whose key holds the filter text; a module shows
    while something below it does (recursive filtering)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._statuses = set(STATUSES)
        self._needle = ""
        self.setSortRole(DiffTableModel.SortRole)
        self.setRecursiveFilteringEnabled(True)
        self.setDynamicSortFilter(True)

    def set_statuses(self, statuses: set[str]) -> None:
        if statuses != self._statuses:
            self.beginFilterChange()
            self._statuses = set(statuses)
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def statuses(self) -> set[str]:
        return set(self._statuses)

    def set_filter_text(self, text: str) -> None:
        needle = text.strip().lower()
        if needle != self._needle:
            self.beginFilterChange()
            self._needle = needle
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex) -> bool:
        model = self.sourceModel()
        entry = model.data(model.index(source_row, 0, source_parent), DiffTableModel.EntryRole)
        if entry is None:  # a module: shown through its rows
            return False
        return entry.status in self._statuses and (not self._needle or self._needle in entry.key.lower())
