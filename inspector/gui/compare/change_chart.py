"""How much each tensor moved from A to B, one row per key in depth order: which layers did
fine-tuning change?

Relative L2 (‖B − A‖/‖A‖), max |Δ| or 1 − cosine, coloured by status. Bit-identical tensors keep
their place (a grey tick at the left edge in log scale), so untouched blocks read as gaps between
the layers that moved; keys without a value (other shape, one side only) are counted, not drawn.
A tensor with NaN or Inf on one side only is a red star past the largest change (its metrics,
over the positions finite on both sides, may well be zero), as in the tensor panel's chart.
Styled like the tensor panel's per-layer chart; hovering names the key, clicking selects it.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPointF, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QLabel, QWidget

from inspector.core.compare_state import CompareRow
from inspector.gui.compare.marked_name_axis import MarkedNameAxis
from inspector.gui.compare.status_style import status_color, status_label
from inspector.gui.panels.name_axis import name_axis_width
from inspector.gui.panels.plot_style import WARNING_COLOR, SpacedAxis, accent_color, shrinkable_label, style_plot
from inspector.gui.panels.row_chart import lay_out_row_chart, set_up_row_plot

METRICS = {"rel_l2": "relative L2", "max_abs": "max |Δ|", "cosine": "1 − cosine"}
# the x-axis title, longest first: the first that fits the plot's width is shown
AXIS_TITLES = {"rel_l2": ("relative L2 change ‖B − A‖ / ‖A‖", "relative L2 change", "rel. L2"),
               "max_abs": ("max |B − A|",), "cosine": ("1 − cosine(A, B)", "1 − cos")}
LOG_SUFFIXES = (" (log scale)", " (log)", "")  # any title with "log" before any without
SCOPES = ("weights (≥ 2-D)", "all tensors")
CHARTED_STATUSES = ("changed", "close", "dtype", "equal")
DRAWN_STATUSES = ("changed", "close", "dtype")  # equal tensors are the grey ticks
BAR_HEIGHT = 0.7
NOTHING_MOVED_LOG_RANGE = (1e-6, 1.0)  # decades from barely moved to moved as much as it is
OFF_SCALE = {True: 10.0, False: 1.15}  # stars sit this far past the largest change (log, linear)
X_PADDING = 0.05  # of the range: the outermost marks stay whole inside the plot


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
        self.metric_box.setToolTip("\n".join(titles[0] for titles in AXIS_TITLES.values()))
        self.scope_box = QComboBox()
        self.scope_box.addItems(SCOPES)
        self.log_box = QCheckBox("log scale", checked=True)
        self.summary = QLabel(wordWrap=True)
        self.summary.setMinimumWidth(0)
        self.hover = shrinkable_label()
        self.name_axis = MarkedNameAxis("left")
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
        self._mark_names()

    def metric_key(self) -> str:
        return list(METRICS)[self.metric_box.currentIndex()]

    def shown_rows(self) -> list[CompareRow]:
        return list(self._shown)

    def names(self) -> list[str]:
        return [row.key for row in self._shown]

    def values(self) -> np.ndarray:
        """The chosen metric of every charted row, top to bottom (NaN where undefined)."""
        return np.asarray([_metric(row, self.metric_key()) for row in self._shown], dtype=np.float64)

    def starred(self) -> np.ndarray:
        """Whether each charted row holds NaN or Inf on one side only (drawn as a red star)."""
        return np.asarray([row.non_finite_differs for row in self._shown], dtype=bool)

    def axis_title(self) -> str:
        return self.plot.getPlotItem().getAxis("bottom").labelText

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange:
            style_plot(self.plot, self)
            self._redraw()
        super().changeEvent(event)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_names_and_title()

    # -- drawing -----------------------------------------------------------------------
    def _build_plot_items(self) -> None:
        set_up_row_plot(self.plot)
        # one item per status: a brush per item draws far faster than a brush per row
        self.bars = {status: pg.BarGraphItem(x0=[], y=[], width=[], height=BAR_HEIGHT) for status in DRAWN_STATUSES}
        self.points = {status: pg.PlotDataItem([], [], pen=None, symbol="o", symbolSize=7)
                       for status in DRAWN_STATUSES}
        self.unchanged = pg.PlotDataItem([], [], pen=None, symbol="|", symbolSize=9)
        self.stars = pg.PlotDataItem([], [], pen=None, symbol="star", symbolSize=13,
                                     symbolPen=pg.mkPen(WARNING_COLOR), symbolBrush=WARNING_COLOR)
        self.current_line = pg.InfiniteLine(angle=0, movable=False)
        self.current_line.setVisible(False)
        for plotted in (*self.bars.values(), *self.points.values(), self.unchanged, self.stars, self.current_line):
            self.plot.addItem(plotted)

    def _redraw(self) -> None:
        self._shown = self._choose_rows()
        values, starred = self.values(), self.starred()
        positions = np.arange(len(self._shown), dtype=np.float64)
        log = self.log_box.isChecked()
        self.plot.setLogMode(x=log, y=False)
        statuses = np.asarray([row.status for row in self._shown], dtype=object)
        drawable = np.isfinite(values) & ((values > 0) if log else True) & ~starred
        for status in DRAWN_STATUSES:
            self._draw_status(status, values, positions, drawable & (statuses == status), log)
        scale = ChangeScale(values[~starred], log, bool(starred.any()))
        self.unchanged.setData(np.full(int(np.count_nonzero((values == 0) & ~starred)), scale.floor),
                               positions[(values == 0) & ~starred], symbolPen=pg.mkPen(status_color("equal"), width=2))
        self.stars.setData(np.full(int(starred.sum()), scale.ceiling), positions[starred])
        self._fit_names_and_title()
        self.summary.setText(self._summary_text(values, starred))
        self._draw_current()
        self._mark_names()
        self._fit_view(scale)

    def _fit_view(self, scale: ChangeScale) -> None:
        """Every row, and every mark whole: the range the scale spans, padded."""
        low, high = scale.span
        if scale.log:
            low, high = np.log10(low), np.log10(high)
        self.plot.setXRange(low, high, padding=X_PADDING)
        self.plot.setYRange(-0.5, max(len(self._shown), 1) - 0.5, padding=0)

    def _fit_names_and_title(self) -> None:
        """The name axis as wide as the names need (up to its share), and the longest x-axis
        title that fits the width left (pyqtgraph cuts a wider one at both ends)."""
        names_width = name_axis_width(self, self.names())
        self.name_axis.set_names(self.names(), names_width)
        log = self.log_box.isChecked()
        room = self.width() - names_width - 32  # the axis adds 12 to the names; the plot's margins
        metrics = self.fontMetrics()
        titles = AXIS_TITLES[self.metric_key()]
        candidates = ([title + suffix for title in titles for suffix in LOG_SUFFIXES[:-1]] + list(titles)
                      if log else list(titles))
        title = next((text for text in candidates if metrics.horizontalAdvance(text) <= room), candidates[-1])
        self.plot.setLabel("bottom", title)
        self.plot.getPlotItem().getAxis("bottom").setToolTip(candidates[0])

    def _mark_names(self) -> None:
        """The selected row is named on the axis whatever the spacing, then the starred rows."""
        current = [index for index, row in enumerate(self._shown) if row is self._current]
        self.name_axis.set_marked(current + [int(index) for index in np.flatnonzero(self.starred())])

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

    def _draw_current(self) -> None:
        row = self._current
        index = next((i for i, shown in enumerate(self._shown) if shown is row), None)
        self.current_line.setVisible(index is not None)
        if index is not None:
            self.current_line.setPen(pg.mkPen(accent_color(self), width=1.5))
            self.current_line.setValue(index)

    def _summary_text(self, values: np.ndarray, starred: np.ndarray) -> str:
        moved = int(np.count_nonzero(np.isfinite(values) & (values > 0) & ~starred))
        parts = [f"{len(self._shown):,} tensors in depth order", f"{moved:,} moved",
                 f"{int(np.count_nonzero((values == 0) & ~starred)):,} unchanged"]
        if starred.any():
            parts.append(f"<span style='color:{WARNING_COLOR.name()}'>★ {int(starred.sum()):,} with NaN/Inf "
                         "on one side</span>")
        left_out = {}
        for row in self._rows:
            if row.status not in CHARTED_STATUSES:
                left_out[row.status] = left_out.get(row.status, 0) + 1
        parts += [f"{count:,} {status_label(status)} (not charted)" for status, count in left_out.items()]
        return " · ".join(parts)

    def _build_layout(self) -> None:
        lay_out_row_chart(self, (self.metric_box, self.scope_box, self.log_box), self.summary, self.plot, self.hover)

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
        text = f"#{row.index} {row.key} · {status_label(row.status)}"
        if row.non_finite_differs:
            return f"{text} · {row.non_finite_note} · {self.metric_box.currentText()} over finite positions = {shown}"
        return f"{text} · {self.metric_box.currentText()} = {shown}"

    def _on_scene_mouse_moved(self, position: QPointF) -> None:
        index = self.row_at(position)
        self.hover.setText("" if index is None else self.hover_text(index))

    def _on_scene_mouse_clicked(self, event) -> None:
        index = self.row_at(event.scenePos())
        if index is not None:
            self.entryActivated.emit(self._shown[index])


class ChangeScale:
    """Where the marks go along x: ``floor`` for unchanged rows (zero, or a decade below the
    smallest change in log scale), ``ceiling`` for starred rows (past the largest change), and
    the ``span`` that shows them all. Nothing moved in log scale: six decades up to 1."""

    def __init__(self, values: np.ndarray, log: bool, stars: bool) -> None:
        self.log = log
        positive = values[np.isfinite(values) & (values > 0)]
        if log:
            self.floor, top = ((float(positive.min()) / 10, float(positive.max())) if positive.size
                               else NOTHING_MOVED_LOG_RANGE)
        else:
            self.floor, top = 0.0, float(positive.max()) if positive.size else 1.0
        self.ceiling = top * OFF_SCALE[log]
        self.span = (self.floor, self.ceiling if stars else top)


def _metric(row: CompareRow, key: str) -> float:
    if key == "cosine":
        return float("nan") if row.cosine is None else 1.0 - row.cosine
    value = getattr(row, key)
    return float("nan") if value is None else float(value)
