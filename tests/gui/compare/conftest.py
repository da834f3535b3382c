"""Checkpoint pairs for the compare view, written by torch once per session; compare tabs that
stop their workers at the end of a test."""

from __future__ import annotations

import pytest

from inspector.core.diff import DiffOptions
from inspector.gui.compare.compare_view import CompareView
from inspector.gui.compare.key_panel import RUNNERS

RUN_MS = 60_000
PLOTS_MS = 20_000


@pytest.fixture(scope="session")
def compare_pair(tmp_path_factory):
    """A small model, and a fine-tuned copy saved through DataParallel: its head replaced by
    one of another size, one key added, a NaN in a bias, a conv weight moved a little."""
    import torch
    from torch import nn

    folder = tmp_path_factory.mktemp("compare_pair")
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 6, 3), nn.BatchNorm2d(6), nn.ReLU(), nn.Flatten(),
                        nn.Sequential(nn.Linear(24, 8), nn.Linear(8, 5)))
    before = {key: value.clone() for key, value in net.state_dict().items()}
    with torch.no_grad():
        net[0].weight.add_(0.02 * torch.randn_like(net[0].weight))
        net[4][0].weight.mul_(1.5)
        net[4][0].bias[2] = float("nan")
        net[1].running_mean.add_(1e-7)
        net[4][1] = nn.Linear(8, 3)
    after = {f"module.{key}": value for key, value in net.state_dict().items()}
    after["module.extra.scale"] = torch.ones(4)
    paths = str(folder / "base.pt"), str(folder / "tuned.pt")
    torch.save({"epoch": 1, "state_dict": before}, paths[0])
    torch.save({"epoch": 4, "state_dict": after, "best": 0.5}, paths[1])
    return paths


@pytest.fixture
def view(qtbot):
    views = []

    def make(path_a: str, path_b: str, options: DiffOptions | None = None) -> CompareView:
        widget = CompareView(path_a, path_b, options)
        qtbot.addWidget(widget)
        widget.resize(1280, 800)
        widget.show()
        views.append(widget)
        return widget

    yield make
    for widget in views:
        widget.shutdown()
        assert not any(widget.key_panel.runner(name).has_live_workers() for name in RUNNERS)


def run(qtbot, widget: CompareView, action=None) -> None:
    """Start a run (or do ``action``) and wait until it is over."""
    with qtbot.waitSignal(widget.runFinished, timeout=RUN_MS):
        (action or widget.start)()
