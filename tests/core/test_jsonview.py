"""info_json: the contract's fields, checked against torch on files torch wrote."""

from __future__ import annotations

import json
import math

import pytest

from inspector.core.loader import open_checkpoint
from inspector.core.jsonview import info_json, to_json
from inspector.core.model import Checkpoint, PickledObject, Storage, TensorRef, Truncated

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def lightning_like(tmp_path_factory):
    """A Lightning-style checkpoint: state_dict, optimizer state, plain values."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3), torch.nn.Linear(3, 2))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model(torch.randn(5, 4)).sum().backward()
    optimizer.step()
    value = {
        "epoch": 4, "global_step": 120, "loss": float("nan"), "best": float("inf"),
        "state_dict": {f"model.{k}": v for k, v in model.state_dict().items()},
        "optimizer_states": [optimizer.state_dict()],
        "hyper_parameters": {"lr": 1e-3, "layers": (4, 3, 2), 7: "int key", "raw": b"\x00\x01"},
        "half": torch.ones(2, 2, dtype=torch.bfloat16),
    }
    path = tmp_path_factory.mktemp("json") / "run.ckpt"
    torch.save(value, path)
    return str(path), torch.load(path, weights_only=False)


def _torch_tensors(value, path=()):
    """(path, tensor) pairs of what torch.load returned, per the contract's path rules."""
    if isinstance(value, torch.Tensor):
        yield path, value
    elif isinstance(value, dict):
        for key, child in value.items():
            yield from _torch_tensors(child, path + (key,))
    elif isinstance(value, (list, tuple)):
        for index, child in enumerate(value):
            yield from _torch_tensors(child, path + (index,))


def test_tensors_match_torch(lightning_like):
    path, loaded = lightning_like
    document = json.loads(json.dumps(info_json(open_checkpoint(path)), allow_nan=False))
    assert document["format"] == "torch-zip"
    expected = {tuple(p): t for p, t in _torch_tensors(loaded)}
    got = {tuple(entry["path"]): entry for entry in document["tensors"]}
    assert set(got) == set(expected)
    for key, tensor in expected.items():
        entry = got[key]
        assert entry["shape"] == list(tensor.shape)
        assert entry["dtype"] == str(tensor.dtype).removeprefix("torch.")
        assert entry["nbytes"] == tensor.numel() * tensor.element_size()
        assert entry["device"] == "cpu"
    assert got[("state_dict", "model.0.weight")]["role"] == "parameter"
    assert got[("state_dict", "model.1.running_mean")]["role"] == "buffer"
    assert got[("optimizer_states", 0, "state", 0, "exp_avg")]["role"] == "optimizer-state"
    assert document["tensor_count"] == len(expected)


def test_objects_hold_the_non_tensor_values(lightning_like):
    path, loaded = lightning_like
    objects = info_json(open_checkpoint(path))["objects"]
    assert objects["epoch"] == loaded["epoch"] and objects["global_step"] == loaded["global_step"]
    assert objects["loss"] == "nan" and objects["best"] == "inf"
    assert objects["hyper_parameters"]["layers"] == list(loaded["hyper_parameters"]["layers"])
    assert objects["hyper_parameters"]["7"] == "int key"
    assert objects["hyper_parameters"]["raw"] == {"bytes": 2}
    groups = objects["optimizer_states"][0]["param_groups"]
    assert groups[0]["lr"] == loaded["optimizer_states"][0]["param_groups"][0]["lr"]
    assert "model.0.weight" not in objects["state_dict"]  # tensors are listed under "tensors"


def test_stats_only_when_given(lightning_like):
    path, loaded = lightning_like
    checkpoint = open_checkpoint(path)
    assert all("stats" not in entry for entry in info_json(checkpoint)["tensors"])
    from inspector.core.progress import run_job
    from inspector.core.all_stats import compute_all_stats

    document = info_json(checkpoint, run_job(compute_all_stats(checkpoint)))
    entry = next(e for e in document["tensors"] if e["path"] == ["state_dict", "model.0.weight"])
    weight = loaded["state_dict"]["model.0.weight"]
    assert entry["stats"]["min"] == pytest.approx(weight.min().item())
    assert entry["stats"]["max"] == pytest.approx(weight.max().item())
    assert entry["stats"]["std"] == pytest.approx(weight.std().item(), rel=1e-5)
    json.dumps(document, allow_nan=False)


def test_objects_lists_keep_indices_and_objects_show_class():
    storage = Storage("x", 0, 64, "float32")
    tensor = TensorRef("float32", (4, 2), (2, 1), storage)
    value = {"pair": [tensor, 3], "obj": PickledObject("user.Config", state={"lr": 0.5}),
             "raw": PickledObject("user.Point", args=(1, 2), state=[3]),
             "cut": Truncated("too deep"), "big": 1 << 5000, "tags": {"a"}}
    result = to_json(value)
    assert result["pair"] == [{"tensor": "float32[4, 2]"}, 3]
    assert result["obj"] == {"__class__": "user.Config", "lr": 0.5}
    assert result["raw"] == {"__class__": "user.Point", "__state__": [3], "__args__": [1, 2]}
    assert result["cut"] == {"truncated": "too deep"}
    assert result["big"] == {"int": "5001-bit integer"}
    assert result["tags"] == {"set": ["a"]}
    json.dumps(result, allow_nan=False)


def test_billion_laughs_stays_bounded():
    laughs: object = ["lol"]
    for _ in range(40):
        laughs = [laughs, laughs]  # 2**40 leaves through shared references
    text = json.dumps(to_json(laughs, max_nodes=10_000))
    assert "node limit" in text and len(text) < 1_000_000


def test_nan_stats_become_valid_json():
    checkpoint = Checkpoint("x.pt", "pickle", {"v": math.nan})
    document = info_json(checkpoint, stats={})
    assert json.loads(json.dumps(document, allow_nan=False))["objects"] == {"v": "nan"}
