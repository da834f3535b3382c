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
