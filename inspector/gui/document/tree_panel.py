"""The left side of a document: the filter box over the checkpoint tree, and its context menu."""

from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import QEvent, QItemSelectionModel, QModelIndex, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QMenu, QTreeView, QVBoxLayout, QWidget,
)

from inspector.core.tree import iter_nodes
from inspector.core import snippets
from inspector.gui.formatting import value_text
from inspector.gui.document.tree_filter import FilterIndex, TreeFilterProxy
from inspector.gui.document.tree_model import CheckpointTreeModel

FILTER_DEBOUNCE_MS = 150
EXPAND_ALL_MATCH_LIMIT = 300  # expanding more rows than this makes typing feel slow
AUTO_EXPAND_CHILD_LIMIT = 64
NAME_COLUMN_WIDTH = 220
# Each other column starts as wide as its typical longest text, in the view's own font.
COLUMN_SAMPLES = {CheckpointTreeModel.SHAPE: "[4096, 4096, 3]", CheckpointTreeModel.TYPE: "float8_e4m3fn",
                  CheckpointTreeModel.NUMEL: "123,456,789", CheckpointTreeModel.SIZE: "1023.9 MiB",
                  CheckpointTreeModel.ROLE: "optimizer-state"}
COLUMN_PADDING = 16  # the cell margins on both sides


class TreeViewState:
    """Which rows were expanded and which was current, by their names from the root: what a
    reload (F5) keeps, since the new tree has new nodes."""

    def __init__(self, expanded: list[tuple[str, ...]], current: tuple[str, ...] | None) -> None:
        self.expanded = expanded
        self.current = current


