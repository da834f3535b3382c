"""The compare tab against the engine and torch: rows as ``diff_job`` gives them, plots as
numpy gives them on torch's values, rules switched off, a cancelled run, a broken file."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt
from PySide6.QtTest import QAbstractItemModelTester

from inspector.core.diff import DiffOptions, diff_job
from inspector.core.progress import run_job
from inspector.gui.compare.compare_view import KEY_TAB, CompareView
from inspector.gui.compare.diff_model import DiffTableModel as M, entry_text
from tests.gui.compare.conftest import PLOTS_MS, RUN_MS, run

FIELDS = ("status", "shape_a", "shape_b", "dtype_a", "dtype_b", "numel", "max_abs", "mean_abs", "rms",
          "rel_l2", "cosine", "mismatched")
DP_RULE = "strip 'module.' from B"


def core_rows(path_a: str, path_b: str, **options) -> list[dict]:
    return run_job(diff_job(path_a, path_b, DiffOptions(**options))).to_json()["tensors"]


def assert_rows_match(widget: CompareView, expected: list[dict]) -> None:
    entries = widget.table.model.entries()
    assert [entry.key for entry in entries] == [row["key"] for row in expected]
    for entry, row in zip(entries, expected):
        shown = {name: getattr(entry, name) for name in FIELDS}
        for name in ("shape_a", "shape_b"):
            shown[name] = None if shown[name] is None else list(shown[name])
        assert shown == {name: row[name] for name in FIELDS}, row["key"]


def test_the_table_lists_every_key_as_the_core_diff_does(qtbot, view, compare_pair):
    widget = view(*compare_pair)
    run(qtbot, widget)
    expected = core_rows(*compare_pair)
    assert widget.phase == "done"
    assert_rows_match(widget, expected)
    summary = run_job(diff_job(*compare_pair)).summary
    assert widget.state.summary == summary
    assert widget.table.chips["changed"].text() == f"changed {summary['changed']}"
    assert widget.table.chips["only_b"].text() == f"only B {summary['only_b']}"
    assert widget.alignment_bar.rule_names() == {DP_RULE: True}
    texts = {entry.key: entry_text(entry, M.REL_L2) for entry in widget.table.model.entries()}
    for row in expected:
        if row["rel_l2"] is not None and row["key"] not in nan_keys(*compare_pair):
            assert texts[row["key"]] == format(row["rel_l2"], ".3g")


def nan_keys(path_a: str, path_b: str) -> dict[str, tuple[int, int]]:
    """Keys whose NaN count differs, by torch: {key: (NaN in A, NaN in B)} (B's keys stripped of 'module.')."""
    a = torch.load(path_a, weights_only=True)["state_dict"]
    b = {key.removeprefix("module."): value for key, value in torch.load(path_b, weights_only=True)["state_dict"].items()}
    counts = {key: (int(a[key].isnan().sum()), int(b[key].isnan().sum())) for key in a.keys() & b.keys()
              if a[key].shape == b[key].shape and a[key].is_floating_point()}
    return {key: pair for key, pair in counts.items() if pair[0] != pair[1]}


def test_a_tensor_that_went_nan_stands_out_in_the_table_and_the_chart(qtbot, view, compare_pair):
    widget = view(*compare_pair)
    run(qtbot, widget)
    expected = nan_keys(*compare_pair)
    assert list(expected.values()) == [(0, 1)]  # the fixture's NaN bias, in B only
    (key,) = expected
    first = widget.table.visible_entries()[0]
    assert first.key == key and entry_text(first, M.REL_L2) == "NaN in B"
    model = widget.table.model
    assert model.data(model.index_of_entry(first, M.KEY), Qt.ItemDataRole.DecorationRole) is not None
    assert "B: 1 NaN" in model.data(model.index_of_entry(first, M.REL_L2), Qt.ItemDataRole.ToolTipRole)
    chart = widget.chart
    chart.scope_box.setCurrentIndex(1)  # the bias is 1-D
    starred = [row.key for row, star in zip(chart.shown_rows(), chart.starred()) if star]
    assert starred == [key] and "1 with NaN/Inf on one side" in chart.summary.text()
    star_x, star_y = chart.stars.getData()
    assert list(star_y) == [chart.names().index(key)]
    moved = chart.values()[np.isfinite(chart.values()) & ~chart.starred()]
    assert star_x[0] > moved.max()  # past the largest change, whatever its metrics over finite positions
    (x_low, x_high), (y_low, y_high) = chart.plot.getPlotItem().vb.viewRange()
    assert x_low < np.log10(moved[moved > 0].min()) and np.log10(star_x[0]) < x_high
    assert y_low < 0 and len(chart.names()) - 1 < y_high


def test_rows_are_sorted_most_changed_first_and_filtered_by_chips(qtbot, view, compare_pair):
    widget = view(*compare_pair)
    run(qtbot, widget)
    shown = widget.table.visible_entries()
    scores = [entry.change_score for entry in shown]
    assert scores == sorted(scores, reverse=True) and len(shown) == len(widget.state.rows)
    assert shown[-1].status == "equal" and shown[0].status == "changed"
    widget.table.chips["equal"].setChecked(False)
    widget.table.chips["close"].setChecked(False)
    remaining = widget.table.visible_entries()
    assert {entry.status for entry in remaining} == {entry.status for entry in shown} - {"equal", "close"}
    widget.table.filter_edit.setText("4.")
    qtbot.waitUntil(lambda: {entry.key for entry in widget.table.visible_entries()}
                    == {entry.key for entry in remaining if "4." in entry.key})


def test_models_pass_the_model_tester_flat_and_grouped(qtbot, qtmodeltester, view, compare_pair):
    widget = view(*compare_pair)
    run(qtbot, widget)
    qtmodeltester.check(widget.table.model)
    qtmodeltester.check(widget.table.proxy)
    widget.table.group_box.setChecked(True)
    qtmodeltester.check(widget.table.model)
    qtmodeltester.check(widget.table.proxy)
    model = widget.table.model
    names = [model.data(model.index(row, M.KEY)) for row in range(model.rowCount())]
    assert names == ["0", "1", "4", "extra"]
    head = model.index(names.index("4"), 0)
    below = [entry for entry in widget.state.rows if entry.key.startswith("4.")]
    rel = [entry.rel_l2 for entry in below if entry.rel_l2 is not None]
    went_nan = any(entry.key in nan_keys(*compare_pair) for entry in below)
    assert model.data(model.index(head.row(), M.REL_L2)) == ("NaN/Inf" if went_nan else format(max(rel), ".3g"))
    assert model.data(model.index(head.row(), M.SHAPE)) == f"{len(below)} tensors"


@pytest.mark.parametrize("grouped", [False, True])
def test_models_stay_valid_while_rows_stream_in(qtbot, view, compare_pair, grouped):
    widget = view(*compare_pair)
    widget.table.group_box.setChecked(grouped)
    # Qt's tester checks every insert and change while it lives; its complaints fail the test
    testers = [QAbstractItemModelTester(model, QAbstractItemModelTester.FailureReportingMode.Warning)
               for model in (widget.table.model, widget.table.proxy)]
    run(qtbot, widget)
    run(qtbot, widget, lambda: widget.alignment_bar.rule_box(DP_RULE).setChecked(False))
    assert widget.table.model.grouped == grouped and len(widget.table.visible_entries()) == len(widget.state.rows)
    assert len(testers) == 2


def test_rows_fill_the_table_while_the_run_is_going(qtbot, view, compare_pair):
    widget = view(*compare_pair)
    phases = []
    widget.table.model.rowsInserted.connect(lambda *_: phases.append(widget.phase))
    run(qtbot, widget)
    assert phases and set(phases) == {"running"}


def test_selected_key_plots_equal_numpy_on_torchs_values(qtbot, view, compare_pair):
    widget = view(*compare_pair)
    run(qtbot, widget)
    value_a = torch.load(compare_pair[0], weights_only=True)["state_dict"]["0.weight"]
    value_b = torch.load(compare_pair[1], weights_only=True)["state_dict"]["module.0.weight"]
    panel = widget.key_panel
    with qtbot.waitSignal(panel.plotsFinished, timeout=PLOTS_MS):
        assert widget.select_key("0.weight")
    assert widget.side_tabs.currentIndex() == KEY_TAB
    first, second = value_a.double().flatten().numpy(), value_b.double().flatten().numpy()
    bins = panel.histogram.bins()
    edges = np.linspace(min(first.min(), second.min()), max(first.max(), second.max()), bins + 1)
    x_a, y_a = panel.histogram.displayed_data()
    x_b, y_b = panel.histogram.displayed_data_b()
    np.testing.assert_allclose(x_a, edges, rtol=0, atol=1e-12)
    assert np.array_equal(x_a, x_b)
    assert np.array_equal(y_a, np.histogram(first, bins=edges)[0])
    assert np.array_equal(y_b, np.histogram(second, bins=edges)[0])
    delta = second - first
    x_d, y_d = panel.delta_histogram.displayed_data()
    delta_edges = np.linspace(delta.min(), delta.max(), panel.delta_histogram.bins() + 1)
    np.testing.assert_allclose(x_d, delta_edges, rtol=0, atol=1e-15)
    assert np.array_equal(y_d, np.histogram(delta, bins=delta_edges)[0])
    assert float(panel.stats_view.full_text("A", "mean")) == pytest.approx(first.mean(), rel=1e-12)
    assert float(panel.stats_view.full_text("B", "std")) == pytest.approx(value_b.double().std().item(), rel=1e-12)
    image_a, image_b, image_delta = panel.heatmaps.images()
    assert np.array_equal(image_a, value_a[0, 0].numpy()) and np.array_equal(image_b, value_b[0, 0].numpy())
    assert np.array_equal(image_delta, (value_b[0, 0].double() - value_a[0, 0].double()).float().numpy())


def test_slicing_and_bins_redraw_the_selected_key(qtbot, view, compare_pair):
    widget = view(*compare_pair)
    run(qtbot, widget)
    value_b = torch.load(compare_pair[1], weights_only=True)["state_dict"]["module.0.weight"]
    panel = widget.key_panel
    with qtbot.waitSignal(panel.plotsFinished, timeout=PLOTS_MS):
        widget.select_key("0.weight")
    with qtbot.waitSignal(panel.runner("heatmap").settled, timeout=PLOTS_MS):
        panel.heatmaps.view_a._index_boxes[0].setValue(4)
    assert np.array_equal(panel.heatmaps.images()[1], value_b[4, 0].numpy())
    with qtbot.waitSignal(panel.runner("delta").settled, timeout=PLOTS_MS):
        panel.delta_histogram.bins_box.setValue(9)
    assert len(panel.delta_histogram.displayed_data()[1]) == 9


def test_a_key_only_in_b_shows_b_alone(qtbot, view, compare_pair):
    widget = view(*compare_pair)
    run(qtbot, widget)
    panel = widget.key_panel
    with qtbot.waitSignal(panel.plotsFinished, timeout=PLOTS_MS):
        widget.select_key("extra.scale")
    assert len(panel.histogram.displayed_data()[1]) == 0
    assert panel.histogram.displayed_data_b()[1].sum() == 4
    assert "only in B" in panel.delta_histogram.note.text()
    assert panel.stats_view.text("A", "max") == "–" and panel.stats_view.text("B", "max") == "1.0"


def test_switching_the_alignment_rule_off_reruns_as_the_core_says(qtbot, view, compare_pair):
    widget = view(*compare_pair)
    run(qtbot, widget)
    box = widget.alignment_bar.rule_box(DP_RULE)
    run(qtbot, widget, lambda: box.setChecked(False))
    assert widget.state.options.disabled == (DP_RULE,)
    assert_rows_match(widget, core_rows(*compare_pair, disabled=(DP_RULE,)))
    assert widget.state.summary["only_a"] > 0 and widget.alignment_bar.rule_names() == {DP_RULE: False}
    run(qtbot, widget, lambda: widget.alignment_bar.rule_box(DP_RULE).setChecked(True))
    assert_rows_match(widget, core_rows(*compare_pair))


def test_alignment_off_and_a_forced_prefix(qtbot, view, compare_pair):
    widget = view(*compare_pair)
    run(qtbot, widget)
    run(qtbot, widget, lambda: widget.alignment_bar.align_box.setChecked(False))
    assert_rows_match(widget, core_rows(*compare_pair, no_align=True))
    run(qtbot, widget, lambda: widget.alignment_bar.align_box.setChecked(True))
    edit = widget.alignment_bar.fields["strip_b"]
    edit.setText("module.4.")

    def strip():
        edit.editingFinished.emit()

    run(qtbot, widget, strip)
    assert widget.state.options.strip_b == "module.4."
    assert_rows_match(widget, core_rows(*compare_pair, strip_b="module.4."))


def test_a_new_run_drops_the_old_one_and_keeps_the_selected_key(qtbot, view, compare_pair):
    widget = view(*compare_pair)
    run(qtbot, widget)
    widget.select_key("4.0.weight")
    replaced = []

    def restart_twice():
        widget.start()
        replaced.append(widget.worker_pid())
        widget.start(widget.state.with_options(rtol=0.5))

    finished = []
    widget.runFinished.connect(lambda: finished.append(widget.state.options.rtol))
    run(qtbot, widget, restart_twice)
    assert replaced[0] is not None and not _alive(replaced[0]) and finished == [0.5]
    assert_rows_match(widget, core_rows(*compare_pair, rtol=0.5))
    assert widget.table.current_entry().key == "4.0.weight"


def test_cancel_stops_a_long_diff(qtbot, view, slow_file, tmp_path):
    copy = tmp_path / "slow_copy.pkl"
    copy.write_bytes(open(slow_file, "rb").read())
    widget = view(slow_file, str(copy))
    widget.start()
    pid = widget.worker_pid()
    with qtbot.waitSignal(widget._worker.progressed, timeout=RUN_MS):
        pass  # the worker is into the files
    assert widget.phase == "running", "the diff ended too fast to test cancelling"
    with qtbot.waitSignal(widget.runFinished, timeout=RUN_MS):
        qtbot.mouseClick(widget.header.cancel_button, Qt.MouseButton.LeftButton)
    assert widget.phase == "cancelled" and widget.worker_pid() is None and not _alive(pid)
    assert widget.header.rerun_button.isVisibleTo(widget) and "Cancelled" in widget.header.summary.text()


@pytest.mark.parametrize("side", ["a", "b"])
def test_a_broken_file_on_either_side_shows_its_error_in_place(qtbot, view, compare_pair, bad_files, side):
    paths = (bad_files["page.pt"], compare_pair[1]) if side == "a" else (compare_pair[0], bad_files["page.pt"])
    widget = view(*paths)
    run(qtbot, widget)
    assert widget.phase == "error" and widget.body.currentWidget() is widget.messages
    assert "HTML" in widget.messages.text.text() and bad_files["page.pt"] in widget.messages.text.text()
    assert "\n" not in widget.state.error and "Traceback" not in widget.state.error
    assert widget.alignment_bar.options_row.isVisibleTo(widget)
    run(qtbot, widget, widget.messages.retry_button.click)
    assert widget.phase == "error"


def test_the_chart_shows_relative_change_in_depth_order(qtbot, view, compare_pair):
    widget = view(*compare_pair)
    run(qtbot, widget)
    chart = widget.chart
    weights = [entry for entry in widget.state.rows
               if entry.status in ("changed", "close", "dtype", "equal") and entry.ndim >= 2]
    assert chart.names() == [entry.key for entry in weights]
    expected = [np.nan if entry.rel_l2 is None else entry.rel_l2 for entry in weights]
    np.testing.assert_array_equal(chart.values(), np.asarray(expected))
    chart.scope_box.setCurrentIndex(1)
    assert len(chart.names()) > len(weights)
    with qtbot.waitSignal(widget.key_panel.plotsFinished, timeout=PLOTS_MS):
        chart.entryActivated.emit(chart.shown_rows()[0])
    assert widget.table.current_entry() is chart.shown_rows()[0]


def test_swap_makes_b_the_reference(qtbot, view, compare_pair):
    widget = view(*compare_pair)
    run(qtbot, widget)
    run(qtbot, widget, widget.header.swap_button.click)
    assert (widget.state.path_a, widget.state.path_b) == (compare_pair[1], compare_pair[0])
    assert_rows_match(widget, core_rows(compare_pair[1], compare_pair[0]))
    assert widget.title == "tuned.pt ⇄ base.pt"


def _alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False



def test_a_theme_switch_keeps_the_value_axes_unscaled(qtbot, view, compare_pair):
    from inspector.gui.window.theme import dark_palette

    widget = view(*compare_pair)
    run(qtbot, widget)
    panel = widget.key_panel
    with qtbot.waitSignal(panel.plotsFinished, timeout=PLOTS_MS):
        widget.select_key("0.weight")  # values within ±0.5: pyqtgraph would show them ×1000
    widget.setPalette(dark_palette())
    axes = [plot.plot.getPlotItem().getAxis("bottom") for plot in (panel.histogram, panel.delta_histogram)]
    assert [axis.autoSIPrefixScale for axis in axes] == [1.0, 1.0]
