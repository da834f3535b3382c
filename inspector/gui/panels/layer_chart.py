"""One bar per tensor in depth order (std, L2 norm or max |x|): dead and exploding layers stand out.

Tensors that are all zeros (dead) get a red cross; bars far above the median of the
charted tensors (exploding) are orange. By default only weights (tensors of two or more
dimensions) are charted, as biases and norm scales start out constant. Hovering names the
tensor; clicking a bar emits ``tensorActivated``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPointF, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QVBoxLayout, QWidget

from inspector.core.layer_metrics import LayerMetrics
from inspector.gui.panels.plot_style import (
    CAUTION_COLOR, WARNING_COLOR, accent_color, integer_ticks, shrinkable_label, style_plot,
)

METRICS = (("std", "std"), ("l2_norm", "L2 norm"), ("max_abs", "max |x|"))
SCOPES = ("weights (≥ 2-D)", "all tensors")
EXPLODING_FACTOR = 10.0  # a metric this many times the median marks an exploding layer


class LayerChart(QWidget):
    tensorActivated = Signal(object)  # the tree node of the clicked bar

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._metrics = LayerMetrics()
        self.metric_box = QComboBox()
        for _key, title in METRICS:
            self.metric_box.addItem(title)
        self.scope_box = QComboBox()
        self.scope_box.addItems(SCOPES)
        self.log_box = QCheckBox("log y")
        self.log_box.setChecked(True)
        self.summary = shrinkable_label(align_right=True)
        self.hover = shrinkable_label()
        self.plot = pg.PlotWidget()
        self.plot.setMenuEnabled(False)
        self.plot.getPlotItem().hideButtons()
        self.plot.setLabel("bottom", "tensor (depth order)")
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.8)
        self.dead_marks = pg.ScatterPlotItem(symbol="x", size=9, pen=pg.mkPen(WARNING_COLOR, width=2))
        self.plot.addItem(self.bars)
        self.plot.addItem(self.dead_marks)
        self._build_layout()
        style_plot(self.plot, self)
        self.metric_box.currentIndexChanged.connect(self._on_metric_box_changed)
        self.scope_box.currentIndexChanged.connect(self._on_scope_box_changed)
        self.log_box.toggled.connect(self._on_log_box_toggled)
        self.plot.scene().sigMouseMoved.connect(self._on_scene_mouse_moved)
        self.plot.scene().sigMouseClicked.connect(self._on_scene_mouse_clicked)

    def set_metrics(self, metrics: LayerMetrics) -> None:
        self._metrics = metrics
        self.scope_box.blockSignals(True)
        self.scope_box.setCurrentIndex(0 if any(n >= 2 for n in metrics.ndims) else 1)
        self.scope_box.blockSignals(False)
        self._redraw()

    def clear(self, message: str = "") -> None:
        self.set_metrics(LayerMetrics())
        self.summary.setText(message)

    def metric_key(self) -> str:
        return METRICS[self.metric_box.currentIndex()][0]

    def set_all_tensors(self, all_tensors: bool) -> None:
        self.scope_box.setCurrentIndex(1 if all_tensors else 0)

    def shown(self) -> list[int]:
        """Indices (into the metrics) of the charted tensors, in depth order."""
        if self.scope_box.currentIndex() == 1:
            return list(range(len(self._metrics.names)))
        return [i for i, ndim in enumerate(self._metrics.ndims) if ndim >= 2]

    def values(self) -> np.ndarray:
        """The current metric of every bar, in depth order."""
        metric = getattr(self._metrics, self.metric_key())
        return np.asarray([metric[i] for i in self.shown()], dtype=np.float64)

    def names(self) -> list[str]:
        return [self._metrics.names[i] for i in self.shown()]

    def displayed_heights(self) -> np.ndarray:
        return np.asarray(self.bars.opts.get("height", []), dtype=np.float64)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange:
            style_plot(self.plot, self)
            self._redraw()
        super().changeEvent(event)

    def _redraw(self) -> None:
        values = self.values()
        x = np.arange(values.size, dtype=np.float64)
        bottom, heights = self._bar_geometry(values)
        dead = np.asarray([self._metrics.max_abs[i] == 0 for i in self.shown()], dtype=bool)
        exploding = _exploding(values)
        brushes = [self._bar_brush(d, e) for d, e in zip(dead, exploding)]
        self.bars.setOpts(x=x, height=heights, y0=bottom, width=0.8, brushes=brushes, pen=pg.mkPen(None))
        self.dead_marks.setData(x=x[dead], y=np.full(int(dead.sum()), bottom))
        integer_ticks(self.plot.getAxis("bottom"), values.size)
        title = METRICS[self.metric_box.currentIndex()][1]
        self.plot.setLabel("left", f"log10({title})" if self.log_box.isChecked() else title)
        self.summary.setText(_summary_text(self._metrics, values.size, dead, exploding))
        self.plot.autoRange()

    def _bar_geometry(self, values: np.ndarray) -> tuple[float, np.ndarray]:
        if not self.log_box.isChecked():
            return 0.0, values
        positive = values[values > 0]
        bottom = float(np.floor(np.log10(positive.min()))) - 1.0 if positive.size else 0.0
        logs = np.log10(np.where(values > 0, values, 1.0))
        return bottom, np.where(values > 0, logs - bottom, 0.0)

    def _bar_brush(self, dead: bool, exploding: bool) -> Any:
        if dead:
            return pg.mkBrush(WARNING_COLOR)
        return pg.mkBrush(CAUTION_COLOR if exploding else accent_color(self))

    def _build_layout(self) -> None:
        controls = QHBoxLayout()
        controls.addWidget(self.metric_box)
        controls.addWidget(self.scope_box)
        controls.addWidget(self.log_box)
        controls.addWidget(self.summary, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addLayout(controls)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.hover)

    def _bar_at(self, position: QPointF) -> int | None:
        shown = self.shown()
        if not self.plot.sceneBoundingRect().contains(position) or not shown:
            return None
        x = self.plot.getPlotItem().vb.mapSceneToView(position).x()
        index = int(round(x))
        return index if 0 <= index < len(shown) and abs(x - index) <= 0.4 else None

    def _on_metric_box_changed(self, _index: int) -> None:
        self._redraw()

    def _on_scope_box_changed(self, _index: int) -> None:
        self._redraw()

    def _on_log_box_toggled(self, _checked: bool) -> None:
        self._redraw()

    def _on_scene_mouse_moved(self, position: QPointF) -> None:
        index = self._bar_at(position)
        if index is None:
            self.hover.setText("")
            self.plot.setToolTip("")
            return
        text = f"#{index} {self.names()[index]}: {self.metric_box.currentText()} = {self.values()[index]:.6g}"
        self.hover.setText(text)
        self.plot.setToolTip(text)

    def _on_scene_mouse_clicked(self, event: Any) -> None:
        index = self._bar_at(event.scenePos())
        if index is not None:
            self.tensorActivated.emit(self._metrics.nodes[self.shown()[index]])


def _exploding(values: np.ndarray) -> np.ndarray:
    positive = values[values > 0]
    if positive.size < 3:
        return np.zeros(values.shape, dtype=bool)
    return values > EXPLODING_FACTOR * float(np.median(positive))


def _summary_text(metrics: LayerMetrics, shown: int, dead: np.ndarray, exploding: np.ndarray) -> str:
    parts = [f"{shown:,} of {len(metrics.names):,} tensors"]
    if metrics.skipped:
        parts.append(f"{metrics.skipped:,} more not charted")
    if metrics.unreadable:
        parts.append(f"{metrics.unreadable:,} unreadable")
    if dead.any():
        parts.append(f"{int(dead.sum())} all zero")
    if exploding.any():
        parts.append(f"{int(exploding.sum())} over {EXPLODING_FACTOR:g}× median")
    return " · ".join(parts)
