"""The copied loading snippets really load the row they were copied from (torch as oracle)."""

from __future__ import annotations

import pytest

from inspector.core.loader import open_checkpoint
from inspector.core.tree import build_tree, iter_nodes
from inspector.core import snippets


def run_snippet(code: str) -> dict:
    namespace: dict = {}
    exec(compile(code, "<snippet>", "exec"), namespace)  # the test's own files only
    return namespace


def node_with_key(root, key: str, kind: str = "tensor"):
    return next(node for node in iter_nodes(root) if node.kind == kind and node.key == key)


@pytest.fixture(scope="module")
def pickled_model(tmp_path_factory):
    import torch

    from tests.conftest import SmallNet

    path = tmp_path_factory.mktemp("model") / "model.pt"
    torch.manual_seed(1)
    torch.save(SmallNet.build(), path)
    return str(path)


def test_torch_file_tensor_snippet(checkpoint_files):
    import torch

    checkpoint = open_checkpoint(checkpoint_files["general.pt"])
    node = node_with_key(build_tree(checkpoint), "3.weight")
    code = snippets.loading_snippet(checkpoint, node)
    assert "weights_only=True" in code
    oracle = torch.load(checkpoint_files["general.pt"], weights_only=True)["model_state_dict"]["3.weight"]
    assert torch.equal(run_snippet(code)["tensor"], oracle)
    assert snippets.copy_key(node) == "3.weight"
    assert snippets.copy_path(node) == '["model_state_dict", "3.weight"]'


def test_module_snippet_selects_its_entries(checkpoint_files):
    import torch

    checkpoint = open_checkpoint(checkpoint_files["general.pt"])
    node = node_with_key(build_tree(checkpoint), "1", kind="module")
    entries = run_snippet(snippets.loading_snippet(checkpoint, node))["entries"]
    oracle = torch.load(checkpoint_files["general.pt"], weights_only=True)["model_state_dict"]
    assert list(entries) == [key for key in oracle if key.startswith("1.")]


def test_safetensors_snippet(checkpoint_files):
    import torch
    from safetensors.torch import load_file

    checkpoint = open_checkpoint(checkpoint_files["weights.safetensors"])
    node = node_with_key(build_tree(checkpoint), "14.bias")
    code = snippets.loading_snippet(checkpoint, node)
    assert code.startswith("from safetensors import safe_open")
    assert torch.equal(run_snippet(code)["tensor"], load_file(checkpoint_files["weights.safetensors"])["14.bias"])


