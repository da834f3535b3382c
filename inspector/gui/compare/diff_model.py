"""The compare table as a Qt item model over the core's ``DiffTree``: every key with its status,
shapes, dtypes and change, flat or grouped by module; rows are appended as the diff streams them.

Indexes carry the tree's own objects (``DiffGroup`` / ``DiffLeaf``), never ints.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QFont

from inspector.core.compare_state import CompareRow
from inspector.core.diff_tree import DiffGroup, DiffLeaf, DiffTree
from inspector.gui.compare.status_style import CHIP_ORDER, heat_color, non_finite_icon, status_color, status_label
from inspector.gui.formatting import shape_text
from inspector.gui.window import theme


COLUMNS = 8


class DiffTableModel(QAbstractItemModel):
    KEY, STATUS, REL_L2, MAX_ABS, COSINE, MISMATCHED, SHAPE, DTYPE = range(COLUMNS)
    HEADERS = ("Key", "Status", "rel-L2", "max |Δ|", "cosine", "mismatched", "Shape", "dtype")
    HEADER_TIPS = ("Dotted state-dict key after alignment", "How B's tensor compares with A's",
                   "‖B − A‖ / ‖A‖ (sorting by it puts the most changed keys first; NaN or Inf on one "
                   "side only is named here and sorts first)",
                   "Largest |B − A| over elements finite on both sides", "⟨A, B⟩ / (‖A‖ ‖B‖)",
                   "Elements outside the tolerance (NaN on one side counts)",
                   "A's shape, then B's when it differs", "A's dtype, then B's when it differs")
    NUMBER_COLUMNS = (2, 3, 4, 5)
    EntryRole = Qt.ItemDataRole.UserRole + 1  # the CompareRow (None for a module)
    SortRole = Qt.ItemDataRole.UserRole + 2
    StatusRole = Qt.ItemDataRole.UserRole + 3  # a row's status; a module's most telling one

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._entries: list[CompareRow] = []
        self._tree = DiffTree(grouped=False)
        self._leaves: dict[int, DiffLeaf] = {}  # by CompareRow.index

    # --- content -------------------------------------------------------------------------
    @property
    def grouped(self) -> bool:
        return self._tree.grouped

    def set_grouped(self, grouped: bool) -> None:
        if grouped != self._tree.grouped:
            self._rebuild(grouped, self._entries)

    def clear(self) -> None:
        self._rebuild(self._tree.grouped, [])

    def entries(self) -> list[CompareRow]:
        return list(self._entries)

    def add_rows(self, rows: list[CompareRow]) -> None:
        """Append rows (depth order), telling the views what was inserted and what changed."""
        changed: dict[int, DiffGroup] = {}
        run_parent, run = None, []
        for entry in rows:
            parent, missing = self._tree.placement(entry.key)
            if missing or parent is not run_parent:
                self._append_leaves(run_parent, run, changed)
                run_parent, run = self._create_groups(parent, missing), []
            run.append(entry)
        self._append_leaves(run_parent, run, changed)
        for group in changed.values():
            self.dataChanged.emit(self._index(group, 0), self._index(group, len(self.HEADERS) - 1))

    def entry(self, index: QModelIndex) -> CompareRow | None:
        item = index.internalPointer() if index.isValid() else None
        return item.entry if isinstance(item, DiffLeaf) else None

    def group(self, index: QModelIndex) -> DiffGroup | None:
        item = index.internalPointer() if index.isValid() else None
        return item if isinstance(item, DiffGroup) else None

    def index_of_entry(self, entry: CompareRow, column: int = 0) -> QModelIndex:
        leaf = self._leaves.get(entry.index)
        return self._index(leaf, column) if leaf is not None and leaf.entry is entry else QModelIndex()

    # --- building ------------------------------------------------------------------------
    def _rebuild(self, grouped: bool, entries: list[CompareRow]) -> None:
        self.beginResetModel()
        self._entries = list(entries)
        self._tree = DiffTree(grouped)
        self._leaves = {}
        for entry in entries:
            self._leaves[entry.index] = self._tree.add_row(entry)
        self.endResetModel()

    def _create_groups(self, parent: DiffGroup, names: list[str]) -> DiffGroup:
        for name in names:
            position = len(parent.children)
            self.beginInsertRows(self._index(parent, 0), position, position)
            parent = self._tree.add_group(parent, name)
            self.endInsertRows()
        return parent

    def _append_leaves(self, parent: DiffGroup | None, entries: list[CompareRow], changed: dict) -> None:
        if parent is None or not entries:
            return
        first = len(parent.children)
        self.beginInsertRows(self._index(parent, 0), first, first + len(entries) - 1)
        for entry in entries:
            leaf = self._tree.add_leaf(parent, entry)
            self._leaves[entry.index] = leaf
            self._entries.append(entry)
            for group in self._tree.note(leaf):
                changed[id(group)] = group
        self.endInsertRows()

    def _index(self, item: DiffGroup | DiffLeaf | None, column: int) -> QModelIndex:
        if item is None or item is self._tree.root:
            return QModelIndex()
        return self.createIndex(item.position, column, item)

    # --- QAbstractItemModel --------------------------------------------------------------
    def index(self, row: int, column: int, parent: QModelIndex = QModelIndex()) -> QModelIndex:
        # bounds checked here, not with hasIndex(): sorting proxies call this tens of thousands of times
        if parent.isValid():
            owner = parent.internalPointer()
            if parent.column() != 0 or not isinstance(owner, DiffGroup):
                return QModelIndex()
        else:
            owner = self._tree.root
        if not (0 <= row < len(owner.children) and 0 <= column < COLUMNS):
            return QModelIndex()
        return self.createIndex(row, column, owner.children[row])

    def parent(self, index: QModelIndex | QPersistentModelIndex | None = None) -> Any:
        if index is None:
            return super().parent()  # QObject.parent()
        if not index.isValid():
            return QModelIndex()
        return self._index(index.internalPointer().parent, 0)

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        if not parent.isValid():
            return len(self._tree.root.children)
        if parent.column() != 0:
            return 0
        item = parent.internalPointer()
        return len(item.children) if isinstance(item, DiffGroup) else 0

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return len(self.HEADERS)

    def hasChildren(self, parent: QModelIndex = QModelIndex()) -> bool:
        return self.rowCount(parent) > 0

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.HEADER_TIPS[section]
        if role == Qt.ItemDataRole.TextAlignmentRole:  # centred: the sort arrow sits at the right
            return int(Qt.AlignmentFlag.AlignCenter) if section in self.NUMBER_COLUMNS else _alignment(section)
        return None

    def flags(self, index: QModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        item, column = index.internalPointer(), index.column()
        if role == self.SortRole:  # first: a sorting proxy asks for it on every comparison
            if isinstance(item, DiffLeaf):
                return _entry_sort_value(item.entry, column)
            return _group_sort_value(item, column)
        if role == self.EntryRole:
            return item.entry if isinstance(item, DiffLeaf) else None
        if role == self.StatusRole:
            return item.entry.status if isinstance(item, DiffLeaf) else item.worst_status
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _alignment(column)
        if isinstance(item, DiffLeaf):
            return _entry_data(item.entry, column, role, self._tree.grouped)
        return _group_data(item, column, role)


def _entry_data(entry: CompareRow, column: int, role: int, grouped: bool) -> Any:
    if role == Qt.ItemDataRole.DisplayRole:
        return entry_text(entry, column, grouped)
    if role == Qt.ItemDataRole.DecorationRole and column == DiffTableModel.KEY and entry.non_finite_differs:
        return non_finite_icon()
    if role == Qt.ItemDataRole.FontRole and column == DiffTableModel.REL_L2 and entry.non_finite_differs:
        return _bold_font()
    if role == Qt.ItemDataRole.ForegroundRole:
        if column == DiffTableModel.STATUS:
            return status_color(entry.status)
        return theme.dim_text_color() if entry.status == "equal" else None
    if role == Qt.ItemDataRole.BackgroundRole and column in (DiffTableModel.MAX_ABS, DiffTableModel.REL_L2):
        return heat_color(entry.change_score if entry.status in ("changed", "dtype") else None)
    if role == Qt.ItemDataRole.ToolTipRole:
        return _entry_tooltip(entry, column)
    return None


def entry_text(entry: CompareRow, column: int, grouped: bool = False) -> str:
    """What a column shows for a row (also used by tests and copying)."""
    if column == DiffTableModel.KEY:
        return entry.key.rsplit(".", 1)[-1] if grouped else entry.key
    if column == DiffTableModel.STATUS:
        return status_label(entry.status)
    if column == DiffTableModel.SHAPE:
        return _pair(entry.shape_a, entry.shape_b, shape_text)
    if column == DiffTableModel.DTYPE:
        return _pair(entry.dtype_a, entry.dtype_b, str)
    if column == DiffTableModel.MAX_ABS:
        return _number(entry.max_abs)
    if column == DiffTableModel.REL_L2:
        return _rel_l2_text(entry)
    if column == DiffTableModel.COSINE:
        return _number(entry.cosine, ".6f")
    if entry.error:
        return "unreadable"
    return "–" if entry.mismatched is None else f"{entry.mismatched:,}"


def _rel_l2_text(entry: CompareRow) -> str:
    """The relative change, or what makes it beside the point: NaN/Inf on one side, A all zeros."""
    note = entry.non_finite_note
    if note is not None:
        return note
    return "A = 0" if entry.moved_from_zero else _number(entry.rel_l2)


def _entry_sort_value(entry: CompareRow, column: int) -> Any:
    if column == DiffTableModel.KEY:
        return entry.index
    if column == DiffTableModel.STATUS:
        return CHIP_ORDER.index(entry.status)
    if column == DiffTableModel.SHAPE:
        return entry.numel if entry.numel is not None else -1
    if column == DiffTableModel.REL_L2:
        return entry.change_score
    if column == DiffTableModel.MAX_ABS:
        return entry.max_abs if entry.max_abs is not None else -1.0
    if column == DiffTableModel.COSINE:
        return entry.cosine if entry.cosine is not None else 2.0
    if column == DiffTableModel.MISMATCHED:
        return entry.mismatched if entry.mismatched is not None else -1
    return entry_text(entry, column)


def _entry_tooltip(entry: CompareRow, column: int) -> str | None:
    if column == DiffTableModel.KEY:
        return entry.key
    if column == DiffTableModel.STATUS and entry.error:
        return entry.error
    if column == DiffTableModel.SHAPE:
        return f"A: {_or_none(entry.shape_a, shape_text)}\nB: {_or_none(entry.shape_b, shape_text)}"
    if column == DiffTableModel.DTYPE:
        return f"A: {entry.dtype_a or 'no such key'}\nB: {entry.dtype_b or 'no such key'}"
    if column == DiffTableModel.REL_L2 and entry.moved_from_zero:
        return "A is all zeros here: ‖B − A‖ / ‖A‖ has no value"
    value = {DiffTableModel.MAX_ABS: entry.max_abs, DiffTableModel.REL_L2: entry.rel_l2,
             DiffTableModel.COSINE: entry.cosine}.get(column)
    if entry.non_finite_differs and column in (DiffTableModel.KEY, DiffTableModel.MAX_ABS, DiffTableModel.REL_L2,
                                               DiffTableModel.COSINE, DiffTableModel.MISMATCHED):
        return _non_finite_tooltip(entry, column, value)
    return repr(value) if value is not None else None


def _non_finite_tooltip(entry: CompareRow, column: int, value: float | None) -> str:
    """The side that holds NaN/Inf, each side's counts, and the metric over the finite positions."""
    lines = [f"{entry.non_finite_note}", entry.non_finite_details()]
    if column == DiffTableModel.KEY:
        lines.insert(0, entry.key)
    elif value is not None:
        lines.append(f"{DiffTableModel.HEADERS[column]} there: {value!r}")
    return "\n".join(lines)


