"""Export mode of one document: Include and Freeze boxes on the tree's rows, the selection they
edit, the summary bar under the tree, and "up to here / from here to the end" in the context menu.

The selection is a core ``ExportSelection`` (immutable): every click makes a new one, the
tree's boxes are redrawn from it, and its plan is resolved on a thread (latest wins) for the
summary and the preview. A reload (F5) keeps the plan and applies it to the new tree.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QObject, Signal
from PySide6.QtWidgets import QMenu, QToolButton

from inspector.core.errors import CheckpointError
from inspector.core.export_selection import (
    ExportRows, ExportSelection, Span, holds_state_dict, selection_for_plan, selection_job, subdict_of,
)
from inspector.core.export_summary import resolve_job
from inspector.core.plan import ExportPlan, ResolvedPlan
from inspector.gui.document.tree_model import CheckpointTreeModel
from inspector.gui.export.export_columns import ExportColumns
from inspector.gui.export.box_delegate import BoxDelegate
from inspector.gui.export.summary_bar import SummaryBar
from inspector.gui.workers.plot_runner import PlotRunner

BOX_COLUMN_PADDING = 28  # the check box and the cell margins beside the header text


class ExportMode(QObject):
    activeChanged = Signal(bool)
    selectionChanged = Signal(object)  # the new ExportSelection
    resolvedChanged = Signal(object)  # the ResolvedPlan of the current selection, or None (an error)
    exportRequested = Signal()  # the summary bar's Export… button

    def __init__(self, document: Any) -> None:
        super().__init__(document)
        self.document = document
        self.active = False
        self.selection: ExportSelection | None = None
        self.resolved: ResolvedPlan | None = None
        self.message = ""  # why there is no selection or no resolved plan
        self._tree_root: Any = None  # the tree the selection was made for
        self.columns = ExportColumns(self._on_columns_toggled)
        self.delegate = BoxDelegate(self)
        self.bar = SummaryBar()
        self.bar.setVisible(False)
        self.toggle_button = QToolButton(text="Export mode", checkable=True)
        self.toggle_button.setToolTip("Choose tensors to export and to freeze (Ctrl+E)")
        self.toggle_button.setProperty("modeSwitch", True)  # the stylesheet shows it on or off
        self._runner = PlotRunner(self)  # resolves the plan for the summary
        self._preparer = PlotRunner(self)  # makes the selection for a newly read tree
        document.add_below_tree(self.bar)
        document.tree_panel.add_tool_widget(self.toggle_button)
        document.tree_panel.context_menu_hooks.append(self._add_menu_items)
        self._connect()

    @classmethod
    def of(cls, document: Any) -> ExportMode | None:
        return document.findChild(ExportMode)

    @property
    def model(self) -> CheckpointTreeModel:
        return self.document.tree_panel.model

    # --- interface -----------------------------------------------------------------------
    def set_active(self, active: bool) -> None:
        if active == self.active:
            return
        self.active = active
        self.toggle_button.setChecked(active)
        if active:
            self.model.set_extra_columns(self.columns)
            self.model.set_row_decorator("export", self.columns.decoration)
            self._on_document_state_changed()
        else:
            self._runner.cancel()
            self._preparer.cancel()
            self.model.set_row_decorator("export", None)
            self.model.set_extra_columns(None)
            self.bar.setVisible(False)
        self.activeChanged.emit(active)

    def set_selection(self, selection: ExportSelection, changed: Span | None = None) -> None:
        """Show ``selection`` (``changed``: the only key positions that differ, when known)."""
        whole = selection.rows is not getattr(self.selection, "rows", None)
        self.selection = selection
        self.columns.selection = selection
        self._refresh_boxes(None if whole else changed)
        self._resolve()
        self.selectionChanged.emit(selection)

    def apply_plan(self, plan: ExportPlan) -> None:
        """Set the boxes to what ``plan`` selects (``CheckpointError`` when it does not fit the file)."""
        loaded = self.document.loaded
        if loaded is None:
            raise CheckpointError("the file is not read yet")
        self.set_selection(selection_for_plan(loaded.checkpoint, loaded.root, plan))

    def shutdown(self) -> None:
        self._runner.shutdown()
        self._preparer.shutdown()

    # --- building the selection ------------------------------------------------------------
    def _on_document_state_changed(self) -> None:
        if not self.active:
            return
        loaded = self.document.loaded if self.document.state == "ready" else None
        self.bar.setVisible(loaded is not None)
        if loaded is None:
            self.columns.selection, self._tree_root = None, None
            return
        if self._tree_root is not loaded.root:
            self._tree_root = loaded.root
            self._start_selection(loaded)
        self._place_columns()

    def _start_selection(self, loaded: Any) -> None:
        """The last plan again on a reloaded tree, else the default state dict, all included."""
        previous = self.selection
        self.selection = self.columns.selection = None
        self.bar.show_pending()
        self._preparer.submit(lambda: selection_job(loaded.checkpoint, loaded.root, previous))

    def _on_preparer_failed(self, message: str) -> None:
        self._show_error(f"Nothing to export: {message}")

    def _place_columns(self) -> None:
        """The two box columns right after Name, narrow, with the range delegate."""
        view = self.document.tree_panel.view
        header = view.header()
        first = len(CheckpointTreeModel.HEADERS)
        for offset, title in enumerate(ExportColumns.headers):
            column = first + offset
            view.setItemDelegateForColumn(column, self.delegate)
            header.moveSection(header.visualIndex(column), 1 + offset)
            view.setColumnWidth(column, view.fontMetrics().horizontalAdvance(title) + BOX_COLUMN_PADDING)
        current, selection = view.currentIndex(), view.selectionModel()
        if current.isValid() and selection.isSelected(current):  # its new cells are selected too
            selection.select(current, QItemSelectionModel.SelectionFlag.ClearAndSelect
                             | QItemSelectionModel.SelectionFlag.Rows)

    # --- edits -----------------------------------------------------------------------------
    def _on_columns_toggled(self, node: Any, column: int, checked: bool, shift: bool) -> None:
        rows = self.selection.rows
        span = rows.up_to(node) if shift else rows.span(node)
        self._apply(span, column, checked)

    def _apply(self, span: Span, column: int, checked: bool) -> None:
        if column == ExportColumns.INCLUDE:
            self.set_selection(self.selection.with_included(span, checked), span)
        else:
            self.set_selection(self.selection.with_frozen(span, checked), span)

    def _on_delegate_shift_clicked(self, index: QModelIndex) -> None:
        panel = self.document.tree_panel
        source = panel.proxy.mapToSource(index)
        node = self.model.node(source)
        if node is not None:
            self.columns.shift_clicked(node, source.column() - len(CheckpointTreeModel.HEADERS))

    def _refresh_boxes(self, changed: Span | None) -> None:
        panel = self.document.tree_panel
        self.model.refresh_extra_columns(visible_rows(self.selection.rows, panel, changed))
        panel.view.viewport().update()  # the rows' marks (struck out, dimmed) are read as they are drawn

    # --- the summary -----------------------------------------------------------------------
    def _resolve(self) -> None:
        selection = self.selection
        self.bar.show_pending()
        self._runner.submit(lambda: resolve_job(selection))

    def _on_runner_finished(self, resolved: ResolvedPlan) -> None:
        self.resolved, self.message = resolved, ""
        self.columns.set_resolved(resolved)
        self.bar.show_resolved(resolved)
        self.resolvedChanged.emit(resolved)

    def _show_error(self, message: str) -> None:
        self.resolved, self.message = None, message
        self.columns.set_resolved(None)
        self.bar.show_error(message)
        self.resolvedChanged.emit(None)

    # --- context menu ----------------------------------------------------------------------
    def _add_menu_items(self, menu: QMenu, node: Any) -> None:
        if not self.active or self.document.loaded is None:
            return
        span = self.columns.span(node)
        if span is not None:
            menu.addSeparator()
            self._add_range_menu(menu.addMenu("Include"), node, ExportColumns.INCLUDE, ("Include", "Leave out"))
            if self.columns.check_state(node, ExportColumns.FREEZE) is not None:
                self._add_range_menu(menu.addMenu("Freeze"), node, ExportColumns.FREEZE, ("Freeze", "Unfreeze"))
        elif holds_state_dict(node):
            menu.addSeparator()
            menu.addAction("Export from this state dict", lambda: self._use_state_dict(node))

    def _add_range_menu(self, menu: QMenu, node: Any, column: int, verbs: tuple[str, str]) -> None:
        rows = self.selection.rows
        for verb, checked in zip(verbs, (True, False)):
            menu.addAction(f"{verb} up to here", lambda c=checked: self._apply(rows.up_to(node), column, c))
            menu.addAction(f"{verb} from here to the end", lambda c=checked: self._apply(rows.from_here(node), column, c))

    def _use_state_dict(self, node: Any) -> None:
        plan = ExportPlan(subdict=subdict_of(node))
        if self.selection is not None:
            plan = plan.replace(rename=self.selection.rename, dtype=self.selection.dtype)
        try:
            self.apply_plan(plan)
        except CheckpointError as error:
            self._show_error(str(error))

    def _connect(self) -> None:
        self.toggle_button.toggled.connect(self.set_active)
        self.delegate.shiftClicked.connect(self._on_delegate_shift_clicked)
        self._runner.finished.connect(self._on_runner_finished)
        self._runner.failed.connect(self._show_error)
        self._preparer.finished.connect(self.set_selection)
        self._preparer.failed.connect(self._on_preparer_failed)
        self.bar.exportRequested.connect(self.exportRequested)
        self.document.stateChanged.connect(self._on_document_state_changed)
        self.document.closing.connect(self.shutdown)


def visible_rows(rows: ExportRows, panel: Any, changed: Span | None) -> list[Any]:
    """The rows over key positions ``changed`` (None: all) that the tree panel can show: rows
    inside collapsed modules read their boxes afresh when expanded. Notifying every row of a
    100k-tensor tree would take seconds."""
    start, end = changed if changed is not None else (0, len(rows))
    visible, stack = [], [rows.container] if rows.container is not None else []
    while stack:
        node = stack.pop()
        low, high = rows.spans.get(node, (0, 0))
        if not (low < end and start < high):
            continue
        visible.append(node)
        if node.parent is None or panel.view.isExpanded(panel.proxy.mapFromSource(panel.model.index_of(node))):
            stack.extend(node.children)
    return visible
