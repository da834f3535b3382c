"""How much each tensor moved from A to B, one row per key in depth order: which layers did
fine-tuning change?

Relative L2 (‖B − A‖/‖A‖), max |Δ| or 1 − cosine, coloured by status. Bit-identical tensors keep
their place (a grey tick at the left edge in log scale), so untouched blocks read as gaps between
the layers that moved; keys without a value (other shape, one side only) are counted, not drawn.
Styled like the tensor panel's per-layer chart; hovering names the key, clicking selects it.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPointF, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from inspector.core.compare_state import CompareRow
from inspector.gui.compare.status_style import status_color, status_label
from inspector.gui.panels.name_axis import NameAxis, name_axis_width
from inspector.gui.panels.plot_style import SpacedAxis, accent_color, shrinkable_label, style_plot

METRICS = {"rel_l2": "relative L2", "max_abs": "max |Δ|", "cosine": "1 − cosine"}
AXIS_TITLES = {"rel_l2": "relative L2 change ‖B − A‖ / ‖A‖", "max_abs": "max |B − A|", "cosine": "1 − cosine(A, B)"}
SCOPES = ("weights (≥ 2-D)", "all tensors")
CHARTED_STATUSES = ("changed", "close", "dtype", "equal")
DRAWN_STATUSES = ("changed", "close", "dtype")  # equal tensors are the grey ticks
BAR_HEIGHT = 0.7


class ChangeChart(QWidget):
    entryActivated = Signal(object)  # the CompareRow of the clicked row

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[CompareRow] = []
        self._shown: list[CompareRow] = []
        self._current: CompareRow | None = None
        self._stale = False  # rows changed while the chart was hidden: draw when shown
        self.metric_box = QComboBox()
        self.metric_box.addItems(list(METRICS.values()))
        self.metric_box.setToolTip("\n".join(AXIS_TITLES.values()))
        self.scope_box = QComboBox()
        self.scope_box.addItems(SCOPES)
        self.log_box = QCheckBox("log scale", checked=True)
        self.summary = QLabel(wordWrap=True)
        self.summary.setMinimumWidth(0)
        self.hover = shrinkable_label()
        self.name_axis = NameAxis("left")
        self.plot = pg.PlotWidget(axisItems={"left": self.name_axis, "bottom": SpacedAxis("bottom")})
        self._build_plot_items()
        self._build_layout()
        style_plot(self.plot, self)
        self._connect()

    # -- interface ---------------------------------------------------------------------
    def set_rows(self, rows: list[CompareRow]) -> None:
        """Every row of the comparison, in depth order (the chart picks what it can draw)."""
        self._rows = list(rows)
        self._shown = self._choose_rows()
        self._stale = not self.isVisible()
        if not self._stale:
            self._redraw()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._stale:
            self._stale = False
            self._redraw()

    def set_current(self, entry: CompareRow | None) -> None:
        self._current = entry
        self._draw_current()

    def metric_key(self) -> str:
        return list(METRICS)[self.metric_box.currentIndex()]

    def shown_rows(self) -> list[CompareRow]:
        return list(self._shown)

    def names(self) -> list[str]:
        return [row.key for row in self._shown]

    def values(self) -> np.ndarray:
        """The chosen metric of every charted row, top to bottom (NaN where undefined)."""
        return np.asarray([_metric(row, self.metric_key()) for row in self._shown], dtype=np.float64)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange:
            style_plot(self.plot, self)
            self._redraw()
        super().changeEvent(event)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.name_axis.set_names(self.names(), name_axis_width(self, self.names()))

    # -- drawing -----------------------------------------------------------------------
    def _build_plot_items(self) -> None:
        self.plot.setMenuEnabled(False)
        item = self.plot.getPlotItem()
        item.hideButtons()
        item.invertY(True)  # depth order reads top to bottom, like the table's Key order
        item.setMouseEnabled(x=False, y=True)
        # one item per status: a brush per item draws far faster than a brush per row
        self.bars = {status: pg.BarGraphItem(x0=[], y=[], width=[], height=BAR_HEIGHT) for status in DRAWN_STATUSES}
        self.points = {status: pg.PlotDataItem([], [], pen=None, symbol="o", symbolSize=7)
                       for status in DRAWN_STATUSES}
        self.unchanged = pg.PlotDataItem([], [], pen=None, symbol="|", symbolSize=9)
        self.current_line = pg.InfiniteLine(angle=0, movable=False)
        self.current_line.setVisible(False)
        for plotted in (*self.bars.values(), *self.points.values(), self.unchanged, self.current_line):
            self.plot.addItem(plotted)

    def _redraw(self) -> None:
        self._shown = self._choose_rows()
        values = self.values()
        positions = np.arange(len(self._shown), dtype=np.float64)
        log = self.log_box.isChecked()
        self.plot.setLogMode(x=log, y=False)
        statuses = np.asarray([row.status for row in self._shown], dtype=object)
        drawable = np.isfinite(values) & ((values > 0) if log else True)
        for status in DRAWN_STATUSES:
            self._draw_status(status, values, positions, drawable & (statuses == status), log)
        floor = self._draw_unchanged(positions, values, log)
        self.name_axis.set_names(self.names(), name_axis_width(self, self.names()))
        title = AXIS_TITLES[self.metric_key()]
        self.plot.setLabel("bottom", f"{title} (log scale)" if log else title)
        self.summary.setText(self._summary_text(values))
        self._draw_current()
        self.plot.autoRange()
        if log and not np.any(drawable):  # nothing moved: a decade either side of the ticks
            self.plot.setXRange(np.log10(floor) - 1, np.log10(floor) + 1, padding=0)

    def _draw_status(self, status: str, values: np.ndarray, positions: np.ndarray, keep: np.ndarray,
                     log: bool) -> None:
        """Points (log scale) or bars from zero (linear scale) for the rows of one status."""
        brush = pg.mkBrush(status_color(status))
        if log:
            self.bars[status].setOpts(x0=[], y=[], width=[], height=BAR_HEIGHT)
            self.points[status].setData(values[keep], positions[keep], symbolPen=None, symbolBrush=brush)
        else:
            self.points[status].setData([], [])
            self.bars[status].setOpts(x0=np.zeros(int(keep.sum())), y=positions[keep], width=values[keep],
                                      height=BAR_HEIGHT, brush=brush, pen=pg.mkPen(None))

    def _choose_rows(self) -> list[CompareRow]:
        rows = [row for row in self._rows if row.status in CHARTED_STATUSES]
        if self.scope_box.currentIndex() == 0 and any(row.ndim >= 2 for row in rows):
            rows = [row for row in rows if row.ndim >= 2]
        return rows

    def _draw_unchanged(self, positions: np.ndarray, values: np.ndarray, log: bool) -> float:
        """Zero change: a tick at the left edge in log scale (where zero cannot be drawn); that edge."""
        zero = values == 0
        positive = values[np.isfinite(values) & (values > 0)]
        floor = float(positive.min()) / 10 if positive.size else 1e-8
        self.unchanged.setData(np.full(int(zero.sum()), floor if log else 0.0), positions[zero],
                               symbolPen=pg.mkPen(status_color("equal"), width=2))
        return floor

    def _draw_current(self) -> None:
        row = self._current
        index = next((i for i, shown in enumerate(self._shown) if shown is row), None)
        self.current_line.setVisible(index is not None)
        if index is not None:
            self.current_line.setPen(pg.mkPen(accent_color(self), width=1.5))
            self.current_line.setValue(index)

    def _summary_text(self, values: np.ndarray) -> str:
        moved = int(np.count_nonzero(np.isfinite(values) & (values > 0)))
        parts = [f"{len(self._shown):,} tensors in depth order", f"{moved:,} moved",
                 f"{int(np.count_nonzero(values == 0)):,} unchanged"]
        left_out = {}
        for row in self._rows:
            if row.status not in CHARTED_STATUSES:
                left_out[row.status] = left_out.get(row.status, 0) + 1
        parts += [f"{count:,} {status_label(status)} (not charted)" for status, count in left_out.items()]
        return " · ".join(parts)

    def _build_layout(self) -> None:
        controls = QHBoxLayout()
        for widget in (self.metric_box, self.scope_box, self.log_box):
            controls.addWidget(widget)
        controls.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addLayout(controls)
        layout.addWidget(self.summary)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.hover)

    def _connect(self) -> None:
        for box in (self.metric_box, self.scope_box):
            box.currentIndexChanged.connect(lambda _index: self._redraw())
        self.log_box.toggled.connect(lambda _checked: self._redraw())
        self.plot.scene().sigMouseMoved.connect(self._on_scene_mouse_moved)
        self.plot.scene().sigMouseClicked.connect(self._on_scene_mouse_clicked)

    # -- pointer -----------------------------------------------------------------------
    def row_at(self, position: QPointF) -> int | None:
        view_box = self.plot.getPlotItem().vb
        if not self._shown or not view_box.sceneBoundingRect().contains(position):
            return None
        y = view_box.mapSceneToView(position).y()
        index = int(round(y))
        return index if 0 <= index < len(self._shown) and abs(y - index) <= 0.5 else None

    def hover_text(self, index: int) -> str:
        row = self._shown[index]
        value = _metric(row, self.metric_key())
        shown = "–" if not np.isfinite(value) else f"{value:.6g}"
        return f"#{row.index} {row.key} · {status_label(row.status)} · {self.metric_box.currentText()} = {shown}"

    def _on_scene_mouse_moved(self, position: QPointF) -> None:
        index = self.row_at(position)
        self.hover.setText("" if index is None else self.hover_text(index))

    def _on_scene_mouse_clicked(self, event) -> None:
        index = self.row_at(event.scenePos())
        if index is not None:
            self.entryActivated.emit(self._shown[index])


def _metric(row: CompareRow, key: str) -> float:
    if key == "cosine":
        return float("nan") if row.cosine is None else 1.0 - row.cosine
    value = getattr(row, key)
    return float("nan") if value is None else float(value)
