"""The .safetensors writer against safetensors.torch.load_file: exact values of views (a
transposed one included), bf16/fp8, aliases of tied weights, metadata, the header layout."""

from __future__ import annotations

import json
import os
import struct
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file

from inspector.core.errors import CheckpointError
from inspector.core.progress import run_job
from inspector.core.writers.layout import OutputTensor
from inspector.core.writers.safetensors_file import ALIASES_KEY, write_safetensors
from tests.core.export_sources import (assert_same_tensor, big_endian_copy, mixed_state_dict,
                                       output_tensors)
WRITABLE = [key for key in mixed_state_dict() if key != "dtype.complex128"]  # no C128 in safetensors


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    state = mixed_state_dict()
    path = str(tmp_path_factory.mktemp("st_source") / "source.pt")
    torch.save(state, path)
    return path, state


def writable(tensors: list[OutputTensor]) -> list[OutputTensor]:
    return [tensor for tensor in tensors if tensor.key in WRITABLE]


@pytest.fixture(scope="module")
def exported(source, tmp_path_factory):
    path, _ = source
    out = str(tmp_path_factory.mktemp("st_out") / "exported.safetensors")
    metadata = {"format": "pt", "frozen": json.dumps(["views.base"])}
    run_job(write_safetensors(writable(output_tensors(path)), out, metadata))
    return out


def test_values_match_what_torch_saved(source, exported):
    _, state = source
    loaded = load_file(exported)
    assert set(loaded) == set(WRITABLE) - {"tied.b"}
    for key in loaded:
        assert_same_tensor(loaded[key], state[key])


def test_views_come_out_as_their_own_values(source, exported):
    _, state = source
    loaded = load_file(exported)
    assert torch.equal(loaded["views.transposed"], state["views.base"].t())
    assert loaded["views.transposed"].is_contiguous()
    assert_same_tensor(loaded["bf16.transposed"], state["bf16.transposed"])
    assert_same_tensor(loaded["fp8.slice"], state["fp8.slice"])
    assert torch.equal(loaded["expanded"], torch.ones(3, 4))


def test_tied_weights_keep_one_name_and_record_the_alias(exported):
    with safe_open(exported, "pt") as file:
        metadata = file.metadata()
    assert json.loads(metadata[ALIASES_KEY]) == {"tied.b": "tied.a"}
    assert metadata["format"] == "pt"
    assert json.loads(metadata["frozen"]) == ["views.base"]


def test_header_is_padded_and_tensors_aligned(exported):
    with open(exported, "rb") as file:
        length = struct.unpack("<Q", file.read(8))[0]
        header = json.loads(file.read(length))
    assert length % 8 == 0
    sizes = {"F64": 8, "I64": 8, "U64": 8, "C64": 8, "F32": 4, "I32": 4, "U32": 4}
    for key, entry in header.items():
        if key != "__metadata__":
            assert entry["data_offsets"][0] % sizes.get(entry["dtype"], 1) == 0, key


def test_big_endian_source(source, tmp_path):
    path, state = source
    big = str(tmp_path / "big.pt")
    big_endian_copy(path, big)
    out = str(tmp_path / "from_big.safetensors")
    run_job(write_safetensors(writable(output_tensors(big)), out))
    loaded = load_file(out)
    for key in loaded:
        assert_same_tensor(loaded[key], state[key])


def test_refuses_a_dtype_safetensors_lacks(source, tmp_path):
    path, _ = source
    out = str(tmp_path / "out.safetensors")
    complex128 = [tensor for tensor in output_tensors(path) if tensor.key == "dtype.complex128"]
    with pytest.raises(CheckpointError, match="complex128"):
        run_job(write_safetensors(complex128, out))
    assert not os.path.exists(out)
