"""One tensor's distribution over the checkpoints, for the range the slider selects.

Two views of the same data (``core.series_histograms``): percentile bands (TensorBoard's
"distributions": min–max, ±1.5σ and ±1σ percentiles around the median, over steps or epochs)
and a ridgeline (TensorBoard's "offset" histograms: one per checkpoint, stacked). Every
checkpoint is kept; nothing is sampled away.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget
from superqt import QLabeledRangeSlider

from inspector.gui.panels.plot_style import accent_color, style_plot, translucent

MODES = ("percentile bands", "ridgeline")
BAND_PAIRS = ((0, 6, 45), (1, 5, 80), (2, 4, 120))  # (lower band, upper band, fill alpha): min–max, ±1.5σ, ±1σ
MEDIAN = 3
RIDGE_HEIGHT = 1.6  # a ridge's tallest bin, in checkpoint spacings (ridges overlap a little)


class DistributionView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._entries: list = []
        self._x = np.array([])
        self._labels: list[str] = []
        self._axis_name = "checkpoint"
        self.title = QLabel("Click a row of the heatmap to see that tensor's values over the series.", wordWrap=True)
        self.mode_box = QComboBox()
        self.mode_box.addItems(MODES)
        self.range_slider = QLabeledRangeSlider(Qt.Orientation.Horizontal)
        self.range_slider.setToolTip("The checkpoints shown")
        self.plot = pg.PlotWidget()
        self.plot.setMenuEnabled(False)
        self.plot.getPlotItem().hideButtons()
        self._build_layout()
        style_plot(self.plot, self)
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        self.mode_box.currentIndexChanged.connect(self._on_mode_box_changed)
        self.range_slider.valueChanged.connect(self._on_range_slider_changed)

    # -- interface ---------------------------------------------------------------------
    def set_axis(self, x: np.ndarray, labels: list[str], axis_name: str) -> None:
        """Where each checkpoint sits (the series' x values) and what it is called."""
        count_changed = len(labels) != len(self._labels)
        self._x, self._labels, self._axis_name = np.asarray(x, dtype=np.float64), list(labels), axis_name
        if count_changed:
            self.range_slider.blockSignals(True)
            self.range_slider.setRange(0, max(len(labels) - 1, 0))
            self.range_slider.setValue((0, max(len(labels) - 1, 0)))
            self.range_slider.blockSignals(False)
        self.redraw()

    def start(self, key: str) -> None:
        """A new tensor: its entries will arrive one checkpoint at a time."""
        self._entries = [None] * len(self._labels)
        self.title.setText(f"{_heading(key)} · reading…")
        self.redraw()

    def set_entry(self, index: int, entry: dict | None) -> None:
        if 0 <= index < len(self._entries):
            self._entries[index] = entry

    def finish(self, key: str, message: str = "") -> None:
        errors = [entry["error"] for entry in self._entries if isinstance(entry, dict) and "error" in entry]
        text = _heading(key) + (f" · {message}" if message else "")
        if errors:
            text += f" · {len(errors)} checkpoint(s) unreadable: {errors[0]}"
        self.title.setText(text)
        self.redraw()

    def shown_range(self) -> tuple[int, int]:
        low, high = self.range_slider.value()
        return int(low), int(high)

    def set_shown_range(self, low: int, high: int) -> None:
        self.range_slider.setValue((low, high))

    def band_data(self) -> tuple[np.ndarray, np.ndarray]:
        """x and the seven bands (rows: min, −1.5σ, −1σ, median, +1σ, +1.5σ, max) of the
        checkpoints shown; NaN where a checkpoint has no values."""
        indices = self._shown_indices()
        bands = np.full((7, len(indices)), np.nan)
        for column, index in enumerate(indices):
            entry = self._entries[index] if index < len(self._entries) else None
            if _has_values(entry):
                bands[:, column] = [np.nan if value is None else value for value in entry["bands"]]
        return self._x[indices] if len(self._x) else np.asarray(indices, dtype=np.float64), bands

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange:
            style_plot(self.plot, self)
            self.redraw()
        super().changeEvent(event)

    # -- drawing -----------------------------------------------------------------------
    def redraw(self) -> None:
        self.plot.clear()
        if self.mode_box.currentIndex() == 0:
            self._draw_bands()
        else:
            self._draw_ridges()
        self.plot.enableAutoRange()

    def _shown_indices(self) -> list[int]:
        if not self._labels:
            return []
        low, high = self.shown_range()
        return list(range(low, min(high, len(self._labels) - 1) + 1))

    def _draw_bands(self) -> None:
        x, bands = self.band_data()
        color = accent_color(self)
        self._set_axes(left=None, bottom=self._axis_name)
        if not np.isfinite(bands).any():
            return
        for lower, upper, alpha in BAND_PAIRS:
            low = pg.PlotDataItem(x, bands[lower], connect="finite", pen=pg.mkPen(translucent(color, alpha)))
            high = pg.PlotDataItem(x, bands[upper], connect="finite", pen=pg.mkPen(translucent(color, alpha)))
            self.plot.addItem(low)
            self.plot.addItem(high)
            self.plot.addItem(pg.FillBetweenItem(low, high, brush=pg.mkBrush(translucent(color, alpha))))
        self.plot.plot(x, bands[MEDIAN], connect="finite", pen=pg.mkPen(color, width=2), symbol="o", symbolSize=4,
                       symbolBrush=color, symbolPen=None)

    def _draw_ridges(self) -> None:
        color = accent_color(self)
        ticks = []
        for offset, index in enumerate(self._shown_indices()):
            entry = self._entries[index] if index < len(self._entries) else None
            ticks.append((offset, self._labels[index]))
            if not _has_values(entry) or not entry["counts"]:
                continue
            counts = np.asarray(entry["counts"], dtype=np.float64)
            heights = offset + RIDGE_HEIGHT * counts / counts.max()
            self.plot.plot(np.asarray(entry["edges"]), heights, stepMode="center", fillLevel=offset,
                           pen=pg.mkPen(color), brush=pg.mkBrush(translucent(color, 70)))
        self._set_axes(left=ticks, bottom="value")

    def _set_axes(self, left: list | None, bottom: str) -> None:
        axis = self.plot.getAxis("left")
        axis.setTicks([left] if left is not None else None)
        self.plot.setLabel("left", "" if left is not None else "value")
        self.plot.setLabel("bottom", bottom)

    def _build_layout(self) -> None:
        controls = QHBoxLayout()
        controls.addWidget(self.mode_box)
        controls.addWidget(QLabel("checkpoints:"))
        controls.addWidget(self.range_slider, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addLayout(controls)
        layout.addWidget(self.plot, 1)

    def _on_mode_box_changed(self, _index: int) -> None:
        self.redraw()

    def _on_range_slider_changed(self, _value) -> None:
        self.redraw()


def _has_values(entry: object) -> bool:
    return isinstance(entry, dict) and "bands" in entry and entry["bands"][0] is not None


def _heading(key: str) -> str:
    return f"Distribution of {key} over the series"
