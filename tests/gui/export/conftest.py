"""A torchvision model saved the way fine-tuning scripts save one (``keep_vars=True``, some
layers frozen), the main window with it open, and helpers that click the tree's boxes."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QStyleOptionViewItem

from inspector.core.tree import iter_nodes
from inspector.gui.document.tree_model import CheckpointTreeModel
from inspector.gui.export.export_columns import ExportColumns

LOAD_TIMEOUT_MS = 60_000
FROZEN_IN_FILE = "layer1.0"
INCLUDE = len(CheckpointTreeModel.HEADERS) + ExportColumns.INCLUDE
FREEZE = len(CheckpointTreeModel.HEADERS) + ExportColumns.FREEZE


@pytest.fixture(scope="session")
def resnet(tmp_path_factory):
    """(path, model): resnet18 under "model" with layer1.0 frozen, saved with keep_vars=True."""
    import torch
    from torchvision.models import resnet18

    torch.manual_seed(0)
    model = resnet18(weights=None, num_classes=10)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-1, 1)
    for parameter in model.get_submodule(FROZEN_IN_FILE).parameters():
        parameter.requires_grad_(False)
    path = tmp_path_factory.mktemp("resnet") / "finetune.pt"
    torch.save({"epoch": 3, "model": model.state_dict(keep_vars=True)}, path)
    return str(path), model


@pytest.fixture
def window(window):
    window.resize(1200, 800)
    return window


@pytest.fixture
def document(qtbot, window, resnet):
    document = window.open_document(resnet[0])
    qtbot.waitUntil(lambda: document.state == "ready", timeout=LOAD_TIMEOUT_MS)
    return document


@pytest.fixture
def mode(qtbot, window, document):
    """Export mode switched on from the File menu's action, its first summary in."""
    mode = window.export.mode(document)
    with qtbot.waitSignal(mode.resolvedChanged, timeout=LOAD_TIMEOUT_MS):
        window.export.mode_action.trigger()
    return mode


def parameter_names(model, start: str | None = None, stop: str | None = None) -> list[str]:
    """Parameter names in torch's registration order, from module ``start`` up to module ``stop`` included."""
    names = [name for name, _ in model.named_parameters()]
    first = next(i for i, name in enumerate(names) if name.startswith(start + ".")) if start else 0
    last = max(i for i, name in enumerate(names) if name.startswith(stop + ".")) if stop else len(names) - 1
    return names[first:last + 1]


def node_at(document, key: str, kind: str = "module"):
    return next(node for node in iter_nodes(document.loaded.root) if node.key == key and node.kind == kind)


def container(document):
    return next(node for node in iter_nodes(document.loaded.root) if node.name == "model")


def box(document, node, column: int):
    """The check state shown in ``column`` (INCLUDE or FREEZE) of ``node``'s row."""
    model = document.tree_panel.model
    return model.data(model.index_of(node, column), Qt.ItemDataRole.CheckStateRole)


def click_box(qtbot, document, node, column: int, shift: bool = False) -> None:
    """A real mouse click on the check box, through the view and its delegate."""
    panel = document.tree_panel
    index = panel.proxy.mapFromSource(panel.model.index_of(node, column))
    assert index.isValid()
    panel.select_node(node)  # expands its parents and scrolls it into view
    panel.view.scrollTo(index)
    option = QStyleOptionViewItem()
    option.rect = panel.view.visualRect(index)
    option.widget = panel.view
    center = panel.view.itemDelegateForIndex(index).box_rect(option, index).center()
    modifier = Qt.KeyboardModifier.ShiftModifier if shift else Qt.KeyboardModifier.NoModifier
    qtbot.mouseClick(panel.view.viewport(), Qt.MouseButton.LeftButton, modifier, center)