def _group_data(group: DiffGroup, column: int, role: int) -> Any:
    if role == Qt.ItemDataRole.DisplayRole:
        return group_text(group, column)
    if role == Qt.ItemDataRole.ForegroundRole:
        if column == DiffTableModel.STATUS and group.worst_status is not None:
            return status_color(group.worst_status)
        return theme.dim_text_color() if column != DiffTableModel.KEY else None
    if role == Qt.ItemDataRole.BackgroundRole and column in (DiffTableModel.MAX_ABS, DiffTableModel.REL_L2):
        return heat_color(group.score if group.counts["changed"] or group.counts["dtype"] else None)
    if role == Qt.ItemDataRole.DecorationRole and column == DiffTableModel.KEY and group.non_finite:
        return non_finite_icon()
    if role == Qt.ItemDataRole.ToolTipRole:
        if column == DiffTableModel.KEY:
            return group.prefix[:-1]
        if column == DiffTableModel.REL_L2 and group.non_finite:
            return f"NaN or Inf on one side only in {group.non_finite:,} tensor{'s' if group.non_finite != 1 else ''} below"
        if column in (DiffTableModel.MAX_ABS, DiffTableModel.REL_L2, DiffTableModel.COSINE):
            return "The largest change below (smallest cosine)"
        return group.status_text()
    return None


