"""The selected key, A and B side by side: their statistics and the diff's numbers, overlaid
histograms on shared edges, a histogram of Δ, and heatmaps of A, B and Δ.

Values are read on plot threads, one runner per kind of result (latest wins), after a short
debounce like the tensor panel's. ``plotsFinished`` fires once everything for the key is drawn.
On a short panel the statistics become the first tab, so that the plots keep their height.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QSplitter, QStackedWidget, QTabWidget, QVBoxLayout, QWidget

from inspector.core import compare_views
from inspector.core.compare_state import CompareRow
from inspector.gui.compare.pair_heatmaps import PairHeatmaps
from inspector.gui.compare.pair_histogram import PairHistogramPlot
from inspector.gui.compare.pair_stats import PairStatsView
from inspector.gui.compare.status_style import status_label
from inspector.gui.formatting import shape_text
from inspector.gui.panels.histogram_plot import HistogramPlot
from inspector.gui.panels.node_header import NodeHeader
from inspector.gui.workers.plot_channels import PlotChannels
from inspector.gui.workers.plot_runner import PlotRunner

DEBOUNCE_MS = 70
RUNNERS = ("stats", "histogram", "delta", "heatmap")
PLOT_MIN_HEIGHT = 72
COMPACT_BELOW = 480  # panel height (px) under which the statistics move into a tab of their own


class KeyPanel(QWidget):
    plotsFinished = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._entry: CompareRow | None = None
        self._stats: compare_views.PairStats | None = None
        self._build_widgets()
        self._channels = self._make_channels()
        self._connect()
        self.show_entry(None)

    # -- interface ---------------------------------------------------------------------
    def show_entry(self, entry: CompareRow | None) -> None:
        """Show ``entry`` (None: a hint); its values are read in the background."""
        self._channels.cancel_all()
        self._entry, self._stats = entry, None
        if entry is None:
            self.pages.setCurrentWidget(self.empty_page)
            return
        self.header.show_node(SimpleNamespace(name=entry.key, key=entry.key), _details(entry))
        self.stats_view.set_entry(entry)
        self.stats_view.set_stats(None)
        self.histogram.set_message("computing…")
        self.delta_histogram.set_message("computing…" if _has_delta(entry) else _no_delta_reason(entry))
        tensor = entry.tensor_a or entry.tensor_b
        if tensor is not None:
            self.heatmaps.configure(tensor.shape, tensor.is_contiguous())
        self.tabs.setTabEnabled(self.tabs.indexOf(self.heatmaps), entry.ndim >= 2)
        self.pages.setCurrentWidget(self.key_page)
        self._channels.restart()

    def entry(self) -> CompareRow | None:
        return self._entry

    def is_busy(self) -> bool:
        return self._channels.is_busy()

    def runner(self, name: str) -> PlotRunner:
        return self._channels.runner(name)

    def shutdown(self) -> None:
        self._channels.shutdown()

    def statistics_in_tab(self) -> bool:
        return self._compact

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._place_statistics(event.size().height() < COMPACT_BELOW)

    def _place_statistics(self, compact: bool) -> None:
        """Above the plots, or (``compact``) in the first tab, the current tab staying current."""
        if compact == self._compact:
            return
        self._compact = compact
        current = self.tabs.currentWidget()
        if compact:
            self.key_page.layout().removeWidget(self.stats_view)
            self.stats_tab.layout().insertWidget(0, self.stats_view)
            self.tabs.insertTab(0, self.stats_tab, "Statistics")
        else:
            self.tabs.removeTab(self.tabs.indexOf(self.stats_tab))
            self.key_page.layout().insertWidget(1, self.stats_view)
        self.stats_view.show()
        if current is not None and current is not self.stats_tab:
            self.tabs.setCurrentWidget(current)

    # -- jobs --------------------------------------------------------------------------
    def _on_channels_due(self) -> None:
        entry = self._entry
        a, b = entry.tensor_a, entry.tensor_b
        if a is None and b is None:
            self.histogram.set_message("no values in either file")
        else:
            self._channels.submit("stats", lambda: compare_views.pair_stats_job(a, b))
            if _has_delta(entry):
                self._submit_delta()
            if entry.ndim >= 2:
                self._submit_heatmap()

    def _submit_histogram(self) -> None:
        entry, bins, stats = self._entry, self.histogram.bins(), self._stats
        self.histogram.set_message("computing…")
        self._channels.submit("histogram", lambda: compare_views.pair_histograms_job(entry.tensor_a, entry.tensor_b, bins, stats))

    def _submit_delta(self) -> None:
        entry, bins = self._entry, self.delta_histogram.bins()
        self.delta_histogram.set_message("computing…")
        self._channels.submit("delta", lambda: compare_views.delta_histogram_job(entry.tensor_a, entry.tensor_b, bins))

    def _submit_heatmap(self) -> None:
        entry, request = self._entry, self.heatmaps.request()
        self._channels.submit("heatmap", lambda: compare_views.pair_slices_job(entry.tensor_a, entry.tensor_b, request))

    # -- results -----------------------------------------------------------------------
    def _on_runner_finished(self, kind: str, result: Any) -> None:
        if kind == "stats":
            self._stats = result
            self.stats_view.set_stats(result)
            self._submit_histogram()
        elif kind == "histogram":
            self.histogram.set_histogram(result)
        elif kind == "delta":
            self.delta_histogram.set_histogram(result)
        else:
            self.heatmaps.set_slices(result)

    def _on_runner_failed(self, kind: str, message: str) -> None:
        if kind == "heatmap":
            self.heatmaps.clear(message)
        elif kind == "delta":
            self.delta_histogram.set_message(message)
        else:
            self.histogram.set_message(message)

    # -- user changes ------------------------------------------------------------------
    def _on_histogram_bins_changed(self, _bins: int) -> None:
        if self._stats is not None and not self._channels.waiting():
            self._submit_histogram()

    def _on_delta_bins_changed(self, _bins: int) -> None:
        if self._entry is not None and _has_delta(self._entry) and not self._channels.waiting():
            self._submit_delta()

    def _on_heatmaps_slice_requested(self, _request: Any) -> None:
        if self._entry is not None and not self._channels.waiting():
            self._submit_heatmap()

    def _make_channels(self) -> PlotChannels:
        channels = PlotChannels(RUNNERS, self.header, DEBOUNCE_MS, quiet=("heatmap",), parent=self)
        channels.due.connect(self._on_channels_due)
        channels.finished.connect(self._on_runner_finished)
        channels.failed.connect(self._on_runner_failed)
        channels.settled.connect(self.plotsFinished)
        return channels

    # -- construction ------------------------------------------------------------------
    def _build_widgets(self) -> None:
        self.header = NodeHeader()
        self.stats_view = PairStatsView()
        self.histogram = PairHistogramPlot()
        self.delta_histogram = HistogramPlot()
        self.delta_histogram.plot.setLabel("bottom", "Δ = B − A")
        for plot in (self.histogram, self.delta_histogram):
            plot.setMinimumHeight(PLOT_MIN_HEIGHT)  # squeezable: a short window keeps its table
        histograms = QSplitter(Qt.Orientation.Vertical, childrenCollapsible=False)
        histograms.addWidget(self.histogram)
        histograms.addWidget(self.delta_histogram)
        self.heatmaps = PairHeatmaps()
        self.tabs = QTabWidget(documentMode=True)
        self.stats_tab = QWidget()
        QVBoxLayout(self.stats_tab).addStretch(1)
        self._compact = False
        self.tabs.addTab(histograms, "Histograms")
        self.tabs.addTab(self.heatmaps, "Heatmaps")
        self.key_page = QWidget()
        layout = QVBoxLayout(self.key_page)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.header, self.stats_view):
            layout.addWidget(widget)
        layout.addWidget(self.tabs, 1)
        self.empty_page = QLabel("Select a key in the table to compare its values.",
                                 alignment=Qt.AlignmentFlag.AlignCenter, wordWrap=True)
        self.empty_page.setEnabled(False)
        self.pages = QStackedWidget()
        self.pages.addWidget(self.key_page)
        self.pages.addWidget(self.empty_page)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.pages)

    def _connect(self) -> None:
        self.histogram.binsChanged.connect(self._on_histogram_bins_changed)
        self.delta_histogram.binsChanged.connect(self._on_delta_bins_changed)
        self.heatmaps.sliceRequested.connect(self._on_heatmaps_slice_requested)


def _has_delta(entry: CompareRow) -> bool:
    return compare_views.delta_views(entry.tensor_a, entry.tensor_b) is not None


def _no_delta_reason(entry: CompareRow) -> str:
    if entry.tensor_a is None or entry.tensor_b is None:
        return f"no Δ: the key is {status_label(entry.status)}"
    return "no Δ: A and B differ in rank"


def _details(entry: CompareRow) -> str:
    sides = [f"{side} {shape_text(shape)} {dtype}" if shape is not None else f"no {side}"
             for side, shape, dtype in (("A", entry.shape_a, entry.dtype_a), ("B", entry.shape_b, entry.dtype_b))]
    parts = [status_label(entry.status), *sides]
    if entry.non_finite_differs:
        parts.append(f"★ {entry.non_finite_note}")
    if entry.error:
        parts.append(entry.error)
    return "  ·  ".join(parts)
