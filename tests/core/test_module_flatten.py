"""Pickled nn.Modules flatten to exactly what ``model.state_dict()`` lists (torch is the oracle)."""

from __future__ import annotations

import sys
import types

import pytest

from inspector.core.model import ModuleObject, PickledObject, TensorRef, Truncated
from inspector.core.module_flatten import flatten_modules

torch = pytest.importorskip("torch")
nn = torch.nn

GHOST = "ghost_models_for_flatten_tests"
setstate_calls: list[str] = []


def _ghost_classes() -> types.ModuleType:
    """Classes in a module that exists only while the test saves: the reader cannot import them."""
    ghost = types.ModuleType(GHOST)

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(10, 4)
            self.body = nn.Sequential(nn.Conv1d(4, 4, 3, padding=1, bias=False), nn.BatchNorm1d(4), nn.ReLU())
            self.blocks = nn.ModuleList([nn.Linear(4, 4), nn.LayerNorm(4)]).half()
            self.heads = nn.ModuleDict({"cls": nn.Linear(4, 3), "reg": nn.Linear(4, 1)})
            self.out = nn.Linear(4, 10, bias=False)
            self.rnn = nn.LSTM(4, 4, num_layers=2)
            self.normed = nn.utils.spectral_norm(nn.Linear(4, 2))  # weight_orig + u/v buffers via a hook
            self.out.weight = self.embed.weight  # tied
            self.add_module("absent", None)
            self.register_buffer("scratch", torch.zeros(3), persistent=False)
            self.register_buffer("steps", torch.tensor(7))
            self.register_buffer("missing", None)
            self.gate = nn.Parameter(torch.ones(2, dtype=torch.float64))
            self.hidden = 4
            self.label = "ghost"
            self.kernel = (3, 3)
            self.plain_tensor = torch.ones(2)  # an attribute, not state

        def __setstate__(self, state):  # would run if anything unpickled the class for real
            setstate_calls.append(type(self).__name__)
            super().__setstate__(state)

    Net.__module__, Net.__qualname__ = GHOST, "Net"
    ghost.Net = Net
    return ghost


@pytest.fixture(scope="module")
def ghost_module():
    ghost = _ghost_classes()
    sys.modules[GHOST] = ghost
    yield ghost
    sys.modules.pop(GHOST, None)


@pytest.fixture(scope="module")
def saved(tmp_path_factory, ghost_module):
    """name -> (path, live model or container) for every file the tests read."""
    import torchvision

    folder = tmp_path_factory.mktemp("modules")
    torch.manual_seed(0)
    net = ghost_module.Net()
    net.body[1].running_mean.add_(0.5)
    resnet = torchvision.models.resnet18(weights=None)
    objects = {
        "net": net,
        "resnet18": resnet,
        "in_dict": {"model": net, "epoch": 3, "again": net},
        "in_tuple": (net, 5),
        "in_list": [{"models": [nn.Linear(2, 2), net]}],
    }
    files = {}
    for name, obj in objects.items():
        path = folder / f"{name}.pt"
        torch.save(obj, path)
        files[name] = (str(path), obj)
    return files


def _read(path: str):
    from inspector.core.loader import open_checkpoint

    return open_checkpoint(path)


def _class_name(module) -> str:
    return f"{type(module).__module__}.{type(module).__qualname__}"


def assert_matches_state_dict(found: ModuleObject, model) -> None:
    expected = model.state_dict()
    assert list(found.state_dict) == list(expected)
    params = {name for name, _ in model.named_parameters(remove_duplicate=False)}
    for key, tensor in expected.items():
        ref = found.state_dict[key]
        assert ref.shape == tuple(tensor.shape), key
        assert ref.dtype == str(tensor.dtype).removeprefix("torch."), key
        assert ref.stride == tensor.stride(), key
        assert ref.role == ("parameter" if key in params else "buffer"), key
    assert found.class_name == _class_name(model)
    assert found.submodule_classes == {
        name: _class_name(module) for name, module in model.named_modules(remove_duplicate=False)}


@pytest.mark.parametrize("name", ["net", "resnet18"])
def test_pickled_module_matches_state_dict(saved, name):
    path, model = saved[name]
    setstate_calls.clear()
    checkpoint = _read(path)
    assert isinstance(checkpoint.root, ModuleObject)
    assert_matches_state_dict(checkpoint.root, model)
    assert setstate_calls == []


