"""An axis that labels integer positions with names (the per-layer chart's tensors).

It labels every position when the names fit, else every n-th one, so zooming in shows more.
A name wider than the axis keeps what tells it from its neighbours: its inner components are
cut shorter (the longest first, each keeping its start and its number: "self_attn" → "self…",
"layer2" → "la…2"; the outermost last), its last component stays whole; only when that is not
enough is the shortened name elided in the middle.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetricsF

LINE_SPACING = 1.25  # label heights between two labelled positions
ELLIPSIS = "…"


class NameAxis(pg.AxisItem):
    def __init__(self, orientation: str = "left") -> None:
        super().__init__(orientation)
        self._names: list[str] = []
        self._text_width = 120
        self._shown: dict[str, str] = {}  # name -> its label at the current width

    def set_names(self, names: list[str], text_width: int) -> None:
        """Label position i with ``names[i]``, each at most ``text_width`` pixels wide."""
        self._names = list(names)
        self._text_width = max(text_width, 20)
        self._shown = {}
        self.setWidth(self._text_width + 12)
        self.picture = None
        self.update()

    def names(self) -> list[str]:
        return self._names

    def label_text(self, index: int) -> str:
        """What position ``index`` is labelled with (its name, shortened to fit)."""
        name = self._names[index] if 0 <= index < len(self._names) else ""
        if name not in self._shown:
            self._shown[name] = self._fitted(name)
        return self._shown[name]

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
        return [self.label_text(int(round(value))) for value in values]

    def _fitted(self, name: str) -> str:
        metrics = self._metrics()

        def fits(text: str) -> bool:
            return metrics.horizontalAdvance(text) <= self._text_width

        shorter = shortened(name, fits)
        if fits(shorter):
            return shorter
        return metrics.elidedText(shorter, Qt.TextElideMode.ElideMiddle, self._text_width)

    def _metrics(self) -> QFontMetricsF:
        return QFontMetricsF(self.style.get("tickFont") or self.font())


def shortened(name: str, fits: Callable[[str], bool]) -> str:
    """``name``, or its inner components cut shorter until it ``fits`` (the shortest form when
    nothing fits): first those after the outermost (longest first), then the outermost; the
    last component is never cut."""
    parts = name.split(".")
    if fits(name) or len(parts) == 1:
        return name
    first, *middle, last = parts
    candidate = name
    for limit in range(max((len(part) for part in middle), default=0) - 1, 1, -1):
        candidate = ".".join([first, *(cut_component(part, limit) for part in middle), last])
        if fits(candidate):
            return candidate
    middle = [cut_component(part, 2) for part in middle]
    for limit in range(len(first) - 1, 1, -1):
        candidate = ".".join([cut_component(first, limit), *middle, last])
        if fits(candidate):
            return candidate
    return candidate


def cut_component(part: str, limit: int) -> str:
    """``part`` in about ``limit`` characters: its start, "…", and its trailing number whole."""
    if len(part) <= limit or part.isdigit():
        return part
    number = part[len(part.rstrip("0123456789")):]
    keep = max(limit - len(number) - 1, 1)
    return part[:keep] + ELLIPSIS + number


def common_prefix(names: list[str]) -> str:
    """The dotted start all ``names`` share in whole components, leaving each its last one:
    "layer1." for "layer1.0.conv1.weight" and "layer1.1.conv2.weight"."""
    shared: list[str] = []
    for parts in zip(*(name.split(".")[:-1] for name in names)):
        if any(part != parts[0] for part in parts):
            break
        shared.append(parts[0])
    return "".join(part + "." for part in shared)


NAME_AXIS_SHARE = 0.5  # of a chart's width, at most, for the names on its axis


def name_axis_width(chart, names: list[str]) -> int:
    """How wide a chart's name axis is: its longest name (rounded up to whole pixels, so that
    name is not elided), up to a share of the chart's width."""
    metrics = QFontMetricsF(chart.font())
    widest = max((metrics.horizontalAdvance(name) for name in names), default=40)
    return int(min(math.ceil(widest), max(chart.width(), 200) * NAME_AXIS_SHARE))
