"""Frozen layers stay visibly frozen: ``requires_grad`` of every saved Parameter, as torch has it."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from inspector.core.jsonview import info_json
from inspector.core.loader import open_checkpoint


def _partly_frozen() -> nn.Module:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(4, 2))
    for parameter in list(model[0].parameters()) + [model[1].weight]:
        parameter.requires_grad_(False)
    return model


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("frozen")
    model = _partly_frozen()
    paths = {"keep_vars": folder / "keep_vars.pt", "module": folder / "module.pt", "plain": folder / "plain.pt"}
    torch.save(model.state_dict(keep_vars=True), paths["keep_vars"])
    torch.save(model, paths["module"])
    torch.save(model.state_dict(), paths["plain"])
    return {name: str(path) for name, path in paths.items()}


def _ours(path: str) -> dict[str, bool | None]:
    return {entry["path"][-1]: entry.get("requires_grad") for entry in info_json(open_checkpoint(path))["tensors"]}


@pytest.mark.parametrize("kind", ["keep_vars", "module"])
def test_saved_parameters_keep_their_requires_grad(files, kind):
    loaded = torch.load(files[kind], weights_only=False)  # our own file: torch is the oracle here
    state = loaded.state_dict(keep_vars=True) if isinstance(loaded, nn.Module) else loaded
    expected = {key: (value.requires_grad if isinstance(value, nn.Parameter) else None)
                for key, value in state.items()}
    assert _ours(files[kind]) == expected
    assert expected["0.weight"] is False and expected["3.weight"] is True


def test_plain_state_dict_records_no_requires_grad(files):
    assert set(_ours(files["plain"]).values()) == {None}
