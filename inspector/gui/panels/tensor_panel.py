"""The panel beside the tree: what the selected row holds.

A tensor gets its exact statistics, a histogram, a heatmap and a page of its values; a 0-d
tensor (Adam's ``step``) its value; a module or any container with tensors a per-layer chart,
a combined histogram and its entries; a dict or list without tensors its entries; a plain
value its full text. A selection change updates the header at once and starts the background
jobs after a short debounce, so arrowing through the tree does not queue a job per row; each
kind of result has its own runner where the newest job wins. ``plotsFinished`` fires once
everything for the current node is drawn.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QPlainTextEdit, QStackedWidget, QTabWidget, QVBoxLayout, QWidget

from inspector.core import histogram, layer_metrics, slices, stats
from inspector.core.layer_metrics import GroupData
from inspector.gui.formatting import value_text
from inspector.gui.panels.entries_table import EntriesTable
from inspector.gui.panels.heatmap_view import HeatmapView
from inspector.gui.panels.histogram_plot import HistogramPlot
from inspector.gui.panels.layer_chart import LayerChart
from inspector.gui.panels.node_header import NodeHeader, group_details, tensor_details
from inspector.gui.panels.stats_view import StatsView
from inspector.gui.panels.values_preview import ValuesPreview, python_value
from inspector.gui.workers.plot_channels import PlotChannels
from inspector.gui.workers.plot_runner import PlotRunner

DEBOUNCE_MS = 70
MAX_VALUE_TEXT = 20_000  # characters of a value's repr shown
MIN_WIDTH = 300  # fixed, so what is shown never pushes the splitter the user placed
RUNNERS = ("stats", "histogram", "heatmap", "values", "group")
QUICK_RUNNERS = ("heatmap", "values")  # small reads: no progress bar of their own


class TensorPanel(QWidget):
    plotsFinished = Signal()
    tensorActivated = Signal(object)  # a node picked in the per-layer chart or an entries table

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._node: Any = None
        self._group: GroupData | None = None
        self._stats: Any = None  # the selected tensor's TensorStats, once computed
        self._build_widgets()
        self._channels = self._make_channels()
        self._connect_widgets()
        self.setMinimumWidth(MIN_WIDTH)
        self.show_node(None)

    # -- interface ---------------------------------------------------------------------
    def show_node(self, node: Any) -> None:
        """Show ``node`` (a tree Node or None); its plots are computed in the background."""
        self._channels.cancel_all()
        self._node, self._group, self._stats = node, None, None
        tensor = getattr(node, "tensor", None)
        if node is None:
            self._show_text_page(None, "", "Select a tensor or a module to see its values.")
        elif tensor is not None and len(tensor.shape) == 0:
            self._show_text_page(node, tensor_details(tensor, node.shared_with), "reading…")
        elif tensor is not None:
            self._show_tensor_page(node, tensor)
        elif getattr(node, "tensor_count", 0):
            self._show_group_page(node)
        elif node.kind in ("value", "truncated"):
            self._show_text_page(node, _value_details(node), _value_text(node))
        else:
            self._show_entries_page(node)
        self._channels.restart()

    def is_busy(self) -> bool:
        return self._channels.is_busy()

    def shutdown(self) -> None:
        """Stop every background job and wait for the worker threads to let go."""
        self._channels.shutdown()

    def runner(self, name: str) -> PlotRunner:
        return self._channels.runner(name)

    # -- pages -------------------------------------------------------------------------
    def _show_tensor_page(self, node: Any, tensor: Any) -> None:
        self.header.show_node(node, tensor_details(tensor, node.shared_with))
        self.stats_view.clear(tensor.numel)
        self.histogram.set_message("computing…")
        self.heatmap.configure(tensor.shape, tensor.is_contiguous())
        self.values.clear("reading…")
        self.tensor_tabs.setTabEnabled(1, len(tensor.shape) >= 2)
        self.pages.setCurrentWidget(self.tensor_page)

    def _show_group_page(self, node: Any) -> None:
        self.header.show_node(node, group_details(node))
        self.layer_chart.clear("computing…")
        self.group_histogram.set_message("computing…")
        self.group_entries.set_node(node)
        self.pages.setCurrentWidget(self.group_page)

    def _show_entries_page(self, node: Any) -> None:
        count = len(node.children)
        entries = f"{count:,} {'entry' if count == 1 else 'entries'}, no tensors"
        self.header.show_node(node, f"{_value_details(node)}  ·  {entries}")
        self.entries.set_node(node)
        self.pages.setCurrentWidget(self.entries_page)

    def _show_text_page(self, node: Any, details: str, text: str) -> None:
        self.header.show_node(node, details)
        self.text_view.setPlainText(text)
        self.pages.setCurrentWidget(self.text_page)

    # -- jobs --------------------------------------------------------------------------
    def _on_channels_due(self) -> None:
        tensor = getattr(self._node, "tensor", None)
        if tensor is not None and len(tensor.shape) == 0:
            self._start_scalar_job(tensor)
        elif self.pages.currentWidget() is self.tensor_page and tensor is not None:
            self._start_tensor_jobs(tensor)
        elif self.pages.currentWidget() is self.group_page:
            node, bins = self._node, self.group_histogram.bins()
            self._channels.submit("group", lambda: layer_metrics.group_job(node, bins))

    def _start_scalar_job(self, tensor: Any) -> None:
        if tensor.storage is None:
            self.text_view.setPlainText("no value stored")
            return
        request = slices.SliceRequest()
        self._channels.submit("values", lambda: slices.preview_job(tensor, request))

    def _start_tensor_jobs(self, tensor: Any) -> None:
        if tensor.storage is None or tensor.numel == 0:
            message = "no values stored" if tensor.storage is None else "empty tensor"
            self.histogram.set_message(message)
            self.values.clear(message)
            return
        self._channels.submit("stats", lambda: stats.tensor_stats_job(tensor))
        self._submit_values()
        if len(tensor.shape) >= 2:
            self._submit_heatmap()
        # the histogram follows the stats: they give it its range

    def _submit_histogram(self) -> None:
        tensor, bins, known = self._node.tensor, self.histogram.bins(), self._stats
        self.histogram.set_message("computing…")
        self._channels.submit("histogram", lambda: histogram.histogram_job(tensor, bins, stats=known))

    def _submit_heatmap(self) -> None:
        tensor, request = self._node.tensor, self.heatmap.request()
        self._channels.submit("heatmap", lambda: slices.heatmap_job(tensor, request))

    def _submit_values(self, first_row: int = 0, first_column: int = 0) -> None:
        tensor, request = self._node.tensor, self.heatmap.request()
        self._channels.submit("values", lambda: slices.preview_job(tensor, request, first_row, first_column))

    # -- results -----------------------------------------------------------------------
    def _on_runner_finished(self, kind: str, result: Any) -> None:
        if kind == "stats":
            self._stats = result
            self.stats_view.set_stats(result, self._node.tensor.numel)
            self._submit_histogram()
        elif kind == "histogram":
            self.histogram.set_histogram(result)
        elif kind == "heatmap":
            self.heatmap.set_slice(result)
        elif kind == "values":
            self._show_values(result)
        elif isinstance(result, GroupData):
            self._show_group(result)
        else:
            self.group_histogram.set_histogram(result)

    def _on_runner_failed(self, kind: str, message: str) -> None:
        if kind == "heatmap":
            self.heatmap.clear(message)
        elif kind == "values":
            self.values.clear(message)
            if self.pages.currentWidget() is self.text_page:
                self.text_view.setPlainText(message)
        elif kind == "group":
            self.layer_chart.clear(message)
            self.group_histogram.set_message(message)
        else:
            self.histogram.set_message(message)

    def _show_group(self, group: GroupData) -> None:
        self._group = group
        self.layer_chart.set_metrics(group.layers)
        self.group_histogram.set_histogram(group.histogram)
        if not group.entries:
            self.layer_chart.clear("no floating-point tensors below")
            self.group_histogram.set_message("no floating-point tensors below")
        shown_bins = len(group.histogram.counts) if group.histogram is not None else None
        if shown_bins not in (None, self.group_histogram.bins()):  # bins changed while computing
            self._on_group_histogram_bins_changed(self.group_histogram.bins())

    def _show_values(self, page: slices.PreviewData) -> None:
        shape = self._node.tensor.shape
        if not shape:  # a 0-d tensor: its value, exactly
            value = python_value(page.values.reshape(-1)[0])
            self.text_view.setPlainText(repr(value))
            return
        where = _slice_label(self.heatmap.request(), shape)
        self.values.set_preview(page, where, "value" if len(shape) < 2 else None)

    # -- user changes ------------------------------------------------------------------
    def _on_histogram_bins_changed(self, _bins: int) -> None:
        if self._stats is not None and not self._channels.waiting():
            self._submit_histogram()

    def _on_heatmap_slice_requested(self, _request: Any) -> None:
        if getattr(self._node, "tensor", None) is not None and not self._channels.waiting():
            self._submit_heatmap()
            self._submit_values()

    def _on_values_page_requested(self, first_row: int, first_column: int) -> None:
        if getattr(self._node, "tensor", None) is not None and not self._channels.waiting():
            self._submit_values(first_row, first_column)

    def _on_group_histogram_bins_changed(self, bins: int) -> None:
        group = self._group
        if group is None or self._channels.waiting():
            return
        self.group_histogram.set_message("computing…")
        self._channels.submit("group", lambda: layer_metrics.combined_histogram_job(group.entries, group.stats, bins))

    def _make_channels(self) -> PlotChannels:
        channels = PlotChannels(RUNNERS, self.header, DEBOUNCE_MS, quiet=QUICK_RUNNERS, parent=self)
        channels.due.connect(self._on_channels_due)
        channels.finished.connect(self._on_runner_finished)
        channels.failed.connect(self._on_runner_failed)
        channels.settled.connect(self.plotsFinished)
        return channels

    # -- construction ------------------------------------------------------------------
    def _build_widgets(self) -> None:
        self.header = NodeHeader()
        self.stats_view = StatsView()
        self.histogram, self.heatmap, self.values = HistogramPlot(), HeatmapView(), ValuesPreview()
        self.tensor_tabs = _tabs((self.histogram, "Histogram"), (self.heatmap, "Heatmap"),
                                 (self.values, "Values"))
        self.tensor_page = _column(self.stats_view, self.tensor_tabs)
        self.layer_chart, self.group_histogram, self.group_entries = LayerChart(), HistogramPlot(), EntriesTable()
        self.group_tabs = _tabs((self.layer_chart, "Per-layer"), (self.group_histogram, "Combined histogram"),
                                (self.group_entries, "Entries"))
        self.group_page = _column(self.group_tabs)
        self.entries = EntriesTable()
        self.entries_page = _column(self.entries)
        self.text_view = QPlainTextEdit(readOnly=True)
        self.text_page = _column(self.text_view)
        self.pages = QStackedWidget()
        for page in (self.tensor_page, self.group_page, self.entries_page, self.text_page):
            self.pages.addWidget(page)
        layout = QVBoxLayout(self)
        layout.addWidget(self.header)
        layout.addWidget(self.pages, 1)

    def _connect_widgets(self) -> None:
        self.histogram.binsChanged.connect(self._on_histogram_bins_changed)
        self.heatmap.sliceRequested.connect(self._on_heatmap_slice_requested)
        self.values.pageRequested.connect(self._on_values_page_requested)
        self.group_histogram.binsChanged.connect(self._on_group_histogram_bins_changed)
        for source in (self.layer_chart.tensorActivated, self.entries.entryActivated,
                       self.group_entries.entryActivated):
            source.connect(self.tensorActivated)


def _value_details(node: Any) -> str:
    class_name = getattr(node, "class_name", None)
    return f"{node.kind}  ·  {class_name}" if class_name else str(node.kind)


def _value_text(node: Any) -> str:
    return value_text(getattr(node, "value", None), MAX_VALUE_TEXT)


def _slice_label(request: Any, shape: tuple[int, ...]) -> str:
    if len(shape) <= 2:
        return ""
    if request.reshaped:
        return f"reshaped to [{shape[0]}, {'×'.join(str(s) for s in shape[1:])}]: "
    index = ", ".join(str(i) for i in request.leading)
    return f"slice [{index}, :, :]: "


def _tabs(*pages: tuple[QWidget, str]) -> QTabWidget:
    tabs = QTabWidget()
    tabs.setDocumentMode(True)
    # a click on a tab takes the focus: otherwise the focus of the page it hides jumps to the
    # first field of the page it shows (the bins box), and typing goes there
    tabs.tabBar().setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    for widget, title in pages:
        tabs.addTab(widget, title)
    return tabs


def _column(*widgets: QWidget) -> QWidget:
    page = QWidget()
    layout = QVBoxLayout(page)
    layout.setContentsMargins(0, 0, 0, 0)
    for widget in widgets:
        layout.addWidget(widget, 1 if isinstance(widget, (QTabWidget, EntriesTable, QPlainTextEdit)) else 0)
    return page
