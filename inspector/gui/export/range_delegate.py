"""The delegate of the Include and Freeze columns: a plain click on a box toggles it (Qt's own
behaviour), a shift-click on it reports the row, for "every row up to here"."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QModelIndex, Qt, Signal
from PySide6.QtWidgets import QApplication, QStyle, QStyledItemDelegate, QStyleOptionViewItem


class RangeDelegate(QStyledItemDelegate):
    shiftClicked = Signal(QModelIndex)  # an index of the view's model

    def editorEvent(self, event: QEvent, model, option: QStyleOptionViewItem, index: QModelIndex) -> bool:
        if _is_shift_release(event) and _checkable(index) and self._on_check_box(event, option, index):
            self.shiftClicked.emit(index)
            return True
        if event.type() == QEvent.Type.MouseButtonRelease and event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            return False  # a shift-click beside the box only selects the row
        return super().editorEvent(event, model, option, index)

    def _on_check_box(self, event, option: QStyleOptionViewItem, index: QModelIndex) -> bool:
        """Where Qt itself takes a click as one on the box."""
        options = QStyleOptionViewItem(option)
        self.initStyleOption(options, index)
        widget = option.widget
        style = widget.style() if widget is not None else QApplication.style()
        box = style.subElementRect(QStyle.SubElement.SE_ItemViewItemCheckIndicator, options, widget)
        return box.contains(event.position().toPoint())


def _is_shift_release(event: QEvent) -> bool:
    return (event.type() == QEvent.Type.MouseButtonRelease and event.button() == Qt.MouseButton.LeftButton
            and bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier))


def _checkable(index: QModelIndex) -> bool:
    flags = index.flags()
    return bool(flags & Qt.ItemFlag.ItemIsUserCheckable and flags & Qt.ItemFlag.ItemIsEnabled)
