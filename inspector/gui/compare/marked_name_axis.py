"""The change chart's name axis: when the names cannot all be shown, the selected row and the
rows marked with a star are named anyway, and the regular labels make way for them."""

from __future__ import annotations

import math

from inspector.gui.panels.name_axis import NameAxis


class MarkedNameAxis(NameAxis):
    def __init__(self, orientation: str = "left") -> None:
        super().__init__(orientation)
        self._marked: list[int] = []  # positions always named, the most important first

    def set_marked(self, positions: list[int]) -> None:
        """Name these positions whatever the spacing (earlier ones win when two collide)."""
        if positions != self._marked:
            self._marked = list(positions)
            self.picture = None
            self.update()

    def marked(self) -> list[int]:
        return list(self._marked)

    def tickValues(self, minVal: float, maxVal: float, size: float):
        levels = super().tickValues(minVal, maxVal, size)
        if not levels or not self._marked:
            return levels
        step, regular = levels[0]
        low, high = sorted((minVal, maxVal))
        named: list[int] = []
        for position in self._marked:
            if low <= position <= high and all(abs(position - other) >= step for other in named):
                named.append(position)
        kept = [value for value in regular if all(abs(value - other) >= step for other in named)]
        return [(step, sorted(kept + named))]

    def labels_shown(self, size: float) -> list[int]:
        """The positions named at ``size`` pixels for the whole range (for tests and hovering)."""
        values = self.tickValues(-0.5, len(self.names()) - 0.5, size)
        return [int(math.floor(value + 0.5)) for value in values[0][1]] if values else []
