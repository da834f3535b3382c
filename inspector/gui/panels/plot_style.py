"""Plot colours taken from the widget palette, so plots follow light and dark themes."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

WARNING_COLOR = QColor("#d62728")  # dead or exploding layers
CAUTION_COLOR = QColor("#ff7f0e")
MIN_CONTRAST = 4.5  # WCAG AA for text: dimmed text stays at least this far from its background


def is_dark(widget: QWidget) -> bool:
    return widget.palette().color(QPalette.ColorRole.Window).lightness() < 128


def accent_color(widget: QWidget) -> QColor:
    """The palette's highlight, lightened on dark backgrounds so it stays readable."""
    color = widget.palette().color(QPalette.ColorRole.Highlight)
    return color.lighter(140) if is_dark(widget) else color


def dim_text_color(widget: QWidget) -> QColor:
    """The palette's window text moved toward its window colour, as far as keeps MIN_CONTRAST:
    quieter than the text around it, readable in both schemes."""
    palette = widget.palette()
    text, background = palette.color(QPalette.ColorRole.WindowText), palette.color(QPalette.ColorRole.Window)
    for share in (0.6, 0.55, 0.5, 0.45, 0.4, 0.35, 0.3, 0.2, 0.1):
        dimmed = _mixed(text, background, share)
        if contrast_ratio(dimmed, background) >= MIN_CONTRAST:
            return dimmed
    return QColor(text)


def contrast_ratio(first: QColor, second: QColor) -> float:
    """WCAG 2 contrast ratio of two opaque colours, from 1 (same) to 21 (black on white)."""
    lighter, darker = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _luminance(color: QColor) -> float:
    def linear(channel: float) -> float:
        return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4

    return 0.2126 * linear(color.redF()) + 0.7152 * linear(color.greenF()) + 0.0722 * linear(color.blueF())


def _mixed(color: QColor, other: QColor, share: float) -> QColor:
    """``color`` with ``share`` of ``other`` mixed in."""
    return QColor.fromRgbF(*((1 - share) * a + share * b for a, b in
                             zip(color.getRgbF()[:3], other.getRgbF()[:3])))


def translucent(color: QColor, alpha: int) -> QColor:
    result = QColor(color)
    result.setAlpha(alpha)
    return result


def style_plot(plot: pg.PlotWidget | pg.GraphicsLayoutWidget, widget: QWidget, grid: bool = True) -> None:
    """Background, axes and text in the colours of ``widget``'s palette."""
    plot.setBackground(widget.palette().color(QPalette.ColorRole.Base))
    items = [plot.getPlotItem()] if isinstance(plot, pg.PlotWidget) else _plot_items(plot)
    for item in items:
        style_axes(item, widget)
        bottom = item.getAxis("bottom")
        if bottom.autoSIPrefix:  # weights read better as 0.05 than as 50 (x0.001)
            # only once: pyqtgraph recomputes the scale from the current range when this is
            # called, so a second call (a theme switch) would freeze a ×1000 scale on the ticks
            bottom.enableAutoSIPrefix(False)
        item.showGrid(x=grid, y=grid, alpha=0.15)


def style_axes(item: pg.PlotItem, widget: QWidget) -> None:
    """Axis lines in a quiet, tick labels in the full text colour of ``widget``'s palette (a
    colour bar is a plot item of its own: its labels need this too)."""
    foreground = widget.palette().color(QPalette.ColorRole.Text)
    for name in ("left", "bottom", "right", "top"):
        axis = item.getAxis(name)
        axis.setPen(pg.mkPen(translucent(foreground, 140)))
        axis.setTextPen(pg.mkPen(foreground))


def _plot_items(layout: pg.GraphicsLayoutWidget) -> list[pg.PlotItem]:
    return [item for item in layout.ci.items if isinstance(item, pg.PlotItem)]


def shrinkable_label(text: str = "", align_right: bool = False) -> QLabel:
    """A label that never widens its panel: long keys and notes are clipped, not enforced."""
    label = QLabel(text)
    if align_right:
        label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    label.setMinimumWidth(0)
    return label


def wrapping_label() -> QLabel:
    """A shrinkable label whose text wraps onto more lines instead of being clipped; it breaks
    only at plain spaces (see ``unbreakable``)."""
    label = shrinkable_label()
    label.setWordWrap(True)
    return label


def unbreakable(text: str) -> str:
    """``text`` whose spaces never break a line ("2.0 MiB", "512,000 elements", "rows 0–199")."""
    return text.replace(" ", NO_BREAK_SPACE)


NO_BREAK_SPACE = "\u00a0"  # copied as a plain space


def integer_ticks(axis: pg.AxisItem, size: int) -> None:
    """An axis over few indices gets a tick per index (no half-index ticks); long ones automatic ticks."""
    if size <= 16:
        axis.setTickSpacing(major=1, minor=1)
    elif size <= 64:
        axis.setTickSpacing(major=8, minor=8)
    else:
        axis.setTickSpacing()


class CountAxis(pg.AxisItem):
    """An axis of counts: ticks only at whole numbers (no "0.5 values" between 0 and 1)."""

    def __init__(self, orientation: str = "left") -> None:
        super().__init__(orientation)
        self.whole_numbers = True  # off while it shows log10 of counts

    def tickValues(self, minVal: float, maxVal: float, size: float):
        levels = super().tickValues(minVal, maxVal, size)
        if not self.whole_numbers:
            return levels
        whole = [(max(spacing, 1.0), [value for value in values if float(value).is_integer()])
                 for spacing, values in levels]
        return [(spacing, values) for spacing, values in whole if values]


class SpacedAxis(pg.AxisItem):
    """An axis whose tick labels keep apart: a tick closer than ``min_gap`` pixels to one
    already kept (major ticks first) is dropped. pyqtgraph's log scale otherwise labels
    0.06, 0.07, 0.08… until they touch."""

    def __init__(self, orientation: str = "bottom", min_gap: int = 44) -> None:
        super().__init__(orientation)
        self.min_gap = min_gap

    def tickValues(self, minVal: float, maxVal: float, size: float):
        levels = super().tickValues(minVal, maxVal, size)
        span = abs(maxVal - minVal)
        if span <= 0 or size <= 0:
            return levels
        # ticks come in view coordinates (log10 of the values in log mode): distances scale linearly
        kept: list[float] = []
        spaced = []
        for spacing, values in levels:
            chosen = []
            for value in values:
                if all(abs(value - other) / span * size >= self.min_gap for other in kept):
                    kept.append(value)
                    chosen.append(value)
            spaced.append((spacing, chosen))
        return spaced
