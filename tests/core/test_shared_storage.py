"""Tied weights and views: one storage id per torch storage, offsets as torch has them, totals
that count each storage once, and the tree naming the tensor a storage is shared with."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
from torch import nn

from inspector.core.jsonview import info_json
from inspector.core.loader import open_checkpoint
from inspector.core.tree import build_tree, iter_nodes


class TiedLanguageModel(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(10, 4)
        self.body = nn.Linear(4, 4)
        self.lm_head = nn.Linear(4, 10, bias=False)
        self.lm_head.weight = self.emb.weight


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    torch.manual_seed(0)
    qkv = torch.randn(12, 4)
    base = torch.randn(4, 6)
    value = {"model": TiedLanguageModel().state_dict(),
             "views": {"q": qkv[0:4], "k": qkv[4:8], "v": qkv[8:12], "base": base, "t": base.t(),
                       "row": base[2], "expanded": base[1].expand(1000, 6)}}
    path = tmp_path_factory.mktemp("shared") / "tied.pt"
    torch.save(value, path)
    return str(path)


def _torch_storages(path: str) -> dict[tuple, tuple[int, int, int]]:
    """path -> (storage identity, storage nbytes, storage_offset) as torch.load gives them."""
    loaded = torch.load(path, weights_only=True)
    found = {}
    for group, tensors in loaded.items():
        for key, tensor in tensors.items():
            storage = tensor.untyped_storage()
            found[(group, key)] = (storage.data_ptr(), storage.nbytes(), tensor.storage_offset())
    return found


def test_storage_ids_and_offsets_group_tensors_as_torch_does(saved):
    document = info_json(open_checkpoint(saved))
    ours = {tuple(entry["path"]): (entry["storage"], entry["storage_offset"]) for entry in document["tensors"]}
    theirs = _torch_storages(saved)
    assert set(ours) == set(theirs)
    for path in ours:
        assert ours[path][1] == theirs[path][2], path
        for other in ours:
            assert (ours[path][0] == ours[other][0]) == (theirs[path][0] == theirs[other][0]), (path, other)


def test_total_counts_each_storage_once(saved):
    document = info_json(open_checkpoint(saved))
    distinct = {identity: nbytes for identity, nbytes, _ in _torch_storages(saved).values()}
    assert document["total_nbytes"] == sum(distinct.values())


def test_tree_marks_tied_tensors_and_counts_them_once(saved):
    checkpoint = open_checkpoint(saved)
    root = build_tree(checkpoint)
    nodes = {node.key: node for node in iter_nodes(root) if node.kind == "tensor" and node.key}
    assert nodes["lm_head.weight"].shared_with == "emb.weight"
    assert nodes["emb.weight"].shared_with == "lm_head.weight"
    assert nodes["body.weight"].shared_with == ""
    model = next(node for node in root.children if node.name == "model")
    state = TiedLanguageModel().state_dict()
    assert model.nbytes_total == sum(t.numel() * t.element_size() for k, t in state.items() if k != "lm_head.weight")
    assert root.nbytes_total == info_json(checkpoint)["total_nbytes"]


def test_expanded_tensor_holds_only_its_stored_bytes(saved):
    root = build_tree(open_checkpoint(saved))
    expanded = next(node for node in iter_nodes(root) if node.name == "expanded")
    assert expanded.nbytes_total == 6 * 4  # the row it repeats, not 1000 rows of it


def test_cli_text_total_counts_each_storage_once(saved):
    result = subprocess.run([sys.executable, "-m", "inspector", "info", saved], capture_output=True, text=True)
    document = json.loads(subprocess.run([sys.executable, "-m", "inspector", "info", "--json", saved],
                                         capture_output=True, text=True).stdout)
    from inspector.core.units import human_size

    assert result.returncode == 0 and human_size(document["total_nbytes"]) in result.stdout.splitlines()[0]


def test_partial_views_count_the_bytes_they_reach_once(tmp_path):
    """Union of the spans the views reach in each storage (torch's own slices as the oracle)."""
    base = torch.randn(100)
    pair = torch.randn(6, 8)
    views = {"a": base[:10], "b": base[:10], "c": base[5:20], "even": pair[:, ::2], "odd": pair[:, 1::2]}
    torch.save(views, tmp_path / "views.pt")
    checkpoint = open_checkpoint(str(tmp_path / "views.pt"))
    reached = {}
    for view in views.values():
        start = view.storage_offset()
        last = start + sum((size - 1) * step for size, step in zip(view.shape, view.stride())) + 1
        reached.setdefault(view.untyped_storage().data_ptr(), set()).update(range(start, last))
    expected = sum(len(elements) * 4 for elements in reached.values())
    assert info_json(checkpoint)["total_nbytes"] == expected == (20 + 48) * 4
    root = build_tree(checkpoint)
    assert root.nbytes_total == expected
    sizes = {node.name: node.nbytes_total for node in iter_nodes(root) if node.kind == "tensor"}
    assert sizes == {name: view.numel() * 4 for name, view in views.items()}