def test_no_code_from_the_file_ran_and_globals_are_reported(saved):
    path, _ = saved["net"]
    setstate_calls.clear()
    checkpoint = _read(path)
    assert setstate_calls == []
    torch.load(path, weights_only=False)  # the check can fail: a real unpickle runs the class
    assert setstate_calls == ["Net"]
    assert f"{GHOST}.Net" in checkpoint.globals
    assert "torch.nn.modules.batchnorm.BatchNorm1d" in checkpoint.globals


def test_tied_weights_listed_under_each_name_sharing_one_storage(saved):
    path, model = saved["net"]
    state = _read(path).root.state_dict
    assert model.out.weight is model.embed.weight
    assert state["out.weight"].storage == state["embed.weight"].storage
    assert "scratch" not in state and "missing" not in state and "out.bias" not in state


def test_root_attributes_are_simple_values_without_tensors(saved):
    path, model = saved["net"]
    attributes = _read(path).root.attributes
    assert attributes["training"] is model.training
    assert attributes["hidden"] == model.hidden and attributes["label"] == model.label
    assert tuple(attributes["kernel"]) == model.kernel
    assert not any(isinstance(value, TensorRef) for value in attributes.values())
    assert not any(name.startswith("_") for name in attributes)


def test_modules_inside_containers_are_flattened(saved):
    path, container = saved["in_dict"]
    root = _read(path).root
    assert root["epoch"] == container["epoch"]
    assert_matches_state_dict(root["model"], container["model"])
    assert_matches_state_dict(root["again"], container["again"])

    path, container = saved["in_tuple"]
    root = _read(path).root
    assert isinstance(root, tuple) and root[1] == 5
    assert_matches_state_dict(root[0], container[0])

    path, container = saved["in_list"]
    models = _read(path).root[0]["models"]
    for found, model in zip(models, container[0]["models"]):
        assert_matches_state_dict(found, model)


def _module(class_name: str, children: dict | None = None, params: dict | None = None) -> PickledObject:
    state = {"training": True, "_parameters": params or {}, "_buffers": {},
             "_modules": children or {}}
    return PickledObject(class_name=class_name, state=state)


def _tensor() -> TensorRef:
    return TensorRef(dtype="float32", shape=(2,), stride=(1,), storage=None)


def test_deep_module_chain_is_flattened_without_recursion():
    leaf = _module("m.Leaf", params={"w": _tensor()})
    node = leaf
    for _ in range(5000):
        node = _module("m.Wrap", {"inner": node})
    found = flatten_modules({"deep": node})["deep"]
    assert isinstance(found, ModuleObject)
    assert "skipped entries" in found.attributes  # depth capped, reported, no crash


def test_cycles_and_shared_children_terminate():
    shared = _module("m.Leaf", params={"w": _tensor()})
    root = _module("m.Root", {"a": shared, "b": shared})
    root.state["_modules"]["self"] = root  # torch itself would recurse forever here
    holder: list = [root]
    holder.append(holder)
    found = flatten_modules(holder)[0]
    assert list(found.state_dict) == ["a.w", "b.w"]
    assert found.state_dict["a.w"] is found.state_dict["b.w"]


def test_non_module_objects_are_searched_but_kept():
    config = PickledObject(class_name="user.Config", state={"net": _module("m.Net", params={"w": _tensor()})})
    found = flatten_modules(config)
    assert found is config
    assert isinstance(config.state["net"], ModuleObject)
    assert config.state["net"].state_dict["w"].role == "parameter"


def test_exponentially_shared_children_are_bounded(monkeypatch):
    from inspector.core import module_flatten

    monkeypatch.setattr(module_flatten, "MAX_MODULE_VISITS", 5000)
    node = _module("m.Leaf", params={"w": _tensor()})
    for _ in range(40):  # 2**40 names for the leaf if walked to the end
        node = _module("m.Pair", {"a": node, "b": node})
    found = flatten_modules(node)
    assert isinstance(found.attributes["truncated"], Truncated)
    assert 0 < len(found.state_dict) < 5000
