"""The compare view at the default size and at 900x600: heatmaps fitted to the slice and
arranged so that each keeps its room, the selected row named on the chart's axis, titles that
fit, histograms that keep their height, and no colour bar left from an earlier key."""

from __future__ import annotations

import numpy as np
import pytest

from tests.gui.compare.conftest import PLOTS_MS, run

DP_RULE = "strip 'module.' from B"
# the compare tab's own size in a window of 1280x800 and of 900x600 (menu, tabs and status bar take the rest)
DEFAULT, SMALL = (1280, 727), (900, 527)
CONV = "0.weight"  # [6, 3, 3, 3]: its default slice is a 3x3 kernel
KEY_TAB = 1


def select(qtbot, widget, key: str) -> None:
    with qtbot.waitSignal(widget.key_panel.plotsFinished, timeout=PLOTS_MS):
        assert widget.select_key(key)


def show_heatmaps(qtbot, widget) -> None:
    panel = widget.key_panel
    panel.tabs.setCurrentWidget(panel.heatmaps)
    qtbot.waitUntil(lambda: all(view.plot_item.vb.width() > 10 for view in panel.heatmaps.views()
                                if view.slice_data() is not None))


def square(view) -> bool:
    box = view.plot_item.vb.size()
    return abs(box.width() - box.height()) <= 0.1 * box.width() + 2


def fitted(view, rows: int, columns: int) -> bool:
    """The view shows the whole slice (pixel centres at 0 … n − 1) and little else."""
    (x_low, x_high), (y_low, y_high) = view.view_range()
    spans = ((x_low, x_high, columns), (y_low, y_high, rows))
    return all(low <= -0.5 and high >= size - 0.5 and high - low <= size * 1.1 for low, high, size in spans)


@pytest.mark.parametrize("size", [DEFAULT, SMALL])
def test_heatmaps_fit_the_slice_and_never_overlap(qtbot, view, compare_pair, size):
    widget = view(*compare_pair)
    widget.resize(*size)
    run(qtbot, widget)
    select(qtbot, widget, CONV)
    show_heatmaps(qtbot, widget)
    heatmaps = widget.key_panel.heatmaps
    views = heatmaps.views()
    assert [tuple(view.slice_shape()) for view in views] == [(3, 3)] * 3
    qtbot.waitUntil(lambda: all(fitted(view, 3, 3) for view in views))
    qtbot.waitUntil(lambda: all(square(view) for view in views))  # square pixels, once laid out
    boxes = [view.geometry() for view in views]
    assert all(heatmaps.area.rect().contains(box) for box in boxes)
    assert not any(first.intersects(second) for i, first in enumerate(boxes) for second in boxes[i + 1:])
    plots = [view.plot_item.vb.size() for view in views]
    assert all(abs(plot.width() - plots[0].width()) <= 2 for plot in plots)  # the same size, for comparing
    assert min(min(plot.width(), plot.height()) for plot in plots) >= 48


def test_a_wide_slice_is_stacked_rather_than_squeezed_side_by_side(qtbot, view, compare_pair):
    widget = view(*compare_pair)
    widget.resize(*DEFAULT)
    run(qtbot, widget)
    select(qtbot, widget, "4.0.weight")  # [8, 24]
    show_heatmaps(qtbot, widget)
    heatmaps = widget.key_panel.heatmaps
    qtbot.waitUntil(lambda: all(fitted(view, 8, 24) for view in heatmaps.views() if view.slice_data() is not None))
    assert heatmaps.arrangement in ("two over one", "column")


