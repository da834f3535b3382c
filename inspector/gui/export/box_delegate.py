"""The delegate of the Include and Freeze columns: a check box centred in its cell. A click or
Space toggles it, as Qt's own boxes do; a shift-click reports the row instead, for "every row
up to here"."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QModelIndex, QRect, Qt, Signal
from PySide6.QtWidgets import QApplication, QStyle, QStyledItemDelegate, QStyleOptionViewItem


_HAS_BOX = QStyleOptionViewItem.ViewItemFeature.HasCheckIndicator
_BOX_STATE = {Qt.CheckState.Checked: QStyle.StateFlag.State_On, Qt.CheckState.Unchecked: QStyle.StateFlag.State_Off,
              Qt.CheckState.PartiallyChecked: QStyle.StateFlag.State_NoChange}
_MOUSE_EVENTS = (QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonRelease, QEvent.Type.MouseButtonDblClick)


class BoxDelegate(QStyledItemDelegate):
    shiftClicked = Signal(QModelIndex)  # an index of the view's model

    def box_rect(self, option: QStyleOptionViewItem, index: QModelIndex) -> QRect:
        style = _style(option)
        size = (style.pixelMetric(QStyle.PixelMetric.PM_IndicatorWidth, option, option.widget),
                style.pixelMetric(QStyle.PixelMetric.PM_IndicatorHeight, option, option.widget))
        box = QRect(0, 0, *size)
        box.moveCenter(option.rect.center())
        return box

    def paint(self, painter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        options = QStyleOptionViewItem(option)
        self.initStyleOption(options, index)
        has_box = bool(options.features & _HAS_BOX)
        options.features &= ~_HAS_BOX
        style = _style(option)
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, options, painter, option.widget)  # background
        if has_box:
            box = QStyleOptionViewItem(options)
            box.rect = self.box_rect(option, index)
            box.state = (options.state & ~QStyle.StateFlag.State_HasFocus) | _BOX_STATE[options.checkState]
            style.drawPrimitive(QStyle.PrimitiveElement.PE_IndicatorItemViewItemCheck, box, painter, option.widget)

    def editorEvent(self, event: QEvent, model, option: QStyleOptionViewItem, index: QModelIndex) -> bool:
        flags = index.flags()
        if not (flags & Qt.ItemFlag.ItemIsUserCheckable and flags & Qt.ItemFlag.ItemIsEnabled):
            return False
        if event.type() in _MOUSE_EVENTS:
            on_box = event.button() == Qt.MouseButton.LeftButton and \
                self.box_rect(option, index).contains(event.position().toPoint())
            if not on_box or event.type() != QEvent.Type.MouseButtonRelease:
                return on_box  # a press on the box waits for its release
            if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
                self.shiftClicked.emit(index)
                return True
        elif not (event.type() == QEvent.Type.KeyPress and event.key() in (Qt.Key.Key_Space, Qt.Key.Key_Select)):
            return False
        checked = index.data(Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Checked
        return model.setData(index, Qt.CheckState.Unchecked if checked else Qt.CheckState.Checked,
                             Qt.ItemDataRole.CheckStateRole)


def _style(option: QStyleOptionViewItem) -> QStyle:
    return option.widget.style() if option.widget is not None else QApplication.style()
