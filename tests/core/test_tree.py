"""build_tree: module hierarchy of state dicts, containers, values, totals, bounds."""

from __future__ import annotations

import itertools

import pytest

from inspector.core.model import (
    Checkpoint, ModuleObject, PickledObject, Storage, TensorRef, Truncated,
)
from inspector.core.dtypes import itemsize
from inspector.core.tree import build_tree, iter_nodes

_keys = itertools.count()


def ref(*shape: int, dtype: str = "float32", role: str = "tensor") -> TensorRef:
    stride, step = [], 1
    for size in reversed(shape):
        stride.insert(0, step)
        step *= size
    storage = Storage("unused.pt", 0, step * itemsize(dtype), dtype, key=str(next(_keys)))  # one each
    return TensorRef(dtype, tuple(shape), tuple(stride), storage, role=role)


def child(node, *names):
    for name in names:
        node = next(c for c in node.children if c.name == name)
    return node


@pytest.fixture(scope="module")
def resnet_state():
    """torchvision's resnet18 state dict as TensorRefs with torch's shapes and dtypes."""
    torchvision = pytest.importorskip("torchvision")
    model = torchvision.models.resnet18(weights=None)
    state = model.state_dict()
    refs = {key: ref(*value.shape, dtype=str(value.dtype).removeprefix("torch.")) for key, value in state.items()}
    nbytes = {key: value.numel() * value.element_size() for key, value in state.items()}
    return refs, nbytes


def test_state_dict_becomes_module_hierarchy_in_model_order(resnet_state):
    refs, nbytes = resnet_state
    root = build_tree(Checkpoint("/x/resnet.pt", "torch-zip", {"state_dict": refs, "epoch": 7}))
    state_node = child(root, "state_dict")
    assert [c.name for c in root.children] == ["state_dict", "epoch"]
    weight = child(state_node, "layer1", "0", "conv1", "weight")
    assert weight.kind == "tensor" and weight.key == "layer1.0.conv1.weight"
    assert weight.path == ("state_dict", "layer1.0.conv1.weight")
    assert weight.tensor is refs["layer1.0.conv1.weight"]
    assert child(state_node, "layer1", "0").kind == "module"
    leaves = [node for node in iter_nodes(state_node) if node.kind == "tensor"]
    assert [node.key for node in leaves] == list(refs)  # registration order kept (conv1 before bn1)
    assert state_node.tensor_count == len(refs)
    assert state_node.nbytes_total == root.nbytes_total == sum(nbytes.values())
    layer1 = child(state_node, "layer1")
    assert layer1.tensor_count == sum(key.startswith("layer1.") for key in refs)
    assert layer1.nbytes_total == sum(n for key, n in nbytes.items() if key.startswith("layer1."))


@pytest.mark.parametrize("extra_values, hierarchy", [(1, True), (2, True), (3, False)])
def test_a_dict_of_mostly_tensors_is_shown_as_modules(extra_values, hierarchy):
    """Half tensors or more: a state dict with a few extras (e.g. Lightning's or a converted file)."""
    entry = {"enc.weight": ref(2, 2), "enc.bias": ref(2)}
    entry.update({f"note{index}": index for index in range(extra_values)})
    root = build_tree(Checkpoint("m.pt", "pickle", {"sd": entry}))
    names = [node.name for node in child(root, "sd").children]
    if hierarchy:
        assert names == ["enc", *(f"note{i}" for i in range(extra_values))]
        assert child(root, "sd", "enc").kind == "module"
    else:
        assert names == list(entry)


def test_sorted_keys_get_natural_order():
    keys = sorted(f"layers.{index}.weight" for index in range(12))  # 0, 1, 10, 11, 2, ...
    root = build_tree(Checkpoint("m.pt", "safetensors", {key: ref(2) for key in keys}))
    layers = child(root, "layers")
    assert [c.name for c in layers.children] == [str(index) for index in range(12)]
    assert [c.row for c in layers.children] == list(range(12))


