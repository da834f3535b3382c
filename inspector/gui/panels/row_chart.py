"""What the charts of named rows share (the per-layer chart, the compare view's change chart):
a plot read top to bottom in depth order, its controls and summary above it."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtWidgets import QHBoxLayout, QVBoxLayout, QWidget


def set_up_row_plot(plot: pg.PlotWidget) -> None:
    """Rows in depth order, top to bottom like the tree; scrolled vertically only, no menu."""
    plot.setMenuEnabled(False)
    item = plot.getPlotItem()
    item.hideButtons()
    item.invertY(True)
    item.setMouseEnabled(x=False, y=True)


def lay_out_row_chart(chart: QWidget, controls: tuple[QWidget, ...], summary: QWidget, plot: QWidget,
                      *below: QWidget) -> None:
    """Controls in a row, the summary, the plot taking the height left, then ``below``."""
    row = QHBoxLayout()
    for widget in controls:
        row.addWidget(widget)
    row.addStretch(1)
    layout = QVBoxLayout(chart)
    layout.setContentsMargins(0, 4, 0, 0)
    layout.addLayout(row)
    layout.addWidget(summary)
    layout.addWidget(plot, 1)
    for widget in below:
        layout.addWidget(widget)
