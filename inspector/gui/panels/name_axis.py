"""An axis that labels integer positions with names (the per-layer chart's tensors).

It labels every position when the names fit, else every n-th one, so zooming in shows more;
names wider than the axis are elided in the middle (the layer's start and the leaf stay).
"""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics

LINE_SPACING = 1.25  # label heights between two labelled positions


class NameAxis(pg.AxisItem):
    def __init__(self, orientation: str = "left") -> None:
        super().__init__(orientation)
        self._names: list[str] = []
        self._text_width = 120

    def set_names(self, names: list[str], text_width: int) -> None:
        """Label position i with ``names[i]``, each at most ``text_width`` pixels wide."""
        self._names = list(names)
        self._text_width = max(text_width, 20)
        self.setWidth(self._text_width + 12)
        self.picture = None
        self.update()

    def names(self) -> list[str]:
        return self._names

    def tickValues(self, minVal: float, maxVal: float, size: float):
        low, high = sorted((minVal, maxVal))
        first, last = max(math.ceil(low), 0), min(math.floor(high), len(self._names) - 1)
        if last < first or size <= 0:
            return []
        line = self._metrics().height() * LINE_SPACING
        per_pixel = (high - low) / size
        step = max(1, math.ceil(line * per_pixel))
        return [(step, list(range(first - first % step, last + 1, step)))]

    def tickStrings(self, values, scale, spacing) -> list[str]:
        metrics = self._metrics()
        strings = []
        for value in values:
            index = int(round(value))
            name = self._names[index] if 0 <= index < len(self._names) else ""
            strings.append(metrics.elidedText(name, Qt.TextElideMode.ElideMiddle, self._text_width))
        return strings

    def _metrics(self) -> QFontMetrics:
        return QFontMetrics(self.style.get("tickFont") or self.font())


NAME_AXIS_SHARE = 0.4  # of a chart's width, at most, for the names on its axis


def name_axis_width(chart, names: list[str]) -> int:
    """How wide a chart's name axis is: its longest name, up to a share of the chart's width."""
    metrics = QFontMetrics(chart.font())
    widest = max((metrics.horizontalAdvance(name) for name in names), default=40)
    return int(min(widest, max(chart.width(), 200) * NAME_AXIS_SHARE))
