"""A histogram of finite values: step curve, bin count, log-y toggle, NaN/Inf note."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QSpinBox, QVBoxLayout, QWidget

from inspector.core.histogram import Histogram
from inspector.gui.panels.plot_style import CountAxis, accent_color, style_plot, translucent, unbreakable, wrapping_label

DEFAULT_BINS = 100
MAX_BINS = 2000


class HistogramPlot(QWidget):
    """Shows one ``Histogram``; asks for a new one when the bin count changes."""

    binsChanged = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._data: Histogram | None = None
        self.count_axis = CountAxis("left")
        self.plot = pg.PlotWidget(axisItems={"left": self.count_axis})
        self.plot.setMenuEnabled(False)
        self.plot.getPlotItem().hideButtons()
        self.plot.setLabel("bottom", "value")
        self.plot.setLabel("left", "count")
        self.curve = self.plot.plot([0.0, 1.0], [0.0], stepMode="center")
        self.curve.setData([], [])
        self.bins_box = QSpinBox(minimum=2, maximum=MAX_BINS, value=DEFAULT_BINS)
        self.bins_box.setKeyboardTracking(False)
        self.bins_box.setPrefix("bins: ")
        self.log_box = QCheckBox("log y")
        self.note = wrapping_label()  # in a narrow panel the note takes a second line, never cut
        self.note.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.note.setObjectName("histogram_note")
        self._build_layout()
        self._apply_style()
        self.bins_box.valueChanged.connect(self._on_bins_box_changed)
        self.log_box.toggled.connect(self._on_log_box_toggled)

    def bins(self) -> int:
        return self.bins_box.value()

    def is_log(self) -> bool:
        return self.log_box.isChecked()

    def set_histogram(self, data: Histogram | None) -> None:
        self._data = data
        if data is None or data.edges is None:
            self.curve.setData([], [])
            self.note.setText("no finite values" if data is not None else "")
            return
        edges = np.asarray(data.edges, dtype=np.float64)
        self.curve.setData(edges, self._displayed_counts(data.counts), stepMode="center")
        self.note.setText(_note_text(data))
        self.plot.enableAutoRange()

    def set_message(self, text: str) -> None:
        """Clear the curve and say why (computing, error, not numeric)."""
        self._data = None
        self.curve.setData([], [])
        self.note.setText(text)

    def displayed_data(self) -> tuple[np.ndarray, np.ndarray]:
        """The curve's x (bin edges) and y (counts, log10 of counts in log mode)."""
        x, y = self.curve.getData()
        return (np.asarray(x) if x is not None else np.array([]),
                np.asarray(y) if y is not None else np.array([]))

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange:
            self._apply_style()
        super().changeEvent(event)

    def _displayed_counts(self, counts) -> np.ndarray:
        counts = np.asarray(counts, dtype=np.float64)
        if not self.is_log():
            return counts
        # empty bins have no logarithm: draw them half a decade below a single count
        return np.log10(np.where(counts > 0, counts, 10 ** -0.5))

    def _build_layout(self) -> None:
        controls = QHBoxLayout()
        controls.addWidget(self.bins_box)
        controls.addWidget(self.log_box)
        controls.addWidget(self.note, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addLayout(controls)
        layout.addWidget(self.plot, 1)

    def _apply_style(self) -> None:
        style_plot(self.plot, self)
        color = accent_color(self)
        self.curve.setPen(pg.mkPen(color, width=1.5))
        self.curve.setFillLevel(self._fill_level())
        self.curve.setBrush(pg.mkBrush(translucent(color, 90)))

    def _fill_level(self) -> float:
        return -0.5 if self.is_log() else 0.0

    def _on_bins_box_changed(self, bins: int) -> None:
        self.binsChanged.emit(bins)

    def _on_log_box_toggled(self, checked: bool) -> None:
        self.count_axis.whole_numbers = not checked
        self.plot.setLabel("left", "log10(count)" if checked else "count")
        self.curve.setFillLevel(self._fill_level())
        if self._data is not None:
            self.set_histogram(self._data)


def _note_text(data: Histogram) -> str:
    total = int(np.asarray(data.counts).sum())
    parts = [f"{total:,} finite values"]
    if data.nan or data.inf:
        parts.append(f"excluded: {data.nan:,} NaN, {data.inf:,} Inf")
    return " · ".join(unbreakable(part) for part in parts)