def test_a_side_without_the_key_keeps_no_image_or_colour_bar(qtbot, view, compare_pair):
    widget = view(*compare_pair)
    run(qtbot, widget)
    select(qtbot, widget, CONV)
    show_heatmaps(qtbot, widget)
    heatmaps = widget.key_panel.heatmaps
    assert all(view.colorbar.isVisible() for view in heatmaps.views())
    with qtbot.waitSignal(widget.key_panel.plotsFinished, timeout=PLOTS_MS):
        run(qtbot, widget, lambda: widget.alignment_bar.rule_box(DP_RULE).setChecked(False))
    assert widget.key_panel.entry().key == CONV and widget.key_panel.entry().status == "only_a"
    for view in (heatmaps.view_b, heatmaps.view_delta):
        assert view.image_data() is None and not view.colorbar.isVisible() and not view.plot_item.isVisible()
        assert view.title in view.info.text()
    assert heatmaps.view_a.colorbar.isVisible() and heatmaps.view_a.image_data() is not None


@pytest.fixture(scope="module")
def deep_pair(tmp_path_factory):
    """A stack of 40 small layers with long names (as in a real network), and a copy with every
    weight moved a little."""
    import torch

    folder = tmp_path_factory.mktemp("deep_pair")
    torch.manual_seed(0)
    net = torch.nn.Sequential(*(torch.nn.Linear(4, 4) for _ in range(40)))
    before = {f"encoder.layers.{key.replace('.', '.mlp.out_proj.')}": value.clone()
              for key, value in net.state_dict().items()}
    after = {key: value + 0.01 * torch.randn_like(value) for key, value in before.items()}
    paths = str(folder / "a.pt"), str(folder / "b.pt")
    torch.save(before, paths[0])
    torch.save(after, paths[1])
    return paths


def test_the_chart_names_the_selected_row_and_its_title_fits(qtbot, view, deep_pair):
    widget = view(*deep_pair)
    widget.resize(*SMALL)
    run(qtbot, widget)
    chart = widget.chart
    widget.side_tabs.setCurrentWidget(chart)
    shown = chart.shown_rows()
    height = chart.plot.getPlotItem().vb.height()
    step = chart.name_axis.tickValues(-0.5, len(shown) - 0.5, height)[0][0]
    assert step > 1  # not every row can be named at this size
    for index in (1, len(shown) - 3):  # neither is a multiple of the step
        chart.set_current(shown[index])
        labelled = chart.name_axis.labels_shown(height)
        assert index in labelled
        assert all(b - a >= step for a, b in zip(labelled, labelled[1:]))  # never on top of each other
    axis = chart.plot.getPlotItem().getAxis("bottom")
    for width in (SMALL[0], 700):  # a shorter title that still says "log" wins over a longer one that does not
        widget.resize(width, SMALL[1])
        qtbot.waitUntil(lambda: chart.fontMetrics().horizontalAdvance(chart.axis_title()) <= axis.width())
        assert "log" in chart.axis_title()


def test_a_short_panel_moves_the_statistics_into_a_tab_so_histograms_keep_their_height(qtbot, view, compare_pair):
    widget = view(*compare_pair)
    widget.resize(*DEFAULT)
    run(qtbot, widget)
    select(qtbot, widget, CONV)
    panel = widget.key_panel
    assert not panel.statistics_in_tab()
    widget.resize(*SMALL)
    qtbot.waitUntil(panel.statistics_in_tab)
    assert panel.tabs.currentWidget() is panel.histogram.parentWidget()
    assert panel.tabs.tabText(0) == "Statistics" and panel.stats_view.parentWidget() is panel.stats_tab
    for plot in (panel.histogram, panel.delta_histogram):
        qtbot.waitUntil(lambda plot=plot: plot.plot.getPlotItem().vb.height() >= 60)
    legend, box = panel.histogram.legend, panel.histogram.plot.getPlotItem().vb
    assert legend.columnCount == 2 and legend.sceneBoundingRect().height() < box.sceneBoundingRect().height() / 2
    widget.resize(*DEFAULT)
    qtbot.waitUntil(lambda: not panel.statistics_in_tab())
    assert panel.tabs.indexOf(panel.stats_tab) == -1 and panel.stats_view.isVisible()
    assert np.isfinite(float(panel.stats_view.full_text("A", "max")))