def test_rows_and_parents_are_consistent(resnet_state):
    root = build_tree(Checkpoint("m.pt", "torch-zip", {"model": resnet_state[0], "opt": [1, 2]}))
    for node in iter_nodes(root):
        for row, sub in enumerate(node.children):
            assert sub.parent is node and sub.row == row


def test_module_object_uses_submodule_classes():
    module = ModuleObject(
        "torch.nn.modules.container.Sequential",
        {"0.weight": ref(4, 3, role="parameter"), "0.bias": ref(4, role="parameter"),
         "1.running_mean": ref(4, role="buffer")},
        submodule_classes={"": "torch.nn.modules.container.Sequential",
                           "0": "torch.nn.modules.linear.Linear",
                           "1": "torch.nn.modules.batchnorm.BatchNorm1d"},
        attributes={"training": True},
    )
    root = build_tree(Checkpoint("m.pt", "torch-zip", module))
    assert root.class_name == "torch.nn.modules.container.Sequential"
    assert child(root, "0").class_name == "torch.nn.modules.linear.Linear"
    assert child(root, "1").class_name == "torch.nn.modules.batchnorm.BatchNorm1d"
    assert child(root, "0", "weight").path == ("0.weight",)
    assert child(root, "training").kind == "value" and child(root, "training").value is True


def test_containers_values_objects_and_truncation():
    optimizer = {"state": {0: {"step": ref(), "exp_avg": ref(4)}}, "param_groups": [{"lr": 0.1}]}
    hyper = PickledObject("argparse.Namespace", state={"lr": 0.1, "name": "run"})
    root = build_tree(Checkpoint("m.pt", "torch-zip", {
        "optimizer": optimizer, "hparams": hyper, "cut": Truncated("too deep"), "blob": b"xyz",
    }))
    step = child(root, "optimizer", "state", "0", "step")
    assert step.kind == "tensor" and step.path == ("optimizer", "state", 0, "step")
    assert child(root, "optimizer", "param_groups").kind == "list"
    assert child(root, "optimizer", "param_groups", "0", "lr").value == 0.1
    assert child(root, "hparams").kind == "object"
    assert child(root, "hparams").class_name == "argparse.Namespace"
    assert child(root, "hparams", "name").value == "run"
    assert child(root, "cut").kind == "truncated" and child(root, "cut").value == "too deep"
    assert child(root, "blob").kind == "value"


def test_tree_paths_match_iter_tensors(resnet_state):
    value = {"a": [resnet_state[0], {"b": ref(3)}], 5: ref(1)}
    checkpoint = Checkpoint("m.pt", "pickle", value)
    root = build_tree(checkpoint)
    from_tree = sorted(repr(node.path) for node in iter_nodes(root) if node.kind == "tensor")
    assert from_tree == sorted(repr(path) for path, _ in checkpoint.iter_tensors())


def test_node_budget_bounds_the_tree():
    shared = [list(range(50))] * 50
    laughs = [shared] * 50  # 125k leaves reached through shared references
    root = build_tree(Checkpoint("m.pt", "pickle", laughs), max_nodes=1000)
    nodes = list(iter_nodes(root))
    assert len(nodes) <= 1002
    assert any(node.kind == "truncated" for node in nodes)


def test_deep_nesting_does_not_recurse():
    value: list = []
    for _ in range(50_000):
        value = [value]
    root = build_tree(Checkpoint("m.pt", "pickle", value))
    assert sum(1 for _ in iter_nodes(root)) == 50_001


def test_iter_tensors_stays_bounded_on_a_cycle():
    from inspector.core.model import MAX_WALK_DEPTH, Storage, TensorRef, iter_tensors

    tensor = TensorRef("float32", (2,), (1,), Storage("x", 0, 8, "float32"))
    loop: list = [tensor]
    loop.append(loop)  # an unsanitized cycle
    found = list(iter_tensors(loop))
    assert len(found) == MAX_WALK_DEPTH
    assert max(len(path) for path, _ in found) == MAX_WALK_DEPTH