def test_pickled_model_snippet_warns_and_loads(pickled_model):
    import torch

    checkpoint = open_checkpoint(pickled_model)
    node = node_with_key(build_tree(checkpoint), "1.running_var")
    code = snippets.loading_snippet(checkpoint, node)
    assert "weights_only=False" in code and snippets.UNSAFE_NOTE in code
    oracle = torch.load(pickled_model, weights_only=False).state_dict()["1.running_var"]
    assert torch.equal(run_snippet(code)["tensor"], oracle)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """One small file of every kind the snippets load, written by torch, safetensors and pickle."""
    import argparse
    import json
    import pickle
    import warnings

    import numpy as np
    import torch
    import torch.distributed.checkpoint as dcp
    from safetensors.torch import save_file

    folder = tmp_path_factory.mktemp("kinds")
    torch.manual_seed(3)
    state = {"conv.weight": torch.randn(4, 3, 3, 3), "conv.bias": torch.randn(4), "fc.weight": torch.randn(2, 4)}
    paths = {name: str(folder / name) for name in ("timm.pth.tar", "legacy.pt", "plain.pkl", "script.pt")}
    torch.save({"args": argparse.Namespace(lr=0.1, model="resnet", epochs=90), "best_acc1": np.float64(76.1),
                "epoch": np.int64(89), "arr": np.arange(3.0), "state_dict": state}, paths["timm.pth.tar"])
    torch.save({"state_dict": state, "epoch": 2, "betas": (0.9, 0.999)}, paths["legacy.pt"],
               _use_new_zipfile_serialization=False)
    with open(paths["plain.pkl"], "wb") as handle:
        pickle.dump({"weights": [1.0, 2.0], "name": "run"}, handle, protocol=2)
    torch.jit.save(torch.jit.script(torch.nn.Linear(3, 2)), paths["script.pt"])
    sharded = folder / "sharded"
    sharded.mkdir()
    save_file({"conv.weight": state["conv.weight"]}, sharded / "model-00001-of-00002.safetensors")
    save_file({"conv.bias": state["conv.bias"], "fc.weight": state["fc.weight"]}, sharded / "model-00002-of-00002.safetensors")
    weight_map = {"conv.weight": "model-00001-of-00002.safetensors", "conv.bias": "model-00002-of-00002.safetensors",
                  "fc.weight": "model-00002-of-00002.safetensors"}
    (sharded / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    paths["sharded"] = str(sharded)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dcp.save({"model": {"conv.weight": state["conv.weight"]}}, checkpoint_id=str(folder / "dcp"))
    paths["dcp"] = str(folder / "dcp")
    return paths, state


def node_at(checkpoint, *names):
    node = build_tree(checkpoint)
    for name in names:
        node = next(child for child in node.children if child.name == name)
    return node


@pytest.mark.parametrize("kind, names, expected", [
    ("timm.pth.tar", ("state_dict", "conv", "weight"), lambda state: state["conv.weight"]),
    ("timm.pth.tar", ("args",), lambda state: __import__("argparse").Namespace(lr=0.1, model="resnet", epochs=90)),
    ("timm.pth.tar", ("args", "lr"), lambda state: 0.1),
    ("timm.pth.tar", ("best_acc1",), lambda state: 76.1),
    ("timm.pth.tar", ("arr",), lambda state: [0.0, 1.0, 2.0]),
    ("legacy.pt", ("state_dict", "fc", "weight"), lambda state: state["fc.weight"]),
    ("legacy.pt", ("betas",), lambda state: (0.9, 0.999)),
    ("legacy.pt", ("betas", "1"), lambda state: 0.999),
    ("plain.pkl", ("weights", "1"), lambda state: 2.0),
    ("script.pt", ("weight",), None),
    ("sharded", ("conv", "bias"), lambda state: state["conv.bias"]),
    ("dcp", ("model", "conv", "weight"), lambda state: state["conv.weight"]),
])
def test_every_snippet_kind_runs_and_loads_its_row(files, tmp_path, monkeypatch, kind, names, expected):
    import numpy as np
    import torch

    paths, state = files
    checkpoint = open_checkpoint(paths[kind])
    code = snippets.loading_snippet(checkpoint, node_at(checkpoint, *names))
    monkeypatch.chdir(tmp_path)  # the DCP snippet converts into the working folder
    namespace = run_snippet(code)
    loaded = next(namespace[name] for name in ("tensor", "value", "item", "entries") if name in namespace)
    if expected is None:  # TorchScript: torch.jit.load itself is the oracle
        expected_value = torch.jit.load(paths[kind]).state_dict()["weight"]
    else:
        expected_value = expected(state)
    if isinstance(expected_value, torch.Tensor):
        assert torch.equal(loaded, expected_value)
    elif isinstance(expected_value, list):
        assert np.array_equal(np.asarray(loaded), expected_value)
    else:
        assert loaded == expected_value


def test_plain_data_classes_are_allowed_by_name_and_only_those(files):
    paths, _state = files
    code = snippets.loading_snippet(open_checkpoint(paths["timm.pth.tar"]),
                                    node_at(open_checkpoint(paths["timm.pth.tar"]), "epoch"))
    assert "weights_only=True" in code and "weights_only=False" not in code
    assert "torch.serialization.safe_globals([argparse.Namespace" in code


def test_a_file_holding_foreign_classes_says_why_weights_only_cannot_load_it(tmp_path):
    import torch

    path = tmp_path / "config.pt"
    torch.save({"config": Config(), "weight": torch.ones(2)}, path)
    checkpoint = open_checkpoint(str(path))
    code = snippets.loading_snippet(checkpoint, node_at(checkpoint, "weight"))
    assert "weights_only=False" in code and "cannot load it: it holds" in code and "Config" in code


class Config:  # a class of a training script: torch.load would have to import it
    def __init__(self):
        self.depth = 3
