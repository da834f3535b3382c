"""One row per tensor in depth order (std, L2 norm or max |x|), named on the axis: is this
checkpoint healthy?

The numbers and flags come from ``core.layer_metrics``: a red star marks a tensor holding
NaN or Inf, a red cross a weight of all zeros, orange a tensor far above the median of its
own kind. Linear scale draws bars from zero; log scale draws points (a bar from an arbitrary
floor would mean nothing) on at least a decade, so close values stay close. The axis names
leave off the start every charted name shares (the selected module's path). Hovering names
the tensor; clicking emits ``tensorActivated``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPoint, QPointF, Signal
from PySide6.QtGui import QCursor, QFontMetrics
from PySide6.QtWidgets import QCheckBox, QComboBox, QLabel, QToolTip, QWidget

from inspector.core.layer_metrics import EXPLODING_FACTOR, METRICS, LayerMetrics, LayerRow, is_weight_kind
from inspector.gui.panels.layer_legend import Charted, legend_html, summary_text
from inspector.gui.panels.name_axis import NameAxis, common_prefix, name_axis_width
from inspector.gui.panels.plot_style import (
    CAUTION_COLOR, WARNING_COLOR, SpacedAxis, accent_color, shrinkable_label, style_plot,
)
from inspector.gui.panels.row_chart import lay_out_row_chart, set_up_row_plot
from inspector.gui.panels.value_range import linear_range, log_range

METRIC_TITLES = {"std": "std", "l2_norm": "L2 norm", "max_abs": "max |x|"}
SCOPES = ("weights (≥ 2-D)", "all tensors")
BAR_HEIGHT = 0.7


class LayerChart(QWidget):
    tensorActivated = Signal(object)  # the tree node of the clicked row

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._metrics = LayerMetrics()
        self._shown: list[int] = []  # indices into the metrics' rows, top to bottom
        self._prefix = ""  # the start every charted name shares, left off the axis
        self.metric_box = QComboBox()
        self.metric_box.addItems([METRIC_TITLES[key] for key in METRICS])
        self.scope_box = QComboBox()
        self.scope_box.addItems(SCOPES)
        self.log_box = QCheckBox("log scale")
        self.log_box.setChecked(True)
        self.summary = QLabel(wordWrap=True)
        self.summary.setMinimumWidth(0)
        self.legend = QLabel(wordWrap=True)
        self.legend.setMinimumWidth(0)
        self.hover = shrinkable_label()
        self.name_axis = NameAxis("left")
        self.plot = pg.PlotWidget(axisItems={"left": self.name_axis, "bottom": SpacedAxis("bottom")})
        self._build_plot_items()
        self._build_layout()
        style_plot(self.plot, self)
        self._connect()

    # -- interface ---------------------------------------------------------------------
    def set_metrics(self, metrics: LayerMetrics) -> None:
        self._metrics = metrics
        self._redraw()

    def clear(self, message: str = "") -> None:
        """Empty the chart and say why; the user's metric, scope and scale stay as chosen."""
        self.set_metrics(LayerMetrics())
        self.summary.setText(message)

    def metric_key(self) -> str:
        return METRICS[self.metric_box.currentIndex()]

    def set_all_tensors(self, all_tensors: bool) -> None:
        self.scope_box.setCurrentIndex(1 if all_tensors else 0)

    def shown_rows(self) -> list[LayerRow]:
        return [self._metrics.rows[index] for index in self._shown]

    def values(self) -> np.ndarray:
        """The current metric of every charted tensor, top to bottom (NaN where undefined)."""
        key = self.metric_key()
        return np.asarray([_number(getattr(row, key)) for row in self.shown_rows()], dtype=np.float64)

    def names(self) -> list[str]:
        return [row.name for row in self.shown_rows()]

    def axis_names(self) -> list[str]:
        """The names on the axis: without the start they all share."""
        return [name[len(self._prefix):] for name in self.names()]

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange:
            style_plot(self.plot, self)
            self._redraw()
        super().changeEvent(event)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_name_axis()

    # -- drawing -----------------------------------------------------------------------
    def _build_plot_items(self) -> None:
        set_up_row_plot(self.plot)
        self.bars = pg.BarGraphItem(x0=[], y=[], width=[], height=BAR_HEIGHT)
        self.points = pg.PlotDataItem([], [], pen=None, symbol="o", symbolSize=7)
        self.dead_marks = pg.PlotDataItem([], [], pen=None, symbol="x", symbolSize=11,
                                          symbolPen=pg.mkPen(WARNING_COLOR, width=2), symbolBrush=WARNING_COLOR)
        self.bad_value_marks = pg.PlotDataItem([], [], pen=None, symbol="star", symbolSize=13,
                                               symbolPen=pg.mkPen(WARNING_COLOR), symbolBrush=WARNING_COLOR)
        for item in (self.bars, self.points, self.dead_marks, self.bad_value_marks):
            self.plot.addItem(item)

    def _redraw(self) -> None:
        self._shown = self._choose_rows()
        rows = self.shown_rows()
        values = self.values()
        positions = np.arange(len(rows), dtype=np.float64)
        log = self.log_box.isChecked()
        self.plot.setLogMode(x=log, y=False)
        drawable = np.isfinite(values) & ((values > 0) if log else True)
        brushes = [pg.mkBrush(self._row_color(row)) for row in rows]
        self._draw_values(positions, values, drawable, brushes, log)
        marks = self._draw_marks(rows, positions, values, log)
        names = self.names()
        self._prefix = common_prefix(names) if len(names) > 1 else ""  # one name is shown whole
        self._fit_name_axis()
        title = METRIC_TITLES[self.metric_key()]
        self.plot.setLabel("bottom", f"{title} (log scale)" if log else title)
        self.summary.setText(summary_text(self._metrics, self._charted(rows, values, drawable, log)))
        self.legend.setText(legend_html(self, EXPLODING_FACTOR))
        self.hover.setText("")
        self._fit_ranges(np.concatenate([values[drawable], marks]), len(rows), log)

    def _charted(self, rows: list[LayerRow], values: np.ndarray, drawable: np.ndarray, log: bool) -> Charted:
        """How many rows are drawn, and why the others are not."""
        title = METRIC_TITLES[self.metric_key()]
        not_drawn: dict[str, list[LayerRow]] = {}
        drawn = 0
        for row, value, shown in zip(rows, values, drawable):
            if shown or _is_marked(row):
                drawn += 1
            else:
                why = f"no {title}" if not np.isfinite(value) else "zero, off the log scale"
                not_drawn.setdefault(why, []).append(row)
        asked_weights = self.scope_box.currentIndex() == 0
        return Charted(drawn, self._weights_only(), asked_weights and not self._weights_only() and bool(rows),
                       not_drawn, self._prefix)

    def _fit_ranges(self, xs: np.ndarray, count: int, log: bool) -> None:
        """Every point and mark inside, none on a border (log: at least a decade)."""
        low, high = log_range(xs) if log else linear_range(xs)
        self.plot.setXRange(low, high, padding=0)
        self.plot.setYRange(-0.5, max(count, 1) - 0.5, padding=0)

    def _choose_rows(self) -> list[int]:
        rows = self._metrics.rows
        if self._weights_only():
            return [index for index, row in enumerate(rows) if is_weight_kind(row.kind)]
        return list(range(len(rows)))

    def _weights_only(self) -> bool:
        """The weights scope, unless there are no weights here (then every tensor is charted)."""
        return self.scope_box.currentIndex() == 0 and any(is_weight_kind(row.kind) for row in self._metrics.rows)

    def _draw_values(self, positions: np.ndarray, values: np.ndarray, drawable: np.ndarray, brushes: list,
                     log: bool) -> None:
        shown_brushes = [brush for brush, shown in zip(brushes, drawable) if shown]
        if log:
            self.bars.setOpts(x0=[], y=[], width=[], height=BAR_HEIGHT)
            self.points.setData(values[drawable], positions[drawable], symbolBrush=shown_brushes, symbolPen=None)
        else:
            self.points.setData([], [])
            self.bars.setOpts(x0=np.zeros(int(drawable.sum())), y=positions[drawable], width=values[drawable],
                              height=BAR_HEIGHT, brushes=shown_brushes, pen=pg.mkPen(None))

    def _draw_marks(self, rows: list[LayerRow], positions: np.ndarray, values: np.ndarray, log: bool) -> np.ndarray:
        """Crosses at zero (or a decade left of the smallest value in log scale) for dead
        weights; stars at the value (or there) for tensors holding NaN or Inf. Returns where
        the marks are."""
        positive = values[np.isfinite(values) & (values > 0)]
        floor = float(positive.min()) / 10 if positive.size else 1e-3
        base = floor if log else 0.0
        dead = [i for i, row in enumerate(rows) if "dead" in row.flags]
        bad = [i for i, row in enumerate(rows) if {"nan", "inf"} & set(row.flags)]
        at = np.asarray([values[i] if np.isfinite(values[i]) and (values[i] > 0 or not log) else base for i in bad],
                        dtype=np.float64)
        self.dead_marks.setData(np.full(len(dead), base), positions[dead])
        self.bad_value_marks.setData(at, positions[bad])
        return np.concatenate([np.full(len(dead), base), at])

    def _row_color(self, row: LayerRow) -> Any:
        if "nan" in row.flags or "inf" in row.flags or "dead" in row.flags:
            return WARNING_COLOR
        return CAUTION_COLOR if "exploding" in row.flags else accent_color(self)

    def _fit_name_axis(self) -> None:
        names = self.axis_names()
        self.name_axis.set_names(names, name_axis_width(self, names))

    def _build_layout(self) -> None:
        lay_out_row_chart(self, (self.metric_box, self.scope_box, self.log_box), self.summary, self.plot,
                          self.legend, self.hover)

    def _connect(self) -> None:
        self.metric_box.currentIndexChanged.connect(self._on_metric_box_changed)
        self.scope_box.currentIndexChanged.connect(self._on_scope_box_changed)
        self.log_box.toggled.connect(self._on_log_box_toggled)
        self.plot.scene().sigMouseMoved.connect(self._on_scene_mouse_moved)
        self.plot.scene().sigMouseClicked.connect(self._on_scene_mouse_clicked)

    # -- pointer -----------------------------------------------------------------------
    def row_at(self, position: QPointF) -> int | None:
        """The charted row under a scene position (index into ``shown_rows()``)."""
        if not self._shown or not self.plot.getPlotItem().vb.sceneBoundingRect().contains(position):
            return None
        y = self.plot.getPlotItem().vb.mapSceneToView(position).y()
        index = int(round(y))
        return index if 0 <= index < len(self._shown) and abs(y - index) <= 0.5 else None

    def hover_text(self, index: int) -> str:
        row = self.shown_rows()[index]
        value = getattr(row, self.metric_key())
        shown = "–" if value is None else f"{value:.6g}"
        parts = [f"#{index} {row.name}", row.kind, f"{self.metric_box.currentText()} = {shown}"]
        if row.nan or row.inf:
            parts.append(f"{row.nan:,} NaN, {row.inf:,} Inf")
        if "dead" in row.flags:
            parts.append("all zeros")
        if "exploding" in row.flags:
            parts.append(f"RMS over {EXPLODING_FACTOR:g}× the median of its kind")
        return " · ".join(parts)

    def _on_metric_box_changed(self, _index: int) -> None:
        self._redraw()

    def _on_scope_box_changed(self, _index: int) -> None:
        self._redraw()

    def _on_log_box_toggled(self, _checked: bool) -> None:
        self._redraw()

    def _on_scene_mouse_moved(self, position: QPointF) -> None:
        index = self.row_at(position)
        if index is None:
            self.hover.setText("")
            QToolTip.hideText()
            return
        text = self.hover_text(index)
        self.hover.setText(text)
        self.hover.setToolTip(text)
        self._show_tooltip_inside_window(text)

    def _show_tooltip_inside_window(self, text: str) -> None:
        """At the pointer, moved left as far as needed to end inside the window."""
        window = self.window()
        right = window.mapToGlobal(QPoint(window.width(), 0)).x()
        width = QFontMetrics(QToolTip.font()).horizontalAdvance(text) + 24
        point = QCursor.pos()
        QToolTip.showText(QPoint(max(min(point.x() + 12, right - width), window.mapToGlobal(QPoint(0, 0)).x()),
                                 point.y() + 16), text, self.plot)

    def _on_scene_mouse_clicked(self, event: Any) -> None:
        index = self.row_at(event.scenePos())
        if index is not None:
            self.tensorActivated.emit(self.shown_rows()[index].node)


def _number(value: float | None) -> float:
    return float("nan") if value is None else float(value)


def _is_marked(row: LayerRow) -> bool:
    """Drawn as a mark whatever its value: all zeros, or holding NaN or Inf."""
    return bool({"dead", "nan", "inf"} & set(row.flags))
