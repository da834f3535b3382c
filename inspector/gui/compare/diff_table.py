"""The compare table: status chips with counts, a key filter, flat or grouped by module, and
the tree view over the model and its proxy. Most changed first until the user sorts."""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QSize, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView, QCheckBox, QGridLayout, QHBoxLayout, QHeaderView, QLineEdit, QTreeView, QVBoxLayout, QWidget,
)

from inspector.core.compare_state import CompareRow
from inspector.gui.compare.diff_model import DiffTableModel
from inspector.gui.compare.diff_proxy import DiffFilterProxy
from inspector.gui.compare.status_chip import StatusChip
from inspector.gui.compare.status_style import CHIP_ORDER, status_label

FILTER_DEBOUNCE_MS = 150
COLUMN_SAMPLES = {DiffTableModel.STATUS: "1,234 changed", DiffTableModel.REL_L2: "NaN, Inf in B",
                  DiffTableModel.MAX_ABS: "0.000123", DiffTableModel.COSINE: "0.999999",
                  DiffTableModel.MISMATCHED: "mismatched", DiffTableModel.SHAPE: "[512, 256, 3, 3]",
                  DiffTableModel.DTYPE: "float32 → float16"}
KEY_COLUMN_WIDTH = 240
CHIP_WORDS = {"only_a": "only A", "only_b": "only B"}  # short: the chips fit one row on a wide table
COLUMN_PADDING = 18


class DiffTable(QWidget):
    entrySelected = Signal(object)  # the CompareRow of the current row, or None

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = DiffTableModel(self)
        self.proxy = DiffFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self.chips = {status: StatusChip(status) for status in CHIP_ORDER}
        self.filter_edit = QLineEdit(placeholderText="Filter keys", clearButtonEnabled=True)
        self.group_box = QCheckBox("Group by module")
        self.group_box.setToolTip("Show keys under their modules, each with the largest change below it")
        self.view = _make_view(self.proxy)
        self._filter_timer = QTimer(self, singleShot=True, interval=FILTER_DEBOUNCE_MS)
        self._build_layout()
        self._connect()
        self.set_counts({})

    # --- interface -----------------------------------------------------------------------
    def clear(self) -> None:
        self.model.clear()

    def add_rows(self, rows: list[CompareRow]) -> None:
        self.model.add_rows(rows)
        if self.model.grouped and self.proxy.rowCount() <= 12:
            self.view.expandToDepth(0)

    def set_counts(self, summary: dict[str, int]) -> None:
        for status, chip in self.chips.items():
            chip.setText(f"{CHIP_WORDS.get(status, status_label(status))} {summary.get(status, 0):,}")

    def current_entry(self) -> CompareRow | None:
        return self.proxy.data(self.view.currentIndex(), DiffTableModel.EntryRole)

    def select_entry(self, entry: CompareRow) -> bool:
        """Make ``entry``'s row current (showing its status and its module first)."""
        if entry.status not in self.proxy.statuses():
            self.chips[entry.status].setChecked(True)
        index = self.proxy.mapFromSource(self.model.index_of_entry(entry))
        if not index.isValid():
            return False
        parent = index.parent()
        while parent.isValid():
            self.view.expand(parent)
            parent = parent.parent()
        self.view.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
        self.view.scrollTo(index)
        return True

    def visible_entries(self) -> list[CompareRow]:
        """The rows the view lists, top to bottom (inside modules, expanded or not)."""
        return self._entries_below(QModelIndex())

    def _entries_below(self, parent: QModelIndex) -> list[CompareRow]:
        found = []
        for row in range(self.proxy.rowCount(parent)):
            index = self.proxy.index(row, 0, parent)
            entry = self.proxy.data(index, DiffTableModel.EntryRole)
            found.extend([entry] if entry is not None else self._entries_below(index))
        return found

    # --- wiring --------------------------------------------------------------------------
    def _build_layout(self) -> None:
        self.chip_bar = ChipBar(list(self.chips.values()))
        tools = QHBoxLayout()
        tools.addWidget(self.filter_edit, 1)
        tools.addWidget(self.group_box)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.chip_bar)
        layout.addLayout(tools)
        layout.addWidget(self.view, 1)

    def _connect(self) -> None:
        for chip in self.chips.values():
            chip.toggled.connect(self._on_chip_toggled)
        self.filter_edit.textChanged.connect(lambda _text: self._filter_timer.start())
        self._filter_timer.timeout.connect(self._on_filter_timer_timeout)
        self.group_box.toggled.connect(self._on_group_box_toggled)
        self.view.selectionModel().currentChanged.connect(self._on_selection_current_changed)

    def _on_chip_toggled(self, _checked: bool) -> None:
        self.proxy.set_statuses({status for status, chip in self.chips.items() if chip.isChecked()})

    def _on_filter_timer_timeout(self) -> None:
        self.proxy.set_filter_text(self.filter_edit.text())
        if self.model.grouped and self.filter_edit.text():
            self.view.expandAll()

    def _on_group_box_toggled(self, grouped: bool) -> None:
        current = self.current_entry()
        self.model.set_grouped(grouped)
        self.view.setRootIsDecorated(grouped)
        if grouped:
            self.view.expandToDepth(0)
        if current is not None:
            self.select_entry(current)

    def _on_selection_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self.entrySelected.emit(self.proxy.data(current, DiffTableModel.EntryRole))


