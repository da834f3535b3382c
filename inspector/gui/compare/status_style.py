"""How statuses and amounts of change look in the compare view, in light and dark schemes."""

from __future__ import annotations

import math
from functools import cache

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap, QPolygonF

from inspector.core.diff_tree import STATUS_WORDS
from inspector.gui.panels.plot_style import WARNING_COLOR
from inspector.gui.window import theme

# (light, dark): readable as text on the palette's base and as a bar or chip fill
STATUS_COLORS = {
    "changed": ("#c62828", "#ff7b72"), "close": ("#2e7d32", "#7ee787"), "dtype": ("#6a1b9a", "#d2a8ff"),
    "shape": ("#b45309", "#f0883e"), "only_a": ("#1565c0", "#79c0ff"), "only_b": ("#ad1457", "#ff7eb6"),
    "equal": ("#6b7280", "#8b8f96"),
}
CHIP_ORDER = ("changed", "close", "dtype", "shape", "only_a", "only_b", "equal")
HEAT_RANGE = (-6.0, 0.0)  # log10 of relative change: from barely moved to changed as much as it is
HEAT_ALPHA = 110


def status_label(status: str) -> str:
    return STATUS_WORDS[status]


def status_color(status: str) -> QColor:
    light, dark = STATUS_COLORS[status]
    return QColor(dark if theme.is_dark() else light)


def heat_color(relative_change: float | None) -> QColor | None:
    """A translucent red whose strength follows log10 of a relative change (None: no tint)."""
    if relative_change is None or relative_change <= 0 or math.isnan(relative_change):
        return None
    low, high = HEAT_RANGE
    level = (min(max(math.log10(relative_change), low), high) - low) / (high - low) if math.isfinite(relative_change) else 1.0
    color = QColor(status_color("changed"))
    color.setAlpha(int(20 + level * (HEAT_ALPHA - 20)))
    return color


SIDE_STATUS = {"A": "only_a", "B": "only_b"}  # each side is drawn in the colour of its own keys


def side_color(side: str) -> QColor:
    return status_color(SIDE_STATUS[side])


@cache
def non_finite_icon(size: int = 12) -> QIcon:
    """A red five-pointed star: NaN or Inf on one side only (the per-layer charts' mark)."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(WARNING_COLOR)
    painter.drawPolygon(star_polygon(size / 2, size / 2, size / 2))
    painter.end()
    return QIcon(pixmap)


def star_polygon(x: float, y: float, radius: float) -> QPolygonF:
    points = []
    for corner in range(10):
        reach = radius if corner % 2 == 0 else radius * 0.45
        angle = math.pi / 2 + corner * math.pi / 5
        points.append(QPointF(x + reach * math.cos(angle), y - reach * math.sin(angle)))
    return QPolygonF(points)
