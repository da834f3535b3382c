"""A status filter chip of the compare table: on, it is tinted in its status colour with a solid
dot and an outline of that colour; off, it keeps only a grey outline, a hollow dot and dim text.
Both states read at a glance in light and dark schemes (a flat auto-raised button did not)."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPalette, QPen
from PySide6.QtWidgets import QAbstractButton, QWidget

from inspector.gui.compare.status_style import status_color, status_label
from inspector.gui.panels.plot_style import translucent
from inspector.gui.window import theme

DOT = 9
GAP = 5
PADDING = (7, 2)  # horizontal, vertical
FILL_ALPHA = {False: 42, True: 70}  # the tint of a chip that is on (light, dark scheme)
HOVER_ALPHA = 28


class ChipColors:
    """What a chip paints with in its current state."""

    __slots__ = ("fill", "border", "text", "dot", "dot_filled")

    def __init__(self, fill: QColor, border: QColor, text: QColor, dot: QColor, dot_filled: bool) -> None:
        self.fill, self.border, self.text, self.dot, self.dot_filled = fill, border, text, dot, dot_filled


class StatusChip(QAbstractButton):
    def __init__(self, status: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.status = status
        self.setObjectName(f"chip_{status}")
        self.setCheckable(True)
        self.setChecked(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self.setAttribute(Qt.WidgetAttribute.WA_Hover)
        self.toggled.connect(self._update_tooltip)
        self._update_tooltip(True)

    def colors(self) -> ChipColors:
        palette = self.palette()
        color = status_color(self.status)
        if self.isChecked():
            return ChipColors(translucent(color, FILL_ALPHA[theme.is_dark(palette)]), color,
                              palette.color(QPalette.ColorRole.WindowText), color, True)
        fill = translucent(palette.color(QPalette.ColorRole.WindowText), HOVER_ALPHA if self.underMouse() else 0)
        return ChipColors(fill, theme.dim_text_color(), theme.dim_text_color(), color, False)

    def sizeHint(self) -> QSize:
        metrics = self.fontMetrics()
        width = 2 * PADDING[0] + DOT + GAP + metrics.horizontalAdvance(self.text())
        return QSize(width, metrics.height() + 2 * PADDING[1] + 2)

    def minimumSizeHint(self) -> QSize:
        return self.sizeHint()

    def paintEvent(self, _event) -> None:
        colors = self.colors()
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        outline = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        pen = QPen(colors.border, 2 if self.hasFocus() else 1)
        painter.setPen(pen)
        painter.setBrush(colors.fill)
        radius = outline.height() / 2
        painter.drawRoundedRect(outline, radius, radius)
        dot = QRectF(PADDING[0], (self.height() - DOT) / 2, DOT, DOT)
        painter.setPen(QPen(colors.dot, 1.5))
        painter.setBrush(colors.dot if colors.dot_filled else Qt.BrushStyle.NoBrush)
        painter.drawEllipse(dot.adjusted(0.75, 0.75, -0.75, -0.75))
        painter.setPen(colors.text)
        text_rect = self.rect().adjusted(PADDING[0] + DOT + GAP, 0, -PADDING[0], 0)
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, self.text())
        painter.end()

    def _update_tooltip(self, checked: bool) -> None:
        label = status_label(self.status)
        self.setToolTip(f"Keys whose status is '{label}' are shown: click to hide them" if checked
                        else f"Keys whose status is '{label}' are hidden: click to show them")
        self.update()
