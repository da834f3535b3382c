"""The series tab: heatmap values against the core's result, progressive filling, a tensor's
distribution over the series, opening a cell's tensor, comparing two checkpoints, cancel."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QMessageBox

from inspector.core.progress import run_job
from inspector.core.series import series_job
from inspector.core.series_histograms import series_histograms_job
from inspector.core.series_view import heatmap_keys, heatmap_values
from inspector.gui.document.document import Document
from inspector.gui.series.checkpoint_table import CheckpointTableModel
from inspector.gui.series.metric_curves import ColorRole
from inspector.gui.series.series_tab import SeriesTab

TIMEOUT_MS = 60_000


@pytest.fixture
def window(window):
    window.resize(1300, 850)
    return window


def open_series(qtbot, window, folder: str) -> SeriesTab:
    tab = window.open_series([folder])
    qtbot.waitUntil(lambda: tab.state != "loading", timeout=TIMEOUT_MS)
    assert tab.state == "ready", tab.error_message
    return tab


def core_document(folder: str) -> dict:
    return run_job(series_job([folder])).to_json()


@pytest.mark.parametrize("run_name", ["lightning", "frozen", "nan"])
def test_the_heatmap_shows_the_core_result_for_every_measure(qtbot, window, series_runs, run_name):
    folder = series_runs[run_name].folder
    tab = open_series(qtbot, window, folder)
    expected = core_document(folder)
    assert tab.document == expected
    keys = heatmap_keys(expected)
    assert tab.heatmap.keys() == keys
    for measure in ("rel_step", "dist_from_first", "norm"):
        tab.heatmap.set_measure(measure)
        np.testing.assert_array_equal(tab.heatmap.values(), heatmap_values(expected, measure, keys))


def test_frozen_layers_are_grey_and_non_finite_ones_red(qtbot, window, series_runs):
    frozen = open_series(qtbot, window, series_runs["frozen"].folder)
    marks = frozen.heatmap.marks.image
    rows = [frozen.heatmap.keys().index(key) for key in ("0.weight", "2.bias")]
    assert all(tuple(marks[row, column]) == (150, 150, 150, 255) for row in rows for column in (1, 2))
    assert not marks[frozen.heatmap.keys().index("4.weight"), :, 3].any()
    broken = open_series(qtbot, window, series_runs["nan"].folder)
    row = broken.heatmap.keys().index("2.weight")
    assert [bool(broken.heatmap.marks.image[row, column, 3]) for column in range(4)] == [False, False, True, True]


def test_checkpoints_and_metrics_show_before_the_layers_are_measured(qtbot, window, series_runs):
    run = series_runs["lightning"]
    tab = window.open_series([run.folder])
    parts = []
    tab._worker.partialArrived.connect(parts.append)
    qtbot.waitUntil(lambda: tab.state != "loading", timeout=TIMEOUT_MS)
    assert "checkpoints" in parts[0] and [part["key"] for part in parts[1:]] == tab.document["keys"]
    assert tab.table.model.rowCount() == len(run.paths)
    x, y = tab.curves.curve_data("val_loss")
    assert list(x) == run.steps and list(y) == pytest.approx([metrics["val_loss"] for metrics in run.metrics])


def test_the_metric_list_is_the_legend_and_nothing_covers_the_curves(qtbot, window, series_runs):
    tab = open_series(qtbot, window, series_runs["lightning"].folder)
    curves = tab.curves
    assert curves.plot.getPlotItem().legend is None
    items = [curves.names.item(row) for row in range(curves.names.count())]
    shown = [item for item in items if item.checkState() == Qt.CheckState.Checked]
    assert shown and all(not item.icon().isNull() for item in items)
    for item in shown:  # each name's swatch has its curve's colour
        assert item.data(ColorRole) == curves.curve_item(item.text()).opts["pen"].color()
    assert len({item.data(ColorRole).name() for item in items}) == len(items)


def test_the_cell_readout_names_its_checkpoint_on_the_x_axis_and_stays_apart_from_the_title(
        qtbot, window, series_runs):
    run = series_runs["lightning"]
    tab = open_series(qtbot, window, run.folder)
    key = tab.heatmap.keys()[-1]
    value = tab.heatmap.values()[-1, 2]
    assert tab.axis() == "step"
    assert tab.heatmap.hover_text(len(tab.heatmap.keys()) - 1, 2) == \
        f"{key} · step {run.steps[2]} · relative step = {value:.6g}"
    tab.axis_box.setCurrentText("checkpoint")
    assert tab.heatmap.hover_text(len(tab.heatmap.keys()) - 1, 2).startswith(f"{key} · checkpoint #2 · ")
    with qtbot.waitSignal(tab.distributionFinished, timeout=TIMEOUT_MS):
        tab.select_key(key)
    assert tab.distribution.title.text() == f"Distribution of {key} over the series"
    controls = tab.heatmap.layout().itemAt(0).layout()  # the readout sits by the measure, above the heatmap
    assert controls.indexOf(tab.heatmap.hover) > controls.indexOf(tab.heatmap.measure_box)


def test_the_checkpoint_table_passes_the_model_tester(qtbot, qtmodeltester, series_runs):
    model = CheckpointTableModel()
    model.set_checkpoints(core_document(series_runs["trainer"].folder)["checkpoints"])
    qtmodeltester.check(model)
    assert model.headerData(4, Qt.Orientation.Horizontal) == "grad_norm"
    assert model.data(model.index(0, 1)) == "checkpoint-5/model.safetensors"


def test_double_clicking_a_cell_opens_that_tensor_at_that_checkpoint(qtbot, window, series_runs):
    run = series_runs["ddp"]
    tab = open_series(qtbot, window, run.folder)
    row = tab.heatmap.keys().index("2.weight")
    click_cell(qtbot, tab, row, 3, double=True)
    document = window.current_document()
    assert isinstance(document, Document) and document.path == run.paths[3]
    qtbot.waitUntil(lambda: document.tree_panel.current_node() is not None, timeout=TIMEOUT_MS)
    node = document.tree_panel.current_node()
    assert node.path == ("model", "module.2.weight")  # saved under DDP's name, found by the series' key
    assert node.tensor.shape == (12, 12)


def test_clicking_a_row_shows_its_distribution_over_the_series(qtbot, window, series_runs):
    run = series_runs["plain"]
    tab = open_series(qtbot, window, run.folder)
    row = tab.heatmap.keys().index("2.weight")
    with qtbot.waitSignal(tab.distributionFinished, timeout=TIMEOUT_MS):
        click_cell(qtbot, tab, row, 1)
    expected = run_job(series_histograms_job(run.paths, tab.document["keys"], "2.weight", bins=64))
    x, bands = tab.distribution.band_data()
    assert list(x) == [0, 1, 2, 3]  # epochs: the plain files record no step
    np.testing.assert_array_equal(bands, np.array([entry["bands"] for entry in expected["checkpoints"]]).T)
    tab.distribution.set_shown_range(1, 2)
    x, bands = tab.distribution.band_data()
    assert list(x) == [1, 2] and bands.shape == (7, 2)


def test_compare_these_two_sends_the_selected_checkpoints_in_order(qtbot, series_runs):
    tab = SeriesTab([series_runs["timm"].folder], can_compare=True)
    qtbot.addWidget(tab)
    tab.start()
    qtbot.waitUntil(lambda: tab.state != "loading", timeout=TIMEOUT_MS)
    assert not tab.table.compare_button.isEnabled()
    tab.table.select_rows([2, 0])
    assert tab.table.compare_button.isEnabled()
    with qtbot.waitSignal(tab.compareRequested) as sent:
        tab.table.compare_button.click()
    assert sent.args == [series_runs["timm"].paths[0], series_runs["timm"].paths[2]]
    tab.shutdown()


def test_cancel_stops_the_worker_and_keeps_the_tab(qtbot, window, slow_file, tmp_path):
    for name in ("e1.pkl", "e2.pkl", "e3.pkl"):
        os.symlink(slow_file, tmp_path / name)  # slow to read, one after the other
    tab = window.open_series([str(tmp_path)])
    pid = tab._worker.pid
    with qtbot.waitSignal(tab._worker.progressed, timeout=TIMEOUT_MS):
        pass
    assert tab.state == "loading", "the files were read too fast to test cancelling"
    qtbot.mouseClick(tab.loading_bar.cancel_button, Qt.MouseButton.LeftButton)
    assert tab.state == "cancelled" and not _process_exists(pid)


def test_a_series_that_cannot_be_summarised_says_why_in_place(qtbot, window, bad_files):
    tab = window.open_series([bad_files["page.pt"]])
    qtbot.waitUntil(lambda: tab.state != "loading", timeout=TIMEOUT_MS)
    assert tab.state == "error" and "HTML" in tab.messages.text.text()
    assert tab.pages.currentWidget() is tab.messages and window.tabs.count() == 1


def test_dropping_a_run_folder_asks_and_opens_a_series_or_each_file(qtbot, window, series_runs):
    folder = series_runs["timm"].folder
    drop(window, [folder])
    question = window.findChild(QMessageBox)
    assert window.tabs.count() == 0 and "holds several checkpoints" in question.text()
    question.series_button.click()
    tab = window.tabs.currentWidget()
    assert isinstance(tab, SeriesTab) and tab.paths == [folder] and window.documents() == []
    qtbot.waitUntil(lambda: tab.state != "loading", timeout=TIMEOUT_MS)
    assert window.windowTitle().startswith("Series: ") and "4 checkpoints" not in window.status_label.text()
    assert window.status_label.text().startswith("3 checkpoints of one model")
    drop(window, [folder])
    next(box for box in window.findChildren(QMessageBox) if box.isVisible()).files_button.click()
    assert len(window.documents()) == 4  # three checkpoints and model_best, each a document
    for document in window.documents():
        qtbot.waitUntil(lambda document=document: document.state != "loading", timeout=TIMEOUT_MS)
    window.close_document(window.tabs.indexOf(tab))
    assert tab not in window.series_tabs()


def test_compare_these_two_opens_the_compare_view(qtbot, window, series_runs):
    from inspector.gui.compare.compare_view import CompareView

    run = series_runs["lightning"]
    tab = open_series(qtbot, window, run.folder)
    tab.table.select_rows([0, 3])
    tab.table.compare_button.click()
    view = window.tabs.currentWidget()
    assert isinstance(view, CompareView)
    assert (view.state.path_a, view.state.path_b) == (run.paths[0], run.paths[3])
    qtbot.waitUntil(lambda: view.phase != "running", timeout=TIMEOUT_MS)


def test_file_menu_opens_a_series(window):
    assert window.actions.open_series.text() == "Open &Series…"
    file_menu = window.menuBar().actions()[0].menu()
    assert window.actions.open_series in file_menu.actions()


def click_cell(qtbot, tab: SeriesTab, row: int, column: int, double: bool = False) -> None:
    view = tab.heatmap.view
    qtbot.waitUntil(lambda: tab.heatmap.cell_at(tab.heatmap.cell_center(row, column)) == (row, column))
    point = view.mapFromScene(tab.heatmap.cell_center(row, column))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=point)
    if double:  # what a real double click sends next: Qt reports its second press as a double click
        qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=point)
        qtbot.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, pos=point)


def drop(window, paths: list[str]) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(path) for path in paths])
    event = QDropEvent(QPointF(40, 40), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    assert event.isAccepted()


def _process_exists(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False
