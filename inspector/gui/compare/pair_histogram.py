"""A and B's histograms overlaid on the same bin edges, in the colours of each side."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QWidget

from inspector.core.compare_views import PairHistograms
from inspector.gui.compare.status_style import side_color
from inspector.gui.panels.histogram_plot import HistogramPlot
from inspector.gui.panels.plot_style import translucent

FILL_ALPHA = 60


class PairHistogramPlot(HistogramPlot):
    """``set_histogram`` takes a ``PairHistograms``; the bins box and log toggle work as in the
    tensor panel's histogram and apply to both curves."""

    def __init__(self, parent: QWidget | None = None) -> None:
        self.curve_b = None
        super().__init__(parent)
        self.curve_b = self.plot.plot([0.0, 1.0], [0.0], stepMode="center")
        self.curve_b.setData([], [])
        self.legend = self.plot.addLegend(offset=(-8, 8), colCount=2)  # one row: A and B side by side
        self.legend.addItem(self.curve, "A")
        self.legend.addItem(self.curve_b, "B")
        self._apply_style()

    def set_histogram(self, data: PairHistograms | None) -> None:
        self._data = data
        if data is None or data.edges is None:
            self._clear_curves()
            self.note.setText("no finite values" if data is not None else "")
            return
        edges = np.asarray(data.edges, dtype=np.float64)
        for curve, side in ((self.curve, data.a), (self.curve_b, data.b)):
            if side is None:
                curve.setData([], [])
            else:
                curve.setData(edges, self._displayed_counts(side.counts), stepMode="center")
        self.note.setText(_pair_note(data))
        self.plot.enableAutoRange()

    def set_message(self, text: str) -> None:
        super().set_message(text)
        if self.curve_b is not None:
            self.curve_b.setData([], [])

    def displayed_data_b(self) -> tuple[np.ndarray, np.ndarray]:
        x, y = self.curve_b.getData()
        return (np.asarray(x) if x is not None else np.array([]),
                np.asarray(y) if y is not None else np.array([]))

    def _clear_curves(self) -> None:
        self.curve.setData([], [])
        self.curve_b.setData([], [])

    def _apply_style(self) -> None:
        super()._apply_style()
        if self.curve_b is None:
            return
        for curve, side in ((self.curve, "A"), (self.curve_b, "B")):
            color = side_color(side)
            curve.setPen(pg.mkPen(color, width=1.5))
            curve.setFillLevel(self._fill_level())
            curve.setBrush(pg.mkBrush(translucent(color, FILL_ALPHA)))
        self.legend.setLabelTextColor(self.palette().color(QPalette.ColorRole.Text))

    def _on_log_box_toggled(self, checked: bool) -> None:
        super()._on_log_box_toggled(checked)
        self.curve_b.setFillLevel(self._fill_level())


def _pair_note(data: PairHistograms) -> str:
    """"1,200 finite values each", or each side's count, then what was left out."""
    sides = [(name, side) for name, side in (("A", data.a), ("B", data.b)) if side is not None]
    finite = [(name, int(np.asarray(side.counts).sum())) for name, side in sides]
    if len(finite) == 2 and finite[0][1] == finite[1][1]:
        text = f"{finite[0][1]:,} finite values each"
    else:
        text = " · ".join(f"{name}: {count:,}" for name, count in finite) + " finite values"
    excluded = [f"{name}: {side.nan:,} NaN, {side.inf:,} Inf" for name, side in sides if side.nan or side.inf]
    return " · ".join([text, *excluded])
