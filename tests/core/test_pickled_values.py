"""numpy scalars, numpy arrays and argparse.Namespace in files torch wrote: shown as their values,
equal to what torch.load gives back (our own files, so the unsafe load is the oracle here)."""

from __future__ import annotations

import argparse

import numpy as np
import pytest
import torch

from inspector.core.jsonview import info_json
from inspector.core.loader import open_checkpoint
from inspector.core.pickled_values import MAX_ARRAY_VALUES
from inspector.core.tree import build_tree


@pytest.fixture(scope="module")
def timm_style(tmp_path_factory):
    """What timm's train.py and the ImageNet example save: numpy scalars and the parsed args."""
    torch.manual_seed(0)
    value = {
        "epoch": 90, "arch": "resnet50", "state_dict": torch.nn.Linear(3, 2).state_dict(),
        "metric": np.float64(76.13), "best_acc1": np.float32(75.5), "steps": np.int64(123456),
        "flag": np.bool_(True), "half": np.float16(0.5), "complex": np.complex64(1 + 2j),
        "args": argparse.Namespace(lr=0.1, epochs=90, model="resnet50", betas=(0.9, 0.999), amp=True),
        "vector": np.array([1.5, -2.0, 3.25]), "matrix": np.arange(6, dtype=np.int32).reshape(2, 3),
        "fortran": np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)),
        "big_endian": np.array([1, 256], dtype=">i4"), "mask": np.array([True, False]),
        "zero_d": np.array(2.5), "large": np.zeros(MAX_ARRAY_VALUES + 1, dtype=np.float32),
        "words": np.array(["a", "b"]),
    }
    path = tmp_path_factory.mktemp("timm") / "checkpoint.pth.tar"
    torch.save(value, path)
    return str(path)


def _plain(value):
    """numpy values the way the JSON contract shows them (Namespace as its fields)."""
    if isinstance(value, argparse.Namespace):
        return {key: _plain(item) for key, item in vars(value).items()}
    if isinstance(value, tuple):
        return [_plain(item) for item in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        item = value.item()
        return {"complex": [item.real, item.imag]} if isinstance(item, complex) else item
    return value


def test_numpy_scalars_arrays_and_namespace_show_as_values(timm_style):
    objects = info_json(open_checkpoint(timm_style))["objects"]
    loaded = torch.load(timm_style, weights_only=False)
    for key in ("metric", "best_acc1", "steps", "flag", "half", "complex", "args", "vector", "matrix",
                "fortran", "big_endian", "mask"):
        assert objects[key] == _plain(loaded[key]), key
    assert objects["zero_d"] == [2.5]
    assert objects["large"] == {"ndarray": f"float32[{MAX_ARRAY_VALUES + 1}]"}
    assert objects["words"] == {"ndarray": "U1[2]"}  # strings are not plain numbers


def test_tree_shows_values_and_namespace_fields(timm_style):
    root = build_tree(open_checkpoint(timm_style))
    nodes = {node.name: node for node in root.children}
    assert (nodes["metric"].kind, nodes["metric"].value) == ("value", 76.13)
    assert nodes["args"].kind == "dict" and nodes["args"].class_name == "argparse.Namespace"
    assert {child.name: child.value for child in nodes["args"].children}["lr"] == 0.1
    assert nodes["vector"].kind == "value" and repr(nodes["vector"].value) == "array([1.5, -2.0, 3.25], float64)"
    assert nodes["vector"].class_name == "numpy.ndarray"


def test_no_warning_for_plain_numbers(timm_style):
    checkpoint = open_checkpoint(timm_style)
    assert not [warning for warning in checkpoint.warnings if "scalar" in warning or "Namespace" in warning]
