"""Roles of tensors no module declared: optimizer state, parameter, buffer, or plain tensor."""

from __future__ import annotations

import pytest

from inspector.core.model import ModuleObject, PickledObject, TensorRef
from inspector.core.roles import assign_roles, is_state_dict


def _tensor(dtype: str = "float32", role: str = "tensor") -> TensorRef:
    return TensorRef(dtype=dtype, shape=(2,), stride=(1,), storage=None, role=role)


class HuggingFaceEmbeddings:
    """Modules registering the buffers real libraries register, under the same names."""

    @staticmethod
    def build():
        import torch
        from torch import nn

        class Embeddings(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.word_embeddings = nn.Embedding(10, 4)
                self.register_buffer("position_ids", torch.arange(8).expand((1, -1)))
                self.register_buffer("token_type_ids", torch.zeros(1, 8, dtype=torch.long))

        class Rotary(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.register_buffer("inv_freq", 1.0 / (10000 ** (torch.arange(0, 4, 2).float() / 4)))
                self.register_buffer("cos_cached", torch.ones(8, 4))
                self.register_buffer("sin_cached", torch.zeros(8, 4))

        class GPT2Attention(nn.Module):  # transformers < 4.30 saved both buffers
            def __init__(self) -> None:
                super().__init__()
                self.register_buffer("bias", torch.tril(torch.ones(8, 8, dtype=torch.bool)).view(1, 1, 8, 8))
                self.register_buffer("masked_bias", torch.tensor(-1e4))
                self.c_attn = nn.Linear(4, 12)

        class SwinAttention(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.relative_position_bias_table = nn.Parameter(torch.zeros(9, 2))
                self.register_buffer("relative_position_index", torch.arange(4).view(2, 2))

        class FairseqPositions(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.register_buffer("_float_tensor", torch.FloatTensor(1))

        class Masked(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.scale = nn.Parameter(torch.ones(3))
                self.register_buffer("attn_mask", torch.ones(3, 3, dtype=torch.bool))
                self.register_buffer("lookup", torch.arange(5, dtype=torch.int32))

        return nn.ModuleDict({"emb": Embeddings(), "rotary": Rotary(), "attn": GPT2Attention(),
                              "swin": SwinAttention(), "positions": FairseqPositions(), "masked": Masked(),
                              "bn": nn.BatchNorm2d(3), "head": nn.Linear(4, 2)})


def test_state_dict_roles_match_the_modules_that_registered_them(tmp_path):
    torch = pytest.importorskip("torch")
    from inspector.core.loader import open_checkpoint

    model = HuggingFaceEmbeddings.build()
    torch.save(model.state_dict(), tmp_path / "sd.pt")
    expected = {name: "parameter" for name, _ in model.named_parameters()}
    expected.update({name: "buffer" for name, _ in model.named_buffers()})
    root = open_checkpoint(str(tmp_path / "sd.pt")).root
    assert {key: ref.role for key, ref in root.items()} == expected


def test_integer_and_bool_tensors_in_a_state_dict_are_buffers():
    sd = {"weight": _tensor(), "mask": _tensor("bool"), "count": _tensor("int64"), "half": _tensor("float16")}
    assign_roles({"state_dict": sd})
    assert {key: ref.role for key, ref in sd.items()} == {
        "weight": "parameter", "mask": "buffer", "count": "buffer", "half": "parameter"}


def test_optimizer_state_wins_over_state_dict_shape():
    exp_avg, step, lr = _tensor(), _tensor(), _tensor()
    optimizer = {"state": {0: {"exp_avg": exp_avg, "step": step}},
                 "param_groups": [{"params": [0], "lr": lr}]}
    assign_roles({"optimizer": optimizer, "lightning": {"optimizer_states": [optimizer]}})
    assert {exp_avg.role, step.role, lr.role} == {"optimizer-state"}


def test_pickled_optimizer_object_keeps_its_parameters_as_parameters():
    weight, momentum = _tensor(), _tensor()
    weight.extra["parameter"] = True  # how the unpickler marks an nn.Parameter
    state = PickledObject(class_name="collections.defaultdict", dict_items=[(weight, {"momentum_buffer": momentum})])
    sgd = PickledObject(class_name="torch.optim.sgd.SGD", state={
        "defaults": {"lr": 0.1}, "state": state, "param_groups": [{"params": [weight], "lr": 0.1}]})
    assign_roles([sgd])
    assert weight.role == "parameter"
    assert momentum.role == "optimizer-state"


def test_pickled_parameters_outside_modules_are_parameters():
    weight = _tensor()
    weight.extra["parameter"] = True
    assign_roles({"params": [weight], "epoch": 1})
    assert weight.role == "parameter"


def test_mixed_values_and_object_attributes_stay_plain_tensors():
    loss, score, attribute = _tensor(), _tensor(), _tensor()
    config = PickledObject(class_name="user.Config", state={"weight": attribute})
    assign_roles({"loss": loss, "epoch": 3, "callbacks": {"best": {"score": score, "path": "x"}}, "c": config})
    assert {loss.role, score.role, attribute.role} == {"tensor"}


def test_roles_already_set_are_kept_and_modules_are_not_entered():
    parameter = _tensor(role="parameter")
    inside = _tensor()
    module = ModuleObject(class_name="m.Net", state_dict={}, attributes={"extra": inside})
    assign_roles({"sd": {"running_mean": parameter}, "model": module})
    assert parameter.role == "parameter"
    assert inside.role == "tensor"


def test_is_state_dict_needs_str_keys_and_only_tensors():
    assert is_state_dict({"a": _tensor()})
    assert not is_state_dict({})
    assert not is_state_dict({0: _tensor()})
    assert not is_state_dict({"a": _tensor(), "b": 1})
    assert not is_state_dict({"/runs/epoch=3.ckpt": _tensor()})  # Lightning's best_k_models
    assert not is_state_dict({"runs/epoch=3.ckpt": _tensor()})
    assert is_state_dict({"bert/embeddings/word_embeddings": _tensor(), "lm-head.weight": _tensor()})


def test_deep_and_cyclic_structures_terminate():
    deep: list = []
    node = deep
    for _ in range(100_000):
        child: list = []
        node.append(child)
        node = child
    node.append({"w": _tensor()})
    cyclic: dict = {"state": {}, "param_groups": []}
    cyclic["state"]["self"] = cyclic
    assign_roles([deep, cyclic])
    assert node[0]["w"].role == "parameter"


@pytest.fixture(scope="module")
def optimizer_files(tmp_path_factory):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.Linear(4, 1))
    optimizers = {"adam": torch.optim.Adam(model.parameters(), lr=1e-3),
                  "sgd": torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)}
    for optimizer in optimizers.values():
        model(torch.randn(8, 3)).pow(2).mean().backward()
        optimizer.step()
    folder = tmp_path_factory.mktemp("optimizers")
    files = {}
    for name, optimizer in optimizers.items():
        files[name] = str(folder / f"{name}_state.pt")
        torch.save(optimizer.state_dict(), files[name])
    files["pickled"] = str(folder / "pickled_adam.pt")
    torch.save({"model": model, "optimizer": optimizers["adam"]}, files["pickled"])
    return files, model, optimizers


@pytest.mark.parametrize("name", ["adam", "sgd"])
def test_optimizer_state_dict_from_torch(optimizer_files, name):
    from inspector.core.loader import open_checkpoint

    files, _, optimizers = optimizer_files
    expected = optimizers[name].state_dict()["state"]
    found = list(open_checkpoint(files[name]).iter_tensors())
    oracle = [(("state", index, key), value) for index, entry in expected.items()
              for key, value in entry.items() if hasattr(value, "shape")]
    assert [path for path, _ in found] == [path for path, _ in oracle]
    assert all(ref.shape == tuple(value.shape) for (_, ref), (_, value) in zip(found, oracle))
    assert {ref.role for _, ref in found} == {"optimizer-state"}


def test_pickled_model_and_optimizer_object(optimizer_files):
    from inspector.core.loader import open_checkpoint

    files, model, _ = optimizer_files
    root = open_checkpoint(files["pickled"]).root
    assert isinstance(root["model"], ModuleObject)
    assert list(root["model"].state_dict) == list(model.state_dict())
    optimizer = root["optimizer"]
    assert isinstance(optimizer, PickledObject) and optimizer.class_name == "torch.optim.adam.Adam"
    roles = {}
    for path, ref in open_checkpoint(files["pickled"]).iter_tensors():
        roles.setdefault(path[0], set()).add(ref.role)
    assert roles["model"] == {"parameter", "buffer"}
    assert roles["optimizer"] == {"optimizer-state", "parameter"}
