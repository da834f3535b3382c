"""The tree item model and its filter proxy, checked against torch.load of the same files."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QModelIndex

from inspector.core.loader import open_checkpoint
from inspector.core.model import Checkpoint, TensorRef
from inspector.core.tree import build_tree
from inspector.gui.formatting import human_size, shape_text, thousands
from inspector.gui.document.tree_filter import FilterIndex, TreeFilterProxy
from inspector.gui.document.tree_model import CheckpointTreeModel

M = CheckpointTreeModel


def make_models(root):
    model = CheckpointTreeModel()
    model.set_root(root)
    proxy = TreeFilterProxy()
    proxy.setSourceModel(model)
    proxy.set_filter_index(FilterIndex(root))
    return model, proxy


def child_named(model, parent: QModelIndex, name: str) -> QModelIndex:
    for row in range(model.rowCount(parent)):
        index = model.index(row, M.NAME, parent)
        if model.data(index) == name:
            return index
    raise AssertionError(f"no row {name!r} under {model.data(parent)!r}")


def tensor_rows(model, parent: QModelIndex = QModelIndex(), prefix: tuple = ()):
    """(name path, shape text, dtype text) of every tensor row, in display order."""
    rows = []
    for row in range(model.rowCount(parent)):
        index = model.index(row, M.NAME, parent)
        names = prefix + (model.data(index),)
        if model.data(index, M.NodeRole).kind == "tensor":
            rows.append((names, model.data(index.siblingAtColumn(M.SHAPE)), model.data(index.siblingAtColumn(M.TYPE))))
        rows.extend(tensor_rows(model, index, names))
    return rows


@pytest.fixture(scope="module")
def general(checkpoint_files):
    import torch

    oracle = torch.load(checkpoint_files["general.pt"], map_location="cpu", weights_only=True)
    checkpoint = open_checkpoint(checkpoint_files["general.pt"])
    return checkpoint, build_tree(checkpoint), oracle


def torch_dtype_name(tensor) -> str:
    return str(tensor.dtype).removeprefix("torch.")


def test_state_dict_rows_match_torch(qtbot, general):
    _checkpoint, root, oracle = general
    model, _proxy = make_models(root)
    state = child_named(model, QModelIndex(), "model_state_dict")
    expected = [(tuple(key.split(".")), shape_text(tuple(value.shape)), torch_dtype_name(value))
                for key, value in oracle["model_state_dict"].items()]
    assert tensor_rows(model, state) == expected  # same keys, shapes, dtypes, in registration order


def test_natural_order_puts_layer_3_before_layer_12(qtbot, checkpoint_files):
    # safetensors stores keys sorted as text ("12.bias" < "3.bias"); the tree counts like people
    model, _proxy = make_models(build_tree(open_checkpoint(checkpoint_files["weights.safetensors"])))
    names = [model.data(model.index(row, M.NAME)) for row in range(model.rowCount())]
    assert names == sorted(names, key=int)
    assert names.index("3") < names.index("12") < names.index("14")


def test_values_roles_and_totals_match_torch(qtbot, general):
    _checkpoint, root, oracle = general
    model, _proxy = make_models(root)
    epoch = child_named(model, QModelIndex(), "epoch")
    assert model.data(epoch.siblingAtColumn(M.SHAPE)) == repr(oracle["epoch"])
    hyper = child_named(model, QModelIndex(), "hyper_parameters")
    assert model.data(child_named(model, hyper, "name").siblingAtColumn(M.SHAPE)) == repr("run-1")
    state = child_named(model, QModelIndex(), "model_state_dict")
    tensors = oracle["model_state_dict"].values()
    assert model.data(state.siblingAtColumn(M.NUMEL)) == thousands(sum(t.numel() for t in tensors))
    assert model.data(state.siblingAtColumn(M.SIZE)) == human_size(sum(t.numel() * t.element_size() for t in tensors))
    running_mean = child_named(model, child_named(model, state, "1"), "running_mean")
    assert model.data(running_mean.siblingAtColumn(M.ROLE)) == "buffer"
    weight = child_named(model, child_named(model, state, "0"), "weight")
    assert model.data(weight.siblingAtColumn(M.ROLE)) == "parameter"
    momentum = tensor_rows(model, child_named(model, QModelIndex(), "optimizer_state_dict"))
    assert len(momentum) == len(oracle["optimizer_state_dict"]["state"])


def test_qtmodeltester_on_model_and_proxy(qtbot, qtmodeltester, general):
    model, proxy = make_models(general[1])
    qtmodeltester.check(model)
    proxy.set_filter_text("running")
    qtmodeltester.check(proxy)


def test_qtmodeltester_on_status_rows(qtbot, qtmodeltester):
    model = CheckpointTreeModel()
    model.set_status("loading", "Loading x…")
    qtmodeltester.check(model)
    model.set_status("loading", "Loading x… 50%")
    assert model.data(model.index(0, 0)) == "Loading x… 50%"
    model.set_status("error", "x: not a recognised checkpoint format")
    assert model.rowCount() == 1 and model.data(model.index(0, 0), M.StatusRole) == "error"
    qtmodeltester.check(model)


def visible_names(proxy, parent=QModelIndex(), prefix=()):
    names = []
    for row in range(proxy.rowCount(parent)):
        index = proxy.index(row, 0, parent)
        path = prefix + (proxy.data(index),)
        names.append(".".join(path))
        names.extend(visible_names(proxy, index, path))
    return names


def test_filter_keeps_parents_of_matches(qtbot, general):
    _checkpoint, root, oracle = general
    _model, proxy = make_models(root)
    matches = proxy.set_filter_text("RUNNING_var")
    shown = visible_names(proxy)
    expected_keys = [key for key in oracle["model_state_dict"] if "running_var" in key]
    assert matches == len(expected_keys)
    assert shown == ["model_state_dict"] + [f"model_state_dict.{key.rpartition('.')[0]}" for key in expected_keys] \
        + [f"model_state_dict.{key}" for key in expected_keys]
    proxy.set_filter_text("")
    assert len(visible_names(proxy)) > len(shown)


def test_filter_on_a_module_keeps_its_rows(qtbot, general):
    _checkpoint, root, oracle = general
    _model, proxy = make_models(root)
    proxy.set_filter_text("model_state_dict.1")
    shown = visible_names(proxy)
    expected = {f"model_state_dict.{key}" for key in oracle["model_state_dict"] if key.startswith("1")}
    assert expected <= set(shown)
    assert not any(name.startswith("optimizer") for name in shown)


def synthetic_root(count: int):
    state = {f"blocks.{index // 10}.layer.{index % 10}.weight": TensorRef("float32", (4, 4), (4, 1), None)
             for index in range(count)}
    return build_tree(Checkpoint("/synthetic.pt", "torch-zip", {"state_dict": state}))


def test_filtering_100k_tensors_asks_only_about_the_rows_shown(qtbot, monkeypatch):
    """The filter's work per keystroke is one pass over precomputed paths; the proxy then looks
    up only the rows the view asks about, never re-walking rejected subtrees (speed itself
    is measured in bench/, not here)."""
    from PySide6.QtWidgets import QTreeView

    _model, proxy = make_models(synthetic_root(100_000))
    view = QTreeView()
    qtbot.addWidget(view)
    view.setModel(proxy)
    view.expand(proxy.index(0, 0))
    asked = []
    accepts = TreeFilterProxy.filterAcceptsRow
    monkeypatch.setattr(TreeFilterProxy, "filterAcceptsRow",
                        lambda self, row, parent: asked.append(row) or accepts(self, row, parent))
    for text in ("blocks.55", "nothing-matches"):
        asked.clear()
        proxy.set_filter_text(text)
        assert len(asked) <= 1 + 1_000  # the root row, then the 1,000 blocks under the one expanded row
    assert proxy.rowCount() == 0
    proxy.set_filter_text("blocks.9999.")
    assert visible_names(proxy)[-1] == "state_dict.blocks.9999.layer.9.weight"
