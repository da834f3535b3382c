"""The tree says what a role alone does not: frozen parameters, the parameter an optimizer
state belongs to, and tensors sharing their stored bytes — each checked against torch."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QModelIndex

from inspector.core.loader import open_checkpoint
from inspector.core.tree import build_tree
from tests.gui.document.test_tree_model import M, child_named, make_models


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    import torch
    from torch import nn

    torch.manual_seed(0)
    model = nn.Sequential(nn.Embedding(6, 4), nn.Linear(4, 6, bias=False))
    model[1].weight = model[0].weight  # tied, as language models tie their head to the embedding
    model.add_module("head", nn.Linear(6, 2))
    model.head.requires_grad_(False)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=0.1)
    model.head(model[1](model[0](torch.arange(6)))).sum().backward()
    optimizer.step()
    path = tmp_path_factory.mktemp("notes") / "frozen_tied.pt"
    torch.save({"model": model.state_dict(keep_vars=True), "optimizer": optimizer.state_dict()}, path)
    names = {id(p): name for name, p in model.named_parameters()}
    trained = [names[id(p)] for group in optimizer.param_groups for p in group["params"]]
    frozen = {name for name, p in model.state_dict(keep_vars=True).items() if not p.requires_grad}
    return str(path), trained, frozen


def _role(model, *names) -> str:
    index = QModelIndex()
    for name in names:
        index = child_named(model, index, name)
    return model.data(index.siblingAtColumn(M.ROLE))


def test_frozen_and_tied_parameters_are_marked(qtbot, saved):
    path, _, frozen = saved
    model, _ = make_models(build_tree(open_checkpoint(path)))
    assert frozen == {"head.weight", "head.bias"}
    assert _role(model, "model", "head", "weight") == "parameter · frozen"
    assert _role(model, "model", "0", "weight") == "parameter · shares storage with 1.weight"
    assert _role(model, "model", "1", "weight") == "parameter · shares storage with 0.weight"


def test_optimizer_entries_name_their_parameter(qtbot, saved):
    path, trained, _ = saved
    model, _ = make_models(build_tree(open_checkpoint(path)))
    state = child_named(model, child_named(model, QModelIndex(), "optimizer"), "state")
    for row in range(model.rowCount(state)):
        entry = model.index(row, M.NAME, state)
        assert model.data(entry.siblingAtColumn(M.SHAPE)) == f"state of {trained[int(model.data(entry))]}"
        exp_avg = child_named(model, entry, "exp_avg")
        assert model.data(exp_avg.siblingAtColumn(M.ROLE)) == f"optimizer-state · of {trained[int(model.data(entry))]}"


def test_numpy_values_show_their_numpy_type(qtbot, tmp_path):
    import argparse

    import numpy as np
    import torch

    values = {"best_acc1": np.float64(76.1), "steps": np.int32(7), "args": argparse.Namespace(lr=0.5)}
    torch.save(values, tmp_path / "timm.pth.tar")
    model, _ = make_models(build_tree(open_checkpoint(str(tmp_path / "timm.pth.tar"))))
    for name in ("best_acc1", "steps"):
        row = child_named(model, QModelIndex(), name)
        assert model.data(row.siblingAtColumn(M.TYPE)) == f"numpy.{type(values[name]).__name__}"
        assert model.data(row.siblingAtColumn(M.SHAPE)) == repr(values[name].item())
    args = child_named(model, QModelIndex(), "args")
    assert model.data(child_named(model, args, "lr").siblingAtColumn(M.SHAPE)) == repr(values["args"].lr)
