"""The tensor panel against torch: plotted histograms, stats labels, heatmaps, previews, charts.

One torch.save file is written per module; torch.load of that file is the oracle.
"""

from __future__ import annotations

import math
import sys
import threading

import numpy as np
import pytest
import torch
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QGuiApplication

from tests.gui.panels.conftest import WAIT_MS, find, show
from inspector.core.errors import CheckpointError
from inspector.core.loader import open_checkpoint
from inspector.core.model import Storage, TensorRef
from inspector.core.progress import Progress
from inspector.core.tree import Node, build_tree
from inspector.core.values import read_array
from inspector.core import layer_metrics, slices, stats
from inspector.gui.panels.tensor_panel import TensorPanel
from inspector.gui.panels.values_preview import PreviewTableModel



def _model_state() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(12, 20), torch.nn.ReLU(), torch.nn.Linear(20, 16),
        torch.nn.BatchNorm1d(16), torch.nn.Linear(16, 16), torch.nn.Linear(16, 4),
    )
    with torch.no_grad():
        model[2].weight.zero_()  # a dead layer
        model[5].weight.mul_(300.0)  # an exploding one
    return model.state_dict()


def _extra_tensors() -> dict[str, torch.Tensor]:
    torch.manual_seed(1)
    special = torch.randn(300, 7)
    special[0, :4] = torch.tensor([float("nan"), float("inf"), -float("inf"), float("nan")])
    special[1, :3] = 0.0
    base = torch.randn(50, 60)
    return {
        "special": special,
        "conv": torch.randn(8, 4, 3, 5),
        "conv_twin": torch.randn(8, 4, 3, 5),
        "stem": torch.randn(64, 3, 7, 7),  # reshaped: 64 rows of 147 columns
        "tall": torch.randn(2100, 40),
        "view": base[::2, 5:].t(),  # non-contiguous, offset into a shared storage
        "bf16": torch.randn(20, 30).to(torch.bfloat16),
        "vector": torch.randn(500),
        "scalar": torch.tensor(2.5),
        "ints": torch.arange(-5, 30).reshape(5, 7),
        "flags": torch.rand(6, 3) > 0.5,
        "complex": torch.randn(4, 3, dtype=torch.complex64),
        "empty": torch.zeros(0, 4),
    }


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    path = tmp_path_factory.mktemp("tensor_panel") / "checkpoint.pt"
    torch.save({"model": _model_state(), "extra": _extra_tensors(), "epoch": 3}, path)
    oracle = torch.load(path, weights_only=True)
    return build_tree(open_checkpoint(str(path))), oracle


def plain(label) -> str:
    """A label's text as copied: its no-break spaces (kept together on screen) as spaces."""
    return label.text().replace("\u00a0", " ")


def test_a_narrow_panel_wraps_the_histogram_note_between_its_parts(qtbot, panel, saved):
    root, oracle = saved
    tensor = oracle["extra"]["special"]
    panel.resize(300, 600)
    panel.show()
    show(qtbot, panel, find(root, "extra", "special"))
    note = panel.histogram.note
    finite = int(torch.isfinite(tensor).sum())
    assert plain(note) == f"{finite:,} finite values · excluded: {int(torch.isnan(tensor).sum()):,} NaN, " \
                          f"{int(torch.isinf(tensor).sum()):,} Inf"
    width = note.fontMetrics().horizontalAdvance(note.text())
    qtbot.waitUntil(lambda: note.width() > 0)
    assert note.width() < width  # too narrow for one line: the note wraps instead of being cut
    qtbot.waitUntil(lambda: note.height() >= 2 * note.fontMetrics().lineSpacing())


def finite_double(tensor: torch.Tensor) -> np.ndarray:
    wide = tensor.double()
    return wide[torch.isfinite(wide)].numpy()


