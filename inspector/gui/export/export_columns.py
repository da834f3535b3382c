"""The Include and Freeze columns of the tree in export mode: check boxes over an
``ExportSelection``, tristate on modules (some of the tensors below are in, some not). A click
does not change anything here: it asks the export mode, which makes the new selection."""

from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import Qt

from inspector.core.export_selection import ExportSelection, Span
from inspector.core.plan import ResolvedPlan
from inspector.gui.document.tree_model import CheckpointTreeModel, RowDecoration

Checked, Unchecked, Partial = Qt.CheckState.Checked, Qt.CheckState.Unchecked, Qt.CheckState.PartiallyChecked
LEFT_OUT = RowDecoration(tooltip="export: left out", left_out=True)
FROZEN = RowDecoration(tooltip="export: frozen, requires_grad_(False) once loaded", frozen=True)
TRAINABLE = RowDecoration(frozen=False)


class ExportColumns:
    INCLUDE, FREEZE = 0, 1
    headers = ("Include", "Freeze")
    HEADER_TIPS = ("Export this tensor or module. Shift-click: also every row above it.",
                   "Freeze: requires_grad_(False) once loaded. Shift-click: also every row above it.")

    def __init__(self, toggled: Callable[[Any, int, bool, bool], None]) -> None:
        """``toggled(node, column, checked, shift)`` is called for a click on a box."""
        self.selection: ExportSelection | None = None
        self._toggled = toggled
        self._output_of: dict[str, str] = {}
        self._dropped: dict[str, str] = {}

    def set_resolved(self, resolved: ResolvedPlan | None) -> None:
        """What the current plan exports, for the tooltips (it arrives a moment after a click)."""
        self._output_of = {} if resolved is None else {source: key for key, source in resolved.source_keys.items()}
        self._dropped = {} if resolved is None else dict(resolved.dropped)

    def span(self, node: Any) -> Span | None:
        return self.selection.rows.span(node) if self.selection is not None else None

    def check_state(self, node: Any, column: int) -> Qt.CheckState | None:
        """The box of ``node`` in ``column``; None where there is none (outside the state
        dict; Freeze of buffers, which are never frozen)."""
        span = self.span(node)
        if span is None:
            return None
        selection = self.selection
        if column == self.INCLUDE:
            count, total = selection.included_in(span), span[1] - span[0]
        else:
            count, total = selection.frozen_in(span), selection.freezable_in(span)
            if total == 0:
                return None
        return Checked if count == total else Unchecked if count == 0 else Partial

    # --- what the tree model asks ----------------------------------------------------------
    def header_data(self, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return self.headers[column]
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.HEADER_TIPS[column]
        return None

    def data(self, node: Any, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.CheckStateRole:
            return self.check_state(node, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(node, column)
        if role == CheckpointTreeModel.SortRole:
            state = self.check_state(node, column)
            return -1 if state is None else state.value
        return None

    def decoration(self, node: Any) -> RowDecoration | None:
        """How the tree marks ``node``'s row: left out (nothing below it is exported), frozen
        (every parameter below it is frozen) or trainable, whatever the file saved."""
        span = self.span(node)
        if span is None:
            return None
        selection = self.selection
        if selection.included_in(span) == 0:
            return LEFT_OUT
        freezable = selection.freezable_in(span)
        if freezable == 0:
            return None  # buffers only: never frozen
        return FROZEN if selection.frozen_in(span) == freezable else TRAINABLE

    def flags(self, node: Any, column: int) -> Qt.ItemFlag:
        flags = Qt.ItemFlag.ItemIsSelectable
        if self.check_state(node, column) is None:
            return flags | Qt.ItemFlag.ItemIsEnabled
        flags |= Qt.ItemFlag.ItemIsUserCheckable
        if column == self.INCLUDE or self.selection.included_in(self.span(node)):
            flags |= Qt.ItemFlag.ItemIsEnabled  # Freeze is greyed where nothing is exported
        return flags

    def set_data(self, node: Any, column: int, value: Any, role: int) -> bool:
        if role != Qt.ItemDataRole.CheckStateRole or self.check_state(node, column) is None:
            return False
        self._toggled(node, column, _is_checked(value), False)
        return True

    def shift_clicked(self, node: Any, column: int) -> None:
        """A shift-click on a box: the same new state for every row up to this one."""
        state = self.check_state(node, column)
        if state is not None:
            self._toggled(node, column, state != Checked, True)

    # --- tooltips ------------------------------------------------------------------------
    def _tooltip(self, node: Any, column: int) -> str | None:
        span = self.span(node)
        if span is None or self.check_state(node, column) is None:
            return None
        if node.kind != "tensor":
            return self._module_tooltip(span, column)
        key = self.selection.rows.keys[span[0]]
        if column == self.INCLUDE:
            if key in self._output_of:
                return f"Exported as {self._output_of[key]}"
            return f"Left out: {self._dropped[key]}" if key in self._dropped else None
        frozen = self.selection.frozen_in(span) > 0
        saved = " (saved with requires_grad=False)" if self.selection.rows.frozen_in_file[span[0]] else ""
        return ("Frozen: requires_grad_(False) once loaded" if frozen else "Trainable") + saved

    def _module_tooltip(self, span: Span, column: int) -> str:
        selection = self.selection
        if column == self.INCLUDE:
            return f"{selection.included_in(span):,} of {span[1] - span[0]:,} tensors included"
        return f"{selection.frozen_in(span):,} of {selection.freezable_in(span):,} parameters frozen"


def _is_checked(value: Any) -> bool:
    """A check state as Qt passes it: the enum, or its int."""
    return getattr(value, "value", value) == Checked.value