class TreePanel(QWidget):
    nodeSelected = Signal(object)  # a core Node, or None
    columnsResized = Signal(object)  # the header's saved state (QByteArray)

    def __init__(self, snippet_for: Callable[[Any], str], parent=None):
        super().__init__(parent)
        self._snippet_for = snippet_for
        self.model = CheckpointTreeModel(self)
        self.proxy = TreeFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self.filter_edit = QLineEdit(placeholderText="Filter by name or key (Ctrl+F)", clearButtonEnabled=True)
        self.match_label = QLabel()
        self.view = _make_view(self.proxy)
        self._filter_timer = QTimer(self, singleShot=True, interval=FILTER_DEBOUNCE_MS)
        self._kept_node: Any = None  # the current row, kept while a filter hides it
        self._shown: Any = None  # the node last sent with nodeSelected
        self._expanded_before_filter: list[tuple[str, ...]] | None = None  # restored when it goes
        self.context_menu_hooks: list[Callable[[QMenu, Any], None]] = []  # features add their items
        self._layout_widgets()
        self._connect()

    # --- content -------------------------------------------------------------------------
    def set_status(self, kind: str, text: str) -> None:
        self.proxy.set_filter_index(None)
        self.model.set_status(kind, text)
        self.view.setFirstColumnSpanned(0, QModelIndex(), True)
        self.filter_edit.setEnabled(False)

    def set_tree(self, root: Any, filter_index: FilterIndex) -> None:
        self._kept_node, self._expanded_before_filter = None, None
        self.model.set_root(root)
        self.proxy.set_filter_index(filter_index)
        self.filter_edit.setEnabled(True)
        self._expand_first_levels()
        if self.filter_edit.text():
            self._on_filter_timer_timeout()

    def view_state(self) -> TreeViewState:
        expanded = []
        stack = [QModelIndex()]
        while stack:
            parent = stack.pop()
            for row in range(self.proxy.rowCount(parent)):
                index = self.proxy.index(row, 0, parent)
                if self.view.isExpanded(index):
                    expanded.append(_name_path(self.model.node(self.proxy.mapToSource(index))))
                    stack.append(index)
        current = self.current_node()
        return TreeViewState(expanded, _name_path(current) if current is not None else None)

    def restore_view_state(self, state: TreeViewState) -> None:
        self._expand_rows(state.expanded)
        if state.current is not None:
            node = _node_at(self.model.root, state.current)
            if node is not None:
                self.select_node(node)

    def restore_columns(self, state: Any) -> None:
        """Column widths the user chose before (a saved header state), if any."""
        if state:
            self.view.header().restoreState(state)

    def clear_filter_or_selection(self) -> None:
        """Esc: first the filter goes, then the selection (the panel shows the whole file)."""
        if self.filter_edit.text():
            self.filter_edit.clear()
            self._filter_timer.stop()
            self._on_filter_timer_timeout()
        else:
            self._kept_node = None
            self.view.selectionModel().clear()
            self.view.setCurrentIndex(QModelIndex())
            self._show_selected()

    def focus_filter(self) -> None:
        self.filter_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.filter_edit.selectAll()

    def current_node(self) -> Any:
        return self.model.node(self.proxy.mapToSource(self.view.currentIndex()))

    def select_node(self, node: Any) -> bool:
        index = self.proxy.mapFromSource(self.model.index_of(node))
        if not index.isValid():
            return False
        self.view.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
        self._reveal(index)
        return True

    def select_first_tensor(self) -> bool:
        if self.model.root is None:
            return False
        tensors = (node for node in iter_nodes(self.model.root) if node.kind == "tensor")
        return any(self.select_node(node) for node in tensors)  # the first one the filter shows

    def add_tool_widget(self, widget: QWidget) -> None:
        """A feature's button beside the filter box."""
        self._top.addWidget(widget)

    # --- wiring --------------------------------------------------------------------------
    def _layout_widgets(self) -> None:
        top = self._top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.filter_edit, 1)
        top.addWidget(self.match_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.view, 1)

    def _connect(self) -> None:
        self.filter_edit.textChanged.connect(lambda _text: self._filter_timer.start())
        self.filter_edit.returnPressed.connect(self._on_filter_edit_return_pressed)
        self._filter_timer.timeout.connect(self._on_filter_timer_timeout)
        self.view.selectionModel().currentChanged.connect(self._on_selection_current_changed)
        self.view.selectionModel().selectionChanged.connect(self._on_selection_selection_changed)
        self.view.customContextMenuRequested.connect(self._on_view_context_menu_requested)
        self.view.header().sectionResized.connect(self._on_header_section_resized)
        self.filter_edit.installEventFilter(self)
        self.view.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.KeyPress and event.key() == Qt.Key.Key_Escape \
                and event.modifiers() == Qt.KeyboardModifier.NoModifier:
            self.clear_filter_or_selection()
            return True
        return super().eventFilter(watched, event)

    def _on_header_section_resized(self, _index: int, _old: int, _new: int) -> None:
        # not the widths set while building the view, nor a layout with a feature's extra columns
        if self.view.header().isVisible() and self.model.extra_columns is None:
            self.columnsResized.emit(self.view.header().saveState())

    def _on_filter_timer_timeout(self) -> None:
        text = self.filter_edit.text()
        self._kept_node = self.current_node() or self._kept_node
        if not self.proxy.is_filtering() and text.strip():
            self._expanded_before_filter = self.view_state().expanded
        matches = self.proxy.set_filter_text(text)
        if self._kept_node is not None and self.current_node() is None:
            self.select_node(self._kept_node)  # the row chosen before filtering, when it shows
        if not self.proxy.is_filtering():
            self.match_label.setText("")
            self._restore_expansion()
            return
        self.match_label.setText(f"{matches:,} match{'es' if matches != 1 else ''}")
        if matches <= EXPAND_ALL_MATCH_LIMIT:
            self.view.expandAll()

    def _on_filter_edit_return_pressed(self) -> None:
        self._filter_timer.stop()
        self._on_filter_timer_timeout()
        first = self.proxy.index(0, 0)
        if first.isValid():
            self.view.setFocus()

    def _on_selection_current_changed(self, _current: QModelIndex, _previous: QModelIndex) -> None:
        self._show_selected()

    def _on_selection_selection_changed(self, _selected, _deselected) -> None:
        self._show_selected()

    def _show_selected(self) -> None:
        """Say which row is selected (None: none is). The row the keyboard focus merely rests
        on, as it does when the tree takes the focus, is not selected."""
        current = self.view.currentIndex()
        selected = current.isValid() and self.view.selectionModel().isSelected(current)
        node = self.model.node(self.proxy.mapToSource(current)) if selected else None
        if node is not self._shown:
            self._shown = node
            self.nodeSelected.emit(node)

    def _restore_expansion(self) -> None:
        """The filter went: the rows expanded before it, and the current row kept in view."""
        expanded, self._expanded_before_filter = self._expanded_before_filter, None
        if expanded is None:
            self._expand_first_levels()
            return
        self.view.collapseAll()
        self._expand_rows(expanded)
        current = self.view.currentIndex()
        if current.isValid():
            self._reveal(current)

    def _expand_rows(self, expanded: list[tuple[str, ...]]) -> None:
        for names in expanded:
            index = self.proxy.mapFromSource(self.model.index_of(_node_at(self.model.root, names)))
            if index.isValid():
                self.view.expand(index)

    def _reveal(self, index: QModelIndex) -> None:
        parent = index.parent()
        while parent.isValid():
            self.view.expand(parent)
            parent = parent.parent()
        self.view.scrollTo(index)

    def _expand_first_levels(self) -> None:
        root = self.proxy.index(0, 0).parent()
        for row in range(min(self.proxy.rowCount(root), AUTO_EXPAND_CHILD_LIMIT)):
            index = self.proxy.index(row, 0, root)
            if 0 < self.proxy.rowCount(index) <= AUTO_EXPAND_CHILD_LIMIT:
                self.view.expand(index)

    # --- context menu --------------------------------------------------------------------
    def _on_view_context_menu_requested(self, position) -> None:
        node = self.model.node(self.proxy.mapToSource(self.view.indexAt(position)))
        if node is None:
            return
        menu = self.context_menu(node)
        menu.exec(self.view.viewport().mapToGlobal(position))

    def context_menu(self, node: Any) -> QMenu:
        menu = QMenu(self)
        menu.addAction("Copy key", lambda: _copy(snippets.copy_key(node)))
        menu.addAction("Copy path", lambda: _copy(snippets.copy_path(node)))
        menu.addAction("Copy loading snippet", lambda: _copy(self._snippet_for(node)))
        if node.kind == "value":
            menu.addAction("Copy value", lambda: _copy(value_text(node.value, limit=1_000_000)))
        menu.addSeparator()
        index = self.proxy.mapFromSource(self.model.index_of(node))
        menu.addAction("Expand all below", lambda: self.view.expandRecursively(index))
        menu.addAction("Collapse all", self.view.collapseAll)
        for hook in self.context_menu_hooks:
            hook(menu, node)
        return menu


