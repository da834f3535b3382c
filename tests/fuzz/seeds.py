"""Small, real checkpoints of every readable format, written by torch and safetensors: the
seeds a mutation campaign starts from. Two of them carry a payload that would create the
file ``PWNED`` in the seed folder if a pickle in them were ever loaded unsafely."""

from __future__ import annotations

import os
import pickle
import warnings
from dataclasses import dataclass

MARKER_NAME = "PWNED"


@dataclass(frozen=True)
class Seed:
    name: str
    path: str  # a file, or a folder for the sharded formats
    kind: str  # which mutations fit: "zip", "legacy", "safetensors", "pickle", "hf", "dcp"


class Payload:
    """Unpickled unsafely, this runs ``touch <marker>``."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def _model():
    import torch
    from torch import nn

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                          nn.Linear(4 * 4 * 4, 5))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model(torch.randn(2, 3, 6, 6)).square().mean().backward()
    optimizer.step()
    return model, optimizer


def _tensors() -> dict:
    import torch

    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    rows = torch.arange(400, dtype=torch.float32).view(4, 100)
    return {"f32": base, "transposed": base.t(), "sliced": base[1:3, ::2], "expanded": base[0].expand(3, 6),
            "row-slices": rows[:, :4], "stepped": rows[::2, 10:70],
            "bf16": base.to(torch.bfloat16), "f16": base.half(), "i64": torch.arange(5),
            "bool": torch.tensor([True, False, True]), "fp8": base.to(torch.float8_e4m3fn),
            "scalar": torch.tensor(3.5), "empty": torch.zeros(0, 3)}


def write_seeds(folder: str) -> list[Seed]:
    """Write every seed into ``folder`` (torch is imported here, never by the reader)."""
    import torch
    from safetensors.torch import save_file

    model, optimizer = _model()
    marker = os.path.join(folder, MARKER_NAME)
    tensors = _tensors()
    tied = {"emb.weight": tensors["f32"], "head.weight": tensors["f32"], "frozen": torch.nn.Parameter(
        torch.ones(2), requires_grad=False)}
    seeds: list[Seed] = []

    def path(name: str) -> str:
        return os.path.join(folder, name)

    def add(name: str, kind: str) -> None:
        seeds.append(Seed(name, path(name), kind))

    torch.save({"epoch": 3, "model_state_dict": model.state_dict(), "optimizer": optimizer.state_dict(),
                "loss": 0.25, "config": {"lr": 1e-3, "layers": [64, 32], "name": "run"}}, path("general.pt"))
    add("general.pt", "zip")
    torch.save({**tensors, **tied}, path("views.pt"))
    add("views.pt", "zip")
    torch.save({"w": torch.ones(3), "evil": Payload(marker)}, path("payload.pt"))
    add("payload.pt", "zip")
    torch.save(model, path("module.pt"))
    add("module.pt", "zip")
    torch.save(model.state_dict(), path("legacy.pt"), _use_new_zipfile_serialization=False)
    add("legacy.pt", "legacy")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.trace(torch.nn.Linear(3, 2), torch.randn(1, 3)).save(path("script.pt"))
    add("script.pt", "zip")
    save_file({key: value.contiguous() for key, value in tensors.items()}, path("weights.safetensors"),
              metadata={"format": "pt"})
    add("weights.safetensors", "safetensors")
    with open(path("plain.pkl"), "wb") as file:
        pickle.dump({"step": 10, "values": [1.5, -2, None, (1, "a")], "blob": b"\x00" * 20,
                     "nested": {"a": {"b": [True, 2**70]}}, "evil": Payload(marker)}, file, protocol=2)
    add("plain.pkl", "pickle")
    with open(path("plain4.pkl"), "wb") as file:
        pickle.dump({"text": "x" * 40, "set": {1, 2}, "frozen": frozenset({"a"}), "float": 1e300}, file, protocol=4)
    add("plain4.pkl", "pickle")
    seeds.append(_hf_folder(path("hf"), tensors))
    seeds.append(_hf_bin_folder(path("hf-bin"), model.state_dict()))
    seeds.append(_dcp_folder(path("dcp"), model))
    return seeds


def _hf_folder(folder: str, tensors: dict) -> Seed:
    import json

    from safetensors.torch import save_file

    os.makedirs(folder)
    keys = list(tensors)
    shards = {"model-00001-of-00002.safetensors": keys[: len(keys) // 2],
              "model-00002-of-00002.safetensors": keys[len(keys) // 2:]}
    for name, part in shards.items():
        save_file({key: tensors[key].contiguous() for key in part}, os.path.join(folder, name))
    index = {"metadata": {"total_size": 1}, "weight_map": {key: name for name, part in shards.items() for key in part}}
    with open(os.path.join(folder, "model.safetensors.index.json"), "w") as file:
        json.dump(index, file)
    return Seed("hf", folder, "hf")


def _hf_bin_folder(folder: str, state_dict: dict) -> Seed:
    import json

    import torch

    os.makedirs(folder)
    keys = list(state_dict)
    shards = {"pytorch_model-00001-of-00002.bin": keys[::2], "pytorch_model-00002-of-00002.bin": keys[1::2]}
    for name, part in shards.items():
        torch.save({key: state_dict[key] for key in part}, os.path.join(folder, name))
    index = {"metadata": {}, "weight_map": {key: name for name, part in shards.items() for key in part}}
    with open(os.path.join(folder, "pytorch_model.bin.index.json"), "w") as file:
        json.dump(index, file)
    return Seed("hf-bin", folder, "hf")


def _dcp_folder(folder: str, model) -> Seed:
    import torch.distributed.checkpoint as dcp

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "assuming the intent is to save in a single process"
        dcp.save({"model": model.state_dict(), "epoch": 2}, checkpoint_id=folder)
    return Seed("dcp", folder, "dcp")
