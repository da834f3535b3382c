"""The checkpoint tree as a Qt item model over the core's display nodes.

Indexes carry the node objects themselves (never ints). While a file loads, or when it
failed, the model holds a single status row instead of a tree ("Loading…", the error text).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QFont, QGuiApplication

from inspector.core.dtypes import is_known
from inspector.core.tensor_notes import is_frozen, optimizer_entry_param, role_text
from inspector.core.text_tree import one_line_items
from inspector.gui.window import theme
from inspector.gui.formatting import human_size, shape_text, thousands, type_name, value_text

CONTAINER_KINDS = {"root", "dict", "list", "module", "object"}
MARK_ROLES = [Qt.ItemDataRole.BackgroundRole, Qt.ItemDataRole.ForegroundRole, Qt.ItemDataRole.FontRole,
              Qt.ItemDataRole.ToolTipRole]


@dataclass(eq=False)
class StatusRow:
    """The one row shown instead of a tree: kind is "loading", "error" or "cancelled"."""

    kind: str
    text: str


@dataclass(frozen=True)
class RowDecoration:
    """How a feature marks a row (a check's verdict on a tensor, export's choice, …): a
    background tint, a line added to the name's tooltip, whether it reads as frozen (dimmed,
    as the tree marks a parameter saved frozen; None: as the file says) and whether it is
    left out (dimmed, its name struck out)."""

    background: Any = None  # a QColor, or None
    tooltip: str = ""
    frozen: bool | None = None
    left_out: bool = False


class CheckpointTreeModel(QAbstractItemModel):
    NAME, SHAPE, TYPE, NUMEL, SIZE, ROLE = range(6)
    HEADERS = ("Name", "Shape / value", "Type", "Numel", "Size", "Role")
    NodeRole = Qt.ItemDataRole.UserRole + 1
    SortRole = Qt.ItemDataRole.UserRole + 2
    StatusRole = Qt.ItemDataRole.UserRole + 3

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._root: Any = None
        self._status: StatusRow | None = None
        self._decorators: dict[str, Callable[[Any], RowDecoration | None]] = {}
        self._extra: Any = None  # columns a feature shows after the built-in ones

    # --- content -------------------------------------------------------------------------
    @property
    def root(self) -> Any:
        return self._root

    @property
    def status(self) -> StatusRow | None:
        return self._status

    def set_root(self, root: Any) -> None:
        self.beginResetModel()
        self._root, self._status = root, None
        self.endResetModel()

    def set_status(self, kind: str, text: str) -> None:
        if self._status is not None and self._status.kind == kind:
            self._status.text = text  # e.g. progress: update in place, keep the view's state
            index = self.index(0, self.NAME)
            self.dataChanged.emit(index, index)
            return
        self.beginResetModel()
        self._root, self._status = None, StatusRow(kind, text)
        self.endResetModel()

    @property
    def extra_columns(self) -> Any:
        return self._extra

    def set_extra_columns(self, columns: Any) -> None:
        """Show ``columns`` after the built-in ones (None removes them): a feature's own cells,
        e.g. export's Include and Freeze boxes. ``columns`` has ``headers`` (one per column),
        ``header_data(offset, role)``, ``data(node, offset, role)``, ``flags(node, offset)`` and
        ``set_data(node, offset, value, role) -> bool``; ``offset`` counts from its first column."""
        first = len(self.HEADERS)
        if self._extra is not None:
            self.beginRemoveColumns(QModelIndex(), first, first + len(self._extra.headers) - 1)
            self._extra = None
            self.endRemoveColumns()
        if columns is not None:
            self.beginInsertColumns(QModelIndex(), first, first + len(columns.headers) - 1)
            self._extra = columns
            self.endInsertColumns()
        # Columns change under every row, but the signals above name only the top level: a
        # layout change makes proxies remap the rows below too (views keep what is expanded).
        self.layoutAboutToBeChanged.emit()
        self.layoutChanged.emit()

    def refresh_extra_columns(self, nodes: Any) -> None:
        """The extra cells of ``nodes`` changed: one ``dataChanged`` per parent's run of rows."""
        if self._extra is None or self._root is None:
            return
        rows_by_parent: dict[int, tuple[Any, int, int]] = {}
        for node in nodes:
            if node is self._root or node.parent is None:
                continue
            parent, low, high = rows_by_parent.get(id(node.parent), (node.parent, node.row, node.row))
            rows_by_parent[id(node.parent)] = parent, min(low, node.row), max(high, node.row)
        first, last = len(self.HEADERS), self.columnCount() - 1
        for parent, low, high in rows_by_parent.values():
            owner = self.index_of(parent)
            self.dataChanged.emit(self.index(low, first, owner), self.index(high, last, owner))

    def set_row_decorator(self, name: str, decorate: Callable[[Any], RowDecoration | None] | None) -> None:
        """The feature ``name``'s ``decorate(node)`` marks the rows it returns a decoration for;
        None removes its marks. Several features' marks combine: the first tint, every tooltip
        line. Marks are asked for as rows are drawn (colours follow the scheme in force): when
        a decorator's answers change, repainting the view shows them, with no ``dataChanged``
        for every row below (a proxy would test each one again)."""
        if decorate is None:
            self._decorators.pop(name, None)
        else:
            self._decorators[name] = decorate
        rows = self.rowCount()
        if rows:
            self.dataChanged.emit(self.index(0, 0), self.index(rows - 1, self.columnCount() - 1), MARK_ROLES)

    def node(self, index: QModelIndex) -> Any:
        """The core node at ``index`` (None for the status row or an invalid index)."""
        if not index.isValid():
            return None
        item = index.internalPointer()
        return None if isinstance(item, StatusRow) else item

    def index_of(self, node: Any, column: int = 0) -> QModelIndex:
        if node is None or node is self._root or self._root is None:
            return QModelIndex()
        return self.createIndex(node.row, column, node)

    # --- QAbstractItemModel ----------------------------------------------------------------
    def index(self, row: int, column: int, parent: QModelIndex = QModelIndex()) -> QModelIndex:
        if not self.hasIndex(row, column, parent):
            return QModelIndex()
        if self._status is not None:
            return self.createIndex(row, column, self._status)
        owner = self._root if not parent.isValid() else parent.internalPointer()
        return self.createIndex(row, column, owner.children[row])

    def parent(self, index: QModelIndex | QPersistentModelIndex | None = None) -> Any:
        if index is None:
            return super().parent()  # QObject.parent()
        if not index.isValid():
            return QModelIndex()
        item = index.internalPointer()
        if isinstance(item, StatusRow) or item.parent is None or item.parent is self._root:
            return QModelIndex()
        return self.createIndex(item.parent.row, 0, item.parent)

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        if not parent.isValid():
            if self._status is not None:
                return 1
            return len(self._root.children) if self._root is not None else 0
        if parent.column() != 0:
            return 0
        item = parent.internalPointer()
        return 0 if isinstance(item, StatusRow) else len(item.children)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return len(self.HEADERS) + (len(self._extra.headers) if self._extra is not None else 0)

    def hasChildren(self, parent: QModelIndex = QModelIndex()) -> bool:
        return self.rowCount(parent) > 0

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and section >= len(self.HEADERS):
            return self._extra.header_data(section - len(self.HEADERS), role)
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.TextAlignmentRole:
            return _alignment(section)
        return None

    def flags(self, index: QModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        if index.column() >= len(self.HEADERS):
            node = self.node(index)
            return self._extra.flags(node, index.column() - len(self.HEADERS)) if node is not None \
                else Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def setData(self, index: QModelIndex, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        node = self.node(index)
        if node is None or index.column() < len(self.HEADERS):
            return False
        return self._extra.set_data(node, index.column() - len(self.HEADERS), value, role)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        item = index.internalPointer()
        if isinstance(item, StatusRow):
            return _status_data(item, index.column(), role)
        if index.column() >= len(self.HEADERS):
            return item if role == self.NodeRole else self._extra.data(item, index.column() - len(self.HEADERS), role)
        if role == Qt.ItemDataRole.DisplayRole:
            return display_text(item, index.column())
        if role == self.NodeRole:
            return item
        if role == self.SortRole:
            return _sort_value(item, index.column())
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._decorated_tooltip(item, index.column())
        if role == Qt.ItemDataRole.BackgroundRole:
            return next((mark.background for mark in self._marks(item) if mark.background is not None), None)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _alignment(index.column())
        if role == Qt.ItemDataRole.ForegroundRole:
            return _foreground(item, index.column(), self._marks(item))
        if role == Qt.ItemDataRole.FontRole and index.column() == self.NAME:
            return _struck_font() if any(mark.left_out for mark in self._marks(item)) else None
        return None

    def _marks(self, node: Any) -> list[RowDecoration]:
        marks = (decorate(node) for decorate in self._decorators.values())
        return [mark for mark in marks if mark is not None]

    def _decorated_tooltip(self, node: Any, column: int) -> str | None:
        text = full_text(node, column)
        lines = [mark.tooltip for mark in self._marks(node) if mark.tooltip] if column == self.NAME else []
        return "\n".join([text, *lines] if text else lines) or None


def display_text(node: Any, column: int) -> str:
    """The text a column shows for a node (also used by tests and copy actions)."""
    kind = node.kind
    if column == CheckpointTreeModel.NAME:
        return str(node.name)
    if kind == "tensor":
        return _tensor_text(node, column)
    if kind in ("value", "truncated"):
        return _value_node_text(node, column)
    return _container_text(node, column)


def _tensor_text(node: Any, column: int) -> str:
    tensor = node.tensor
    if column == CheckpointTreeModel.SHAPE:
        return shape_text(tensor.shape)
    if column == CheckpointTreeModel.TYPE:
        return tensor.dtype
    if column == CheckpointTreeModel.NUMEL:
        return thousands(tensor.numel)
    if column == CheckpointTreeModel.SIZE:
        return human_size(node.nbytes_total) if is_known(tensor.dtype) else "?"
    return role_text(tensor, node.shared_with)


def _value_node_text(node: Any, column: int) -> str:
    if column == CheckpointTreeModel.SHAPE:
        if node.kind == "truncated":
            return f"(cut short: {getattr(node.value, 'reason', node.value)})"
        return value_text(node.value)
    if column == CheckpointTreeModel.TYPE:  # the tree's class name: numpy scalars say which numpy type
        return "" if node.kind == "truncated" else (node.class_name or type_name(node.value))
    return ""


def _container_text(node: Any, column: int) -> str:
    if column == CheckpointTreeModel.SHAPE:
        inline = one_line_items(node)
        if inline is not None:
            return inline
        param = optimizer_entry_param(node.children)
        if param:  # an optimizer's per-parameter entry: which parameter it holds state for
            return f"state of {param}"
        if node.tensor_count:
            return f"{thousands(node.tensor_count)} tensor{'s' if node.tensor_count != 1 else ''}"
        count = len(node.children)
        return f"{count} item{'s' if count != 1 else ''}"
    if column == CheckpointTreeModel.TYPE:
        return short_class_name(node.class_name) or node.kind
    if column == CheckpointTreeModel.NUMEL:
        return thousands(node.numel_total) if node.tensor_count else ""
    if column == CheckpointTreeModel.SIZE:
        return human_size(node.nbytes_total) if node.tensor_count else ""
    return ""


def _sort_value(node: Any, column: int) -> Any:
    if column == CheckpointTreeModel.NUMEL:
        return node.tensor.numel if node.kind == "tensor" else node.numel_total
    if column == CheckpointTreeModel.SIZE:
        return node.nbytes_total
    if column == CheckpointTreeModel.NAME:
        return node.row  # the tree is already in natural order
    return display_text(node, column)


def short_class_name(class_name: str) -> str:
    """``torch.nn.modules.conv.Conv2d`` -> ``Conv2d`` (the tooltip has the full name)."""
    return class_name.rpartition(".")[2]


def full_text(node: Any, column: int) -> str | None:
    """What a cell's tooltip says: the whole key, class name or value the column may cut."""
    if column == CheckpointTreeModel.NAME:
        return node.key or ".".join(str(part) for part in node.path) or None
    if column == CheckpointTreeModel.TYPE and node.class_name:
        return node.class_name
    if node.kind == "value" and column == CheckpointTreeModel.SHAPE:
        return value_text(node.value, limit=2000)
    if node.kind == "tensor" and column == CheckpointTreeModel.ROLE:
        return role_text(node.tensor, node.shared_with)
    if node.kind == "tensor" and column == CheckpointTreeModel.SIZE:
        return _size_tooltip(node)
    return None


def _size_tooltip(node: Any) -> str | None:
    """Say so when a tensor declares more bytes than it stores (an expanded view)."""
    tensor = node.tensor
    if not is_known(tensor.dtype) or tensor.nbytes == node.nbytes_total:
        return None
    return f"{human_size(tensor.nbytes)} as a tensor, {human_size(node.nbytes_total)} stored in the file"


def _alignment(column: int) -> int:
    if column in (CheckpointTreeModel.NUMEL, CheckpointTreeModel.SIZE):
        return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)


def _foreground(node: Any, column: int, marks: list[RowDecoration]) -> Any:
    if node.kind in CONTAINER_KINDS and column != CheckpointTreeModel.NAME:
        return theme.dim_text_color()
    if _reads_as_frozen(node, marks) or any(mark.left_out for mark in marks):
        return theme.dim_text_color()  # frozen layers stand out as frozen
    if node.kind == "truncated":
        return theme.warning_text_color()
    return None


def _reads_as_frozen(node: Any, marks: list[RowDecoration]) -> bool:
    said = [mark.frozen for mark in marks if mark.frozen is not None]
    if said:
        return said[-1]
    return node.kind == "tensor" and is_frozen(node.tensor)


def _struck_font() -> QFont:
    font = QGuiApplication.font()
    font.setStrikeOut(True)
    return font


def _status_data(row: StatusRow, column: int, role: int) -> Any:
    if role == CheckpointTreeModel.StatusRole:
        return row.kind
    if column != CheckpointTreeModel.NAME:
        return None
    if role == Qt.ItemDataRole.DisplayRole:
        return row.text
    if role == Qt.ItemDataRole.ToolTipRole:
        return row.text
    if role == Qt.ItemDataRole.ForegroundRole:
        return theme.error_text_color() if row.kind == "error" else theme.dim_text_color()
    if role == Qt.ItemDataRole.DecorationRole:
        return theme.status_icon(row.kind)
    return None