def oracle_histogram(values: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    edges = np.linspace(float(values.min()), float(values.max()), bins + 1)
    return np.histogram(values, bins=edges)[0], edges


def test_histogram_equals_numpy_of_torch_values(qtbot, panel, saved):
    root, oracle = saved
    show(qtbot, panel, find(root, "extra", "tall"))
    x, y = panel.histogram.displayed_data()
    counts, edges = oracle_histogram(finite_double(oracle["extra"]["tall"]), panel.histogram.bins())
    np.testing.assert_allclose(x, edges, rtol=0, atol=1e-12)
    assert np.array_equal(y, counts)


def test_bins_and_log_toggle_change_the_plotted_data(qtbot, panel, saved):
    root, oracle = saved
    show(qtbot, panel, find(root, "extra", "view"))
    with qtbot.waitSignal(panel.plotsFinished, timeout=WAIT_MS):
        panel.histogram.bins_box.setValue(17)
    counts, edges = oracle_histogram(finite_double(oracle["extra"]["view"]), 17)
    x, y = panel.histogram.displayed_data()
    assert len(x) == 18 and np.array_equal(y, counts)
    panel.histogram.log_box.setChecked(True)
    _, logged = panel.histogram.displayed_data()
    filled = counts > 0
    np.testing.assert_allclose(logged[filled], np.log10(counts[filled]))
    assert np.all(logged[~filled] < 0)  # empty bins drawn below a single count
    panel.histogram.log_box.setChecked(False)
    assert np.array_equal(panel.histogram.displayed_data()[1], counts)


def test_nan_inf_note_and_stats_labels_match_torch(qtbot, panel, saved):
    root, oracle = saved
    show(qtbot, panel, find(root, "extra", "special"))
    tensor = oracle["extra"]["special"]
    nan, inf = int(torch.isnan(tensor).sum()), int(torch.isinf(tensor).sum())
    note = plain(panel.histogram.note)
    assert f"{nan} NaN" in note and f"{inf} Inf" in note
    finite = tensor[torch.isfinite(tensor)].double()
    expected = {"min": finite.min().item(), "max": finite.max().item(), "mean": finite.mean().item(),
                "std": finite.std().item()}
    for key, value in expected.items():
        assert float(panel.stats_view.full_text(key)) == pytest.approx(value, rel=1e-12, abs=1e-15)
        assert panel.stats_view.text(key) == f"{float(panel.stats_view.full_text(key)):.6g}"
    counts = {"numel": tensor.numel(), "zeros": int((tensor == 0).sum()), "nan": nan, "inf": inf}
    for key, value in counts.items():
        assert int(panel.stats_view.text(key).replace(",", "")) == value


def test_heatmap_shows_the_chosen_slice_of_a_conv_weight(qtbot, panel, saved):
    root, oracle = saved
    conv = oracle["extra"]["conv"]
    show(qtbot, panel, find(root, "extra", "conv"))
    assert np.array_equal(panel.heatmap.image_data(), conv[0, 0].numpy())
    boxes = panel.heatmap._index_boxes
    with qtbot.waitSignal(panel.plotsFinished, timeout=WAIT_MS):
        boxes[0].setValue(5)
    with qtbot.waitSignal(panel.plotsFinished, timeout=WAIT_MS):
        boxes[1].setValue(2)
    assert np.array_equal(panel.heatmap.image_data(), conv[5, 2].numpy())
    assert np.array_equal(panel.values.model.values(), conv[5, 2].numpy())
    with qtbot.waitSignal(panel.plotsFinished, timeout=WAIT_MS):
        panel.heatmap.mode_box.setCurrentIndex(1)
    assert np.array_equal(panel.heatmap.image_data(), conv.reshape(8, -1).numpy())
    show(qtbot, panel, find(root, "extra", "tall"))
    show(qtbot, panel, find(root, "extra", "conv"))  # a new shape starts again at slice [0, 0]
    assert np.array_equal(panel.heatmap.image_data(), conv[0, 0].numpy())


def test_same_shaped_tensors_keep_the_chosen_slice(qtbot, panel, saved):
    root, oracle = saved
    show(qtbot, panel, find(root, "extra", "conv"))
    with qtbot.waitSignal(panel.plotsFinished, timeout=WAIT_MS):
        panel.heatmap._index_boxes[0].setValue(3)
    show(qtbot, panel, find(root, "extra", "conv_twin"))
    assert np.array_equal(panel.heatmap.image_data(), oracle["extra"]["conv_twin"][3, 0].numpy())


def oracle_pooled(values: np.ndarray, rows: int, how: str) -> np.ndarray:
    """Blocks of ``rows`` rows, one column each: the value of largest magnitude, or the mean."""
    blocks = [values[top:top + rows] for top in range(0, len(values), rows)]
    if how == "mean":
        return np.stack([block.mean(axis=0) for block in blocks])
    return np.stack([block[np.abs(block).argmax(axis=0), np.arange(block.shape[1])] for block in blocks])


def test_big_slices_are_pooled_never_thinned(qtbot, panel, saved):
    root, oracle = saved
    tall = oracle["extra"]["tall"].numpy()
    show(qtbot, panel, find(root, "extra", "tall"))
    step = math.ceil(2100 / slices.HEATMAP_MAX_SIDE)
    assert np.array_equal(panel.heatmap.image_data(), oracle_pooled(tall, step, "max-abs"))
    assert panel.heatmap.info.text() == f"2,100 × 40 (rows pooled by {step})"
    assert panel.heatmap.pooling_box.isVisibleTo(panel.heatmap)
    with qtbot.waitSignal(panel.plotsFinished, timeout=WAIT_MS):
        panel.heatmap.pooling_box.setCurrentIndex(slices.POOLINGS.index("mean"))
    np.testing.assert_allclose(panel.heatmap.image_data(), oracle_pooled(tall, step, "mean"), rtol=1e-5, atol=1e-6)
    assert np.array_equal(panel.values.model.values(), tall[:slices.PREVIEW_ROWS])


def test_values_page_past_the_first_rows(qtbot, panel, saved):
    root, oracle = saved
    vector = oracle["extra"]["vector"].numpy()
    show(qtbot, panel, find(root, "extra", "vector"))
    assert panel.values.next_button.isVisibleTo(panel.values) and not panel.values.previous_button.isEnabled()
    for first in (slices.PREVIEW_ROWS, 2 * slices.PREVIEW_ROWS):
        with qtbot.waitSignal(panel.plotsFinished, timeout=WAIT_MS):
            panel.values.next_button.click()
        expected = vector[first:first + slices.PREVIEW_ROWS].reshape(-1, 1)
        assert np.array_equal(panel.values.model.values(), expected)
        assert panel.values.model.headerData(0, Qt.Orientation.Vertical) == str(first)
    assert not panel.values.next_button.isEnabled() and plain(panel.values.note) == "values 400–499 of 500"
    assert not panel.values.right_button.isVisibleTo(panel.values)  # a vector has one column


def test_values_page_past_the_first_columns(qtbot, panel, saved):
    root, oracle = saved
    reshaped = oracle["extra"]["stem"].reshape(64, -1).numpy()
    show(qtbot, panel, find(root, "extra", "stem"))
    with qtbot.waitSignal(panel.plotsFinished, timeout=WAIT_MS):
        panel.heatmap.mode_box.setCurrentIndex(1)
    values = panel.values
    assert np.array_equal(values.model.values(), reshaped[:, :slices.PREVIEW_COLUMNS])
    assert plain(values.note) == "reshaped to [64, 3×7×7]: all 64 rows, columns 0–63 of 147"
    assert not values.next_button.isVisibleTo(values) and values.right_button.isVisibleTo(values)
    assert not values.left_button.isEnabled()
    for first in (slices.PREVIEW_COLUMNS, 2 * slices.PREVIEW_COLUMNS):
        with qtbot.waitSignal(panel.plotsFinished, timeout=WAIT_MS):
            values.right_button.click()
        assert np.array_equal(values.model.values(), reshaped[:, first:first + slices.PREVIEW_COLUMNS])
        assert values.model.headerData(0, Qt.Orientation.Horizontal) == str(first)
    assert plain(values.note).endswith("columns 128–146 of 147") and not values.right_button.isEnabled()
    with qtbot.waitSignal(panel.plotsFinished, timeout=WAIT_MS):
        values.left_button.click()
    assert values.first_column() == slices.PREVIEW_COLUMNS and values.left_button.isEnabled()
    with qtbot.waitSignal(panel.plotsFinished, timeout=WAIT_MS):
        panel.heatmap.mode_box.setCurrentIndex(0)  # another slice starts at its first page
    assert values.first_column() == 0 and plain(values.note) == "slice [0, 0, :, :]: all 7 rows, all 7 columns"


def test_a_one_element_vector_says_one_value(qtbot, panel, tmp_path):
    path = tmp_path / "one.pt"
    torch.save({"one": torch.tensor([1.5])}, path)
    show(qtbot, panel, build_tree(open_checkpoint(str(path))).children[0])
    assert plain(panel.values.note) == "1 value"


def test_a_0d_tensor_shows_its_value(qtbot, panel, saved):
    root, oracle = saved
    show(qtbot, panel, find(root, "extra", "scalar"))
    assert panel.pages.currentWidget() is panel.text_page
    assert panel.text_view.toPlainText() == repr(oracle["extra"]["scalar"].item())


def test_an_all_nan_slice_says_so(qtbot, panel, tmp_path):
    path = tmp_path / "nan.pt"
    torch.save({"nan": torch.full((3, 4), float("nan"))}, path)
    root = build_tree(open_checkpoint(str(path)))
    show(qtbot, panel, root.children[0])
    assert "no finite values: every value here is NaN or ±Inf" in panel.heatmap.info.text()


@pytest.mark.parametrize("name", ["view", "bf16", "vector"])
def test_preview_values_equal_torch(qtbot, panel, saved, name):
    root, oracle = saved
    show(qtbot, panel, find(root, "extra", name))
    expected = oracle["extra"][name].float()
    expected = expected.reshape(-1, 1) if expected.dim() < 2 else expected
    expected = expected[:slices.PREVIEW_ROWS, :slices.PREVIEW_COLUMNS].numpy()
    assert np.array_equal(panel.values.model.values().astype(np.float32), expected)


def endless_for(tensor_or_none, real_job):
    """A job that never ends by itself for the given tensor: only quitting its worker stops it."""

    def job(first, *args):
        if tensor_or_none is None or first is tensor_or_none:
            never = threading.Event()
            while True:
                yield Progress(0, 0, "waiting to be cancelled")
                never.wait(0.002)  # a pause between reports, so the endless job does not spin a core
        return (yield from real_job(first, *args))

    return job


@pytest.mark.parametrize("name", ["ints", "flags", "complex"])
def test_other_dtypes_preview_exactly(qtbot, panel, saved, name):
    root, oracle = saved
    show(qtbot, panel, find(root, "extra", name))
    expected = oracle["extra"][name].numpy()
    assert np.array_equal(panel.values.model.values(), expected)
    assert panel.stats_view.text("numel") == f"{expected.size:,}"
    if name == "ints":
        assert panel.stats_view.text("min") == f"{expected.min():,}"
        assert panel.stats_view.text("max") == f"{expected.max():,}"


def test_empty_tensor_says_so(qtbot, panel, saved):
    root, _ = saved
    show(qtbot, panel, find(root, "extra", "empty"))
    assert panel.histogram.note.text() == "empty tensor" and panel.values.model.rowCount() == 0


def test_latest_selection_wins(qtbot, panel, saved, monkeypatch):
    root, oracle = saved
    first, second = find(root, "extra", "tall"), find(root, "extra", "view")
    monkeypatch.setattr(stats, "tensor_stats_job", endless_for(first.tensor, stats.tensor_stats_job))
    shown = []
    draw = panel.histogram.set_histogram
    panel.histogram.set_histogram = lambda data: (shown.append(data), draw(data))
    panel.show_node(first)
    stats_runner = panel.runner("stats")
    qtbot.waitUntil(stats_runner.is_busy, timeout=WAIT_MS)
    stale_worker = stats_runner._worker
    show(qtbot, panel, second)
    assert stale_worker in stats_runner.cancelled_workers and stale_worker.abort_requested
    counts, _ = oracle_histogram(finite_double(oracle["extra"]["view"]), panel.histogram.bins())
    assert len(shown) == 1 and np.array_equal(shown[0].counts, counts)
    assert panel.stats_view.text("numel") == f"{oracle['extra']['view'].numel():,}"
    qtbot.waitUntil(lambda: not stale_worker.is_running, timeout=WAIT_MS)


def test_rapid_selection_changes_start_one_set_of_jobs(qtbot, panel, saved):
    root, _ = saved
    names = ["special", "conv", "tall", "view", "bf16", "vector"] * 5
    with qtbot.waitSignal(panel.plotsFinished, timeout=WAIT_MS):
        for name in names:
            panel.show_node(find(root, "extra", name))
    assert not panel.runner("stats").cancelled_workers  # the debounce started none of the others
    assert panel.stats_view.text("numel") == "500"


def test_module_node_charts_each_tensor_in_order(qtbot, panel, saved):
    root, oracle = saved
    show(qtbot, panel, find(root, "model"))
    state = {key: value for key, value in oracle["model"].items() if value.is_floating_point()}
    chart = panel.layer_chart
    chart.set_all_tensors(True)
    assert chart.names() == list(state)
    stds = [value.double().std().item() for value in state.values()]
    norms = [value.double().norm().item() for value in state.values()]
    np.testing.assert_allclose(chart.values(), stds, rtol=1e-6, atol=1e-12)
    chart.metric_box.setCurrentIndex(1)
    np.testing.assert_allclose(chart.values(), norms, rtol=1e-6, atol=1e-12)
    chart.set_all_tensors(False)
    assert chart.names() == [key for key, value in state.items() if value.dim() >= 2]
    assert "all zeros: 2.weight" in chart.summary.text()
    assert "far above the median of their kind: 5.weight" in chart.summary.text()
    assert [row.flags for row in chart.shown_rows()] == [(), ("dead",), (), ("exploding",)]
    values = np.concatenate([finite_double(value) for value in state.values()])
    counts, edges = oracle_histogram(values, panel.group_histogram.bins())
    x, y = panel.group_histogram.displayed_data()
    np.testing.assert_allclose(x, edges, rtol=0, atol=1e-12)
    assert np.array_equal(y, counts)


def test_combined_histogram_rebins_without_recomputing_stats(qtbot, panel, saved, monkeypatch):
    root, oracle = saved
    show(qtbot, panel, find(root, "model"))
    monkeypatch.setattr(stats, "tensor_stats_job", None)  # rebinning must not need them again
    with qtbot.waitSignal(panel.plotsFinished, timeout=WAIT_MS):
        panel.group_histogram.bins_box.setValue(9)
    values = np.concatenate([finite_double(v) for v in oracle["model"].values() if v.is_floating_point()])
    counts, edges = oracle_histogram(values, 9)
    x, y = panel.group_histogram.displayed_data()
    np.testing.assert_allclose(x, edges, rtol=0, atol=1e-12)
    assert np.array_equal(y, counts)


def test_clicking_a_bar_activates_its_tensor(qtbot, panel, saved):
    root, _ = saved
    show(qtbot, panel, find(root, "model"))
    chart = panel.layer_chart
    chart.plot.resize(600, 300)
    chart.plot.getPlotItem().vb.setRange(xRange=(-3, 3), yRange=(-1, 4), padding=0)
    position = chart.plot.getPlotItem().vb.mapViewToScene(QPointF(0.0, 1.0))
    with qtbot.waitSignal(panel.tensorActivated) as activated:
        chart._on_scene_mouse_clicked(_Click(position))
    assert activated.args[0].key == chart.names()[1]


def test_copy_key_puts_the_state_dict_key_on_the_clipboard(qtbot, panel, saved):
    root, _ = saved
    node = find(root, "model", "2", "weight")
    show(qtbot, panel, node)
    panel.header.copy_button.click()
    assert QGuiApplication.clipboard().text() == node.key == "2.weight"


def test_value_object_and_empty_selection(qtbot, panel, saved):
    root, _ = saved
    show(qtbot, panel, find(root, "epoch"))
    assert panel.pages.currentWidget() is panel.text_page and panel.text_view.toPlainText() == "3"
    show(qtbot, panel, None)
    assert "Select" in panel.text_view.toPlainText()
    huge = 10 ** 5000  # repr() of this raises on Python 3.11
    show(qtbot, panel, Node("huge", "value", ("huge",), value=huge))
    assert f"{huge.bit_length()} bits" in panel.text_view.toPlainText()


def test_unreadable_tensor_shows_one_line_and_finishes(qtbot, panel, tmp_path):
    short = tmp_path / "short.bin"
    short.write_bytes(b"\0" * 64)
    storage = Storage(str(short), offset=0, nbytes=4096, dtype="float32")
    broken = Node("broken", "tensor", ("broken",), tensor=TensorRef("float32", (32, 32), (32, 1), storage))
    with pytest.raises(CheckpointError) as error:
        read_array(broken.tensor)
    show(qtbot, panel, broken)
    assert panel.histogram.note.text() == str(error.value) and "\n" not in str(error.value)
    assert panel.values.note.text() == str(error.value)
    assert panel.stats_view.text("mean") == "–" and not panel.is_busy()


def test_preview_model_passes_model_tester(qtmodeltester):
    model = PreviewTableModel()
    model.set_values(np.arange(12, dtype=np.float32).reshape(3, 4))
    qtmodeltester.check(model, force_py=True)
    model.set_values(np.arange(5, dtype=np.int64).reshape(5, 1), "value")
    qtmodeltester.check(model, force_py=True)


def test_shutdown_stops_running_jobs(qtbot, saved, monkeypatch):
    root, _ = saved
    monkeypatch.setattr(layer_metrics, "group_job", endless_for(None, layer_metrics.group_job))
    panel = TensorPanel()
    qtbot.addWidget(panel)
    panel.show_node(find(root, "model"))
    qtbot.waitUntil(panel.runner("group").is_busy, timeout=WAIT_MS)
    worker = panel.runner("group")._worker
    panel.shutdown()
    assert not panel.is_busy() and worker.abort_requested and not worker.is_running
    assert not panel.runner("group").has_live_workers()


class _Click:
    """The one thing the chart asks of a scene mouse event: where it happened."""

    def __init__(self, position: QPointF) -> None:
        self._position = position

    def scenePos(self) -> QPointF:
        return self._position


def test_emitting_signals_keeps_the_bool_singletons_alive(qtbot, panel):
    # PySide6 6.12.0 dropped a reference to True on every emit() until Python aborted.
    before = sys.getrefcount(True)
    for _ in range(20_000):
        panel.plotsFinished.emit()
    assert sys.getrefcount(True) > before - 100


def test_a_stale_histogram_arriving_after_the_selection_moved_is_dropped(qtbot, panel, saved, monkeypatch):
    """The first tensor's histogram job cannot be stopped (it blocks, it does not yield) until
    the selection has moved; then it returns. The plot must show only the second tensor's."""
    import threading

    from inspector.core import histogram

    root, oracle = saved
    first, second = find(root, "extra", "tall"), find(root, "extra", "view")
    moved = threading.Event()
    real_job = histogram.histogram_job

    def blocking_job(tensor, bins, **options):
        if tensor is first.tensor:
            moved.wait(WAIT_MS / 1000)
            return histogram.Histogram(np.full(bins, 99), np.linspace(0, 1, bins + 1), 0, 0, 99 * bins)
        return (yield from real_job(tensor, bins, **options))

    monkeypatch.setattr(histogram, "histogram_job", blocking_job)
    drawn = []
    draw = panel.histogram.set_histogram
    panel.histogram.set_histogram = lambda data: (drawn.append(data), draw(data))
    panel.show_node(first)
    runner = panel.runner("histogram")
    qtbot.waitUntil(runner.is_busy, timeout=WAIT_MS)
    stale = runner._worker
    with qtbot.waitSignal(panel.plotsFinished, timeout=WAIT_MS):
        panel.show_node(second)
        moved.set()
    qtbot.waitUntil(lambda: not stale.is_running, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not panel.is_busy(), timeout=WAIT_MS)
    counts, _ = oracle_histogram(finite_double(oracle["extra"]["view"]), panel.histogram.bins())
    assert len(drawn) == 1 and np.array_equal(drawn[0].counts, counts)
    assert np.array_equal(panel.histogram.displayed_data()[1], counts)


def test_count_axes_tick_only_whole_numbers(qtbot, panel, saved):
    root, _ = saved
    show(qtbot, panel, find(root, "extra", "ints"))  # one bin per integer: counts of 1
    axis = panel.histogram.count_axis
    ticks = [value for _spacing, values in axis.tickValues(0.0, 1.0, 300) for value in values]
    assert ticks and all(float(value).is_integer() for value in ticks)
    panel.histogram.log_box.setChecked(True)
    assert any(not float(value).is_integer() for _s, values in axis.tickValues(0.0, 1.0, 300) for value in values)


def test_a_dict_without_tensors_lists_its_entries(qtbot, panel, qtmodeltester, tmp_path):
    path = tmp_path / "hyper.pt"
    torch.save({"hyper": {"lr": 6.791989803314209, "name": "run-1", "betas": (0.9, 0.99)}, "w": torch.ones(2)}, path)
    root = build_tree(open_checkpoint(str(path)))
    show(qtbot, panel, find(root, "hyper"))
    model = panel.entries.model
    assert panel.pages.currentWidget() is panel.entries_page
    rows = [[model.data(model.index(row, column)) for column in range(3)] for row in range(model.rowCount())]
    assert rows == [["lr", "6.791989803314209", "float"], ["name", "'run-1'", "str"], ["betas", "(0.9, 0.99)", "tuple"]]
    qtmodeltester.check(model, force_py=True)
    with qtbot.waitSignal(panel.tensorActivated) as activated:
        panel.entries.table.doubleClicked.emit(model.index(1, 0))
    assert activated.args[0].name == "name"


def test_the_panel_never_pushes_the_splitter(qtbot, saved):
    from PySide6.QtWidgets import QSplitter, QWidget

    root, _ = saved
    splitter = QSplitter()
    qtbot.addWidget(splitter)
    panel = TensorPanel()
    splitter.addWidget(QWidget())
    splitter.addWidget(panel)
    splitter.resize(900, 600)
    splitter.show()
    splitter.setSizes([600, 300])
    sizes = splitter.sizes()
    for names in (("extra", "conv"), ("model",), ("extra", "vector"), ("epoch",), ("extra", "tall")):
        show(qtbot, panel, find(root, *names))
        assert splitter.sizes() == sizes, names
    panel.shutdown()


def _view_shape(heatmap) -> float:
    box = heatmap.plot_item.vb
    return box.width() / box.height()


def test_the_heatmap_shows_the_image_and_nothing_around_it(qtbot, panel, saved):
    root, oracle = saved
    panel.show()
    qtbot.waitExposed(panel)
    panel.tensor_tabs.setCurrentWidget(panel.heatmap)
    show(qtbot, panel, find(root, "extra", "stem"))
    heatmap, box = panel.heatmap, panel.heatmap.plot_item.vb
    for mode, (rows, columns) in ((1, (64, 147)), (0, (7, 7))):  # reshaped to 2-D, then one kernel
        with qtbot.waitSignal(panel.plotsFinished, timeout=WAIT_MS):
            heatmap.mode_box.setCurrentIndex(mode)
        assert heatmap.image_data().shape == (rows, columns)
        np.testing.assert_allclose(box.viewRange(), [[-0.5, columns - 0.5], [-0.5, rows - 0.5]], atol=1e-9)
        aspect = columns / rows
        qtbot.waitUntil(lambda aspect=aspect: abs(_view_shape(heatmap) - aspect) < 0.02 * aspect)  # square cells
    show(qtbot, panel, find(root, "extra", "tall"))  # 2,100 × 40: too thin for square cells, the image fills
    step = heatmap._data.step
    rows, columns = heatmap.image_data().shape
    np.testing.assert_allclose(box.viewRange(), [[-step[1] / 2, (columns - 0.5) * step[1]],
                                                 [-step[0] / 2, (rows - 0.5) * step[0]]], atol=1e-9)
    assert heatmap.view.width() > heatmap.view.height()
    qtbot.waitUntil(lambda: _view_shape(heatmap) > 1)  # as wide as the room, not a 40:2100 sliver
