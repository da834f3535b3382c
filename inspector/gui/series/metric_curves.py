"""The metrics each checkpoint records, as curves over the series' steps or epochs.

Names are the files' own (``val_loss``, ``best_model_score``, ``eval_loss``…); each can be
shown or hidden, and the y axis put on a log scale (losses span decades). The list of names,
each with its curve's colour, is the legend: nothing is drawn over the curves.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from inspector.gui.panels.plot_style import style_plot

SHOWN_AT_FIRST = 4  # curves ticked when a series arrives; the rest one click away
# matplotlib's tab10: told apart on light and dark backgrounds
COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
          "#17becf")
ColorRole = Qt.ItemDataRole.UserRole + 1  # a list item's curve colour (its swatch)
SWATCH_SIZE = (18, 10)


class MetricCurves(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._curves: dict[str, np.ndarray] = {}
        self._x = np.array([])
        self.names = QListWidget()
        self.names.setMaximumWidth(180)
        self.log_box = QCheckBox("log y")
        self.empty = QLabel("These checkpoints record no metrics (loss, scores…).", wordWrap=True)
        self.plot = pg.PlotWidget()
        self.plot.setMenuEnabled(False)
        self.plot.getPlotItem().hideButtons()
        self._build_layout()
        style_plot(self.plot, self)
        self.names.itemChanged.connect(self._on_names_item_changed)
        self.log_box.toggled.connect(self._on_log_box_toggled)

    def set_curves(self, curves: dict[str, np.ndarray], x: np.ndarray, axis: str) -> None:
        """Show ``curves`` (name → one value per checkpoint, NaN where not recorded) over ``x``."""
        shown = self.shown_names() if list(curves) == list(self._curves) else list(curves)[:SHOWN_AT_FIRST]
        self._curves, self._x = curves, np.asarray(x, dtype=np.float64)
        self.names.blockSignals(True)
        self.names.clear()
        for index, name in enumerate(curves):
            item = QListWidgetItem(name)
            color = curve_color(index)
            item.setData(ColorRole, color)
            item.setIcon(_swatch(color))
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if name in shown else Qt.CheckState.Unchecked)
            self.names.addItem(item)
        self.names.blockSignals(False)
        self.plot.setLabel("bottom", axis)
        self.empty.setVisible(not curves)
        self._redraw()

    def shown_names(self) -> list[str]:
        items = (self.names.item(row) for row in range(self.names.count()))
        return [item.text() for item in items if item.checkState() == Qt.CheckState.Checked]

    def curve_data(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """What is drawn for ``name``: x and y of the recorded points."""
        item = self.curve_item(name)
        if item is None:
            return np.array([]), np.array([])
        x, y = item.getData()
        return np.asarray(x), np.asarray(y)

    def curve_item(self, name: str) -> pg.PlotDataItem | None:
        return next((item for item in self.plot.getPlotItem().listDataItems() if item.name() == name), None)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange:
            style_plot(self.plot, self)
        super().changeEvent(event)

    def _redraw(self) -> None:
        self.plot.clear()
        log = self.log_box.isChecked()
        self.plot.setLogMode(x=False, y=log)
        for index, name in enumerate(self._curves):
            if name not in self.shown_names():
                continue
            y = self._curves[name]
            keep = np.isfinite(y) & np.isfinite(self._x) & ((y > 0) if log else True)
            if not keep.any():
                continue
            color = curve_color(index).name()
            self.plot.plot(self._x[keep], y[keep], pen=pg.mkPen(color, width=2), symbol="o", symbolSize=5,
                           symbolBrush=color, symbolPen=None, name=name)
        self.plot.enableAutoRange()

    def _build_layout(self) -> None:
        side = QVBoxLayout()
        side.addWidget(self.names, 1)
        side.addWidget(self.log_box)
        row = QHBoxLayout()
        row.addLayout(side)
        row.addWidget(self.plot, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.empty)
        layout.addLayout(row, 1)

    def _on_names_item_changed(self, _item: QListWidgetItem) -> None:
        self._redraw()

    def _on_log_box_toggled(self, _checked: bool) -> None:
        self._redraw()


def curve_color(index: int) -> QColor:
    return QColor(COLORS[index % len(COLORS)])


def _swatch(color: QColor) -> QIcon:
    """A short stretch of the curve: its line and a point, as drawn on the plot."""
    width, height = SWATCH_SIZE
    pixmap = QPixmap(width, height)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QPen(color, 2))
    painter.drawLine(QPointF(1, height / 2), QPointF(width - 1, height / 2))
    painter.setBrush(color)
    painter.drawEllipse(QPointF(width / 2, height / 2), 2.5, 2.5)
    painter.end()
    return QIcon(pixmap)