class ChipBar(QWidget):
    """The status chips in as few rows as the width allows, each at its natural width."""

    SPACING = 4

    def __init__(self, chips: list[StatusChip], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._chips = chips
        self._rows: list[list[StatusChip]] = []
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setHorizontalSpacing(self.SPACING)
        self._grid.setVerticalSpacing(2)
        self._place(10_000)

    def minimumSizeHint(self) -> QSize:
        widest = max(chip.sizeHint().width() for chip in self._chips)
        return QSize(widest * 2 + self.SPACING, super().minimumSizeHint().height())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._place(event.size().width())

    def _place(self, width: int) -> None:
        rows: list[list[StatusChip]] = [[]]
        used = 0
        for chip in self._chips:
            needed = chip.sizeHint().width() + (self.SPACING if rows[-1] else 0)
            if rows[-1] and used + needed > width:
                rows.append([])
                used, needed = 0, chip.sizeHint().width()
            rows[-1].append(chip)
            used += needed
        if rows == self._rows:
            return
        self._rows = rows
        for chip in self._chips:
            self._grid.removeWidget(chip)
        for row, chips in enumerate(rows):
            for column, chip in enumerate(chips):
                self._grid.addWidget(chip, row, column)
        columns = max(len(chips) for chips in rows)
        for column in range(len(self._chips) + 1):
            self._grid.setColumnStretch(column, 1 if column == columns else 0)


def _make_view(proxy: DiffFilterProxy) -> QTreeView:
    view = QTreeView()
    view.setModel(proxy)
    view.setUniformRowHeights(True)
    view.setAlternatingRowColors(True)
    view.setRootIsDecorated(False)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSortingEnabled(True)
    view.sortByColumn(DiffTableModel.REL_L2, Qt.SortOrder.DescendingOrder)  # most changed first
    header = view.header()
    header.setStretchLastSection(False)
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    view.setColumnWidth(DiffTableModel.KEY, KEY_COLUMN_WIDTH)
    fit_columns(view)
    return view


def fit_columns(view: QTreeView) -> None:
    """Each column as wide as its sample value or its title with the sort arrow, whichever is wider."""
    metrics, header = view.fontMetrics(), view.header()
    for column, sample in COLUMN_SAMPLES.items():
        width = max(metrics.horizontalAdvance(sample) + COLUMN_PADDING, header.sectionSizeFromContents(column).width())
        view.setColumnWidth(column, width)
