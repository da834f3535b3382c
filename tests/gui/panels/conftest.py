"""The tensor panel, shown, and the helpers its tests share: finding a tree node by its names
and showing it until every plot has settled."""

from __future__ import annotations

import pytest

from inspector.gui.panels.tensor_panel import RUNNERS, TensorPanel

WAIT_MS = 20_000


@pytest.fixture
def panel(qtbot):
    widget = TensorPanel()
    qtbot.addWidget(widget)
    widget.resize(800, 600)
    widget.show()
    qtbot.waitExposed(widget)
    yield widget
    widget.shutdown()
    assert not any(widget.runner(name).has_live_workers() for name in RUNNERS)


def find(root, *names):
    node = root
    for name in names:
        node = next(child for child in node.children if child.name == name)
    return node


def show(qtbot, panel, node) -> None:
    with qtbot.waitSignal(panel.plotsFinished, timeout=WAIT_MS):
        panel.show_node(node)