def group_text(group: DiffGroup, column: int) -> str:
    if column == DiffTableModel.KEY:
        return group.name
    if column == DiffTableModel.STATUS:  # the most telling status; the tooltip lists them all
        worst = group.worst_status
        return f"{group.counts[worst]:,} {status_label(worst)}" if worst else ""
    if column == DiffTableModel.SHAPE:
        return f"{group.tensors:,} tensor{'s' if group.tensors != 1 else ''}"
    if column == DiffTableModel.MAX_ABS:
        return _number(group.max_abs)
    if column == DiffTableModel.REL_L2:
        return "NaN/Inf" if group.non_finite else _number(group.rel_l2)
    if column == DiffTableModel.COSINE:
        return _number(group.cosine, ".6f")
    return ""


def _group_sort_value(group: DiffGroup, column: int) -> Any:
    if column == DiffTableModel.KEY:
        return group.first_index
    if column == DiffTableModel.REL_L2:
        return group.score
    if column == DiffTableModel.MAX_ABS:
        return group.max_abs if group.max_abs is not None else -1.0
    if column == DiffTableModel.COSINE:
        return group.cosine if group.cosine is not None else 2.0
    if column == DiffTableModel.STATUS:
        return CHIP_ORDER.index(group.worst_status) if group.worst_status else len(CHIP_ORDER)
    if column == DiffTableModel.SHAPE:
        return group.tensors
    if column == DiffTableModel.MISMATCHED:
        return -1
    return group_text(group, column)


def _pair(a, b, show) -> str:
    if a is None or b is None:
        return show(a if b is None else b) if (a is not None or b is not None) else ""
    return show(a) if a == b else f"{show(a)} → {show(b)}"


def _or_none(value, show) -> str:
    return "no such key" if value is None else show(value)


def _number(value: float | None, spec: str = ".3g") -> str:
    return "–" if value is None else format(value, spec)


def _bold_font() -> QFont:
    font = QFont()
    font.setBold(True)
    return font


def _alignment(column: int) -> int:
    if column in DiffTableModel.NUMBER_COLUMNS:
        return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