def _name_path(node: Any) -> tuple[str, ...]:
    names = [node.name]
    names.extend(ancestor.name for ancestor in node.ancestors() if ancestor.parent is not None)
    return tuple(reversed(names))


def _node_at(root: Any, names: tuple[str, ...]) -> Any:
    node = root
    for name in names:
        node = next((child for child in node.children if child.name == name), None)
        if node is None:
            return None
    return node


def _copy(text: str) -> None:
    QGuiApplication.clipboard().setText(text)


def _make_view(proxy: TreeFilterProxy) -> QTreeView:
    view = QTreeView()
    view.setModel(proxy)
    view.setUniformRowHeights(True)  # keeps scrolling through 100k rows cheap
    view.setAlternatingRowColors(True)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
    view.setSortingEnabled(True)
    view.sortByColumn(-1, Qt.SortOrder.AscendingOrder)  # the tree's own (natural) order until asked
    header = view.header()
    header.setStretchLastSection(True)
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    _set_column_widths(view)
    return view


def _set_column_widths(view: QTreeView) -> None:
    view.setColumnWidth(CheckpointTreeModel.NAME, NAME_COLUMN_WIDTH)
    metrics = view.fontMetrics()
    for column, sample in COLUMN_SAMPLES.items():
        view.setColumnWidth(column, metrics.horizontalAdvance(sample) + COLUMN_PADDING)
