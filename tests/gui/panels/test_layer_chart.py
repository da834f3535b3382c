"""The per-layer chart's names, value axis and summary, on checkpoints written by torch: torch's
own keys and values are the oracle for what each row is and where it must be drawn."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from PySide6.QtCore import QPointF
from PySide6.QtGui import QFontMetricsF

from tests.gui.panels.conftest import find, show as show_node
from inspector.core.loader import open_checkpoint
from inspector.core.tree import build_tree



class Block(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = torch.nn.Conv2d(8, 8, 3, bias=False)
        self.bn1 = torch.nn.BatchNorm2d(8)
        self.conv2 = torch.nn.Conv2d(8, 8, 3, bias=False, padding=2)

    def forward(self, x):
        return self.conv2(self.bn1(self.conv1(x)))


class Net(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 8, 3, bias=False)
        self.layer1 = torch.nn.Sequential(Block(), Block())


class LanguageModel(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = torch.nn.Embedding(100, 32)
        self.blocks = torch.nn.ModuleList(
            [torch.nn.TransformerEncoderLayer(32, 4, 64, batch_first=True) for _ in range(2)])


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    torch.manual_seed(0)
    net = Net()
    optimizer = torch.optim.Adam(net.parameters())
    net.eval()  # the norms keep their fresh statistics: constant vectors
    net.layer1(net.conv1(torch.randn(1, 3, 12, 12))).square().mean().backward()
    optimizer.step()
    path = tmp_path_factory.mktemp("layer_chart") / "run.pt"
    torch.save({"model": net.state_dict(), "optimizer": optimizer.state_dict(), "lm": LanguageModel().state_dict()},
               path)
    return build_tree(open_checkpoint(str(path))), torch.load(path, weights_only=True)


def show(qtbot, panel, node):
    show_node(qtbot, panel, node)
    return panel.layer_chart


def labels(chart) -> list[str]:
    return [chart.name_axis.label_text(index) for index in range(len(chart.names()))]


def test_names_leave_off_the_module_path_and_are_whole_where_there_is_room(qtbot, panel, saved):
    root, oracle = saved
    chart = show(qtbot, panel, find(root, "model", "layer1"))
    keys = [key for key, value in oracle["model"].items() if key.startswith("layer1.") and value.dim() >= 2]
    assert chart.names() == keys
    assert chart.axis_names() == [key.removeprefix("layer1.") for key in keys]
    assert labels(chart) == chart.axis_names()  # the same length each: none elided for a rounded-down width
    assert "names shown without “layer1.”" in chart.summary.text()
    chart = show(qtbot, panel, find(root, "model", "conv1"))
    assert chart.axis_names() == labels(chart) == ["conv1.weight"]  # a single row keeps its whole name


def test_a_narrow_chart_keeps_what_tells_its_rows_apart(qtbot, panel, saved):
    root, oracle = saved
    panel.resize(330, 600)
    chart = show(qtbot, panel, find(root, "lm"))
    keys = [key for key, value in oracle["lm"].items() if value.dim() >= 2]
    assert chart.names() == keys
    shown = labels(chart)
    assert any(label != key for label, key in zip(shown, keys))  # the room is too small for some
    metrics = QFontMetricsF(chart.name_axis.font())
    width = chart.name_axis._text_width
    assert all(metrics.horizontalAdvance(label) <= width for label in shown)
    assert len(set(shown)) == len(shown)
    for label, key in zip(shown, keys):
        assert label.split(".")[-1] == key.split(".")[-1]  # the leaf, whole
        if key.startswith("blocks."):
            assert label.split(".")[1] == key.split(".")[1]  # the block's number


def _scene_x(chart, value: float) -> float:
    return chart.plot.getPlotItem().vb.mapViewToScene(QPointF(value, 0.0)).x()


def test_log_axis_spans_a_decade_labels_its_ticks_and_cuts_no_point(qtbot, panel, saved):
    root, oracle = saved
    chart = show(qtbot, panel, find(root, "model", "layer1"))
    stds = [value.double().std().item() for key, value in oracle["model"].items()
            if key.startswith("layer1.") and value.dim() >= 2]
    assert max(stds) / min(stds) < 10  # torch's init: all within one decade
    np.testing.assert_allclose(chart.values(), stds, rtol=1e-6)
    low, high = chart.plot.getPlotItem().vb.viewRange()[0]
    assert high - low >= 1.0 and low < math.log10(min(stds)) and math.log10(max(stds)) < high
    box = chart.plot.getPlotItem().vb.sceneBoundingRect()
    radius = chart.points.opts["symbolSize"] / 2
    assert _scene_x(chart, math.log10(max(stds))) + radius < box.right()
    assert _scene_x(chart, math.log10(min(stds))) - radius > box.left()
    axis = chart.plot.getAxis("bottom")
    ticks = [value for _spacing, values in axis.tickValues(low, high, box.width()) for value in values]
    assert len([text for text in axis.tickStrings(ticks, 1.0, 1.0) if text]) >= 2


def test_linear_axis_starts_at_zero_and_cuts_no_bar(qtbot, panel, saved):
    root, _ = saved
    chart = show(qtbot, panel, find(root, "model", "layer1"))
    chart.log_box.setChecked(False)
    low, high = chart.plot.getPlotItem().vb.viewRange()[0]
    assert low < 0 < max(chart.values()) < high
    assert _scene_x(chart, max(chart.values())) + 2 < chart.plot.getPlotItem().vb.sceneBoundingRect().right()


def test_the_summary_counts_what_is_drawn_and_says_why_not_the_rest(qtbot, panel, saved):
    root, oracle = saved
    chart = show(qtbot, panel, find(root, "optimizer", "state", "0"))
    state = oracle["optimizer"]["state"][0]
    drawable = [name for name, value in state.items() if value.numel() > 1]  # a std needs two values
    single = [name for name, value in state.items() if value.numel() == 1]
    assert single and chart.summary.text().startswith(
        f"{len(drawable)} floating-point tensors charted of {len(state)} tensors below (no weights ≥ 2-D here)")
    assert f"not drawn, no std: {', '.join(single)}" in chart.summary.text()
    chart = show(qtbot, panel, find(root, "model", "layer1", "0"))
    chart.set_all_tensors(True)
    block = {key: value for key, value in oracle["model"].items()
             if key.startswith("layer1.0.") and value.is_floating_point()}
    constant = [key for key, value in block.items() if value.double().std().item() == 0]  # fresh norms
    assert constant and chart.summary.text().startswith(
        f"{len(block) - len(constant)} floating-point tensors charted of {len(block) + 1} tensors below")
    assert f"not drawn, zero, off the log scale: {constant[0]}" in chart.summary.text()
    chart.log_box.setChecked(False)  # zero is on a linear scale
    assert chart.summary.text().startswith(f"{len(block)} floating-point tensors charted")


def test_one_of_a_kind_is_singular(qtbot, panel, saved):
    root, _ = saved
    chart = show(qtbot, panel, find(root, "model", "conv1"))
    assert chart.summary.text() == "1 weight (≥ 2-D) charted of 1 tensor below"
    assert panel.header.details.toolTip().startswith("module  ·  1 tensor  ·  ")
