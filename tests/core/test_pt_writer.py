"""The .pt writer against torch.load(weights_only=True): exact values, dtypes, geometry, ties,
and torch.save's layout."""

from __future__ import annotations

import os
import warnings
import zipfile

import pytest
import torch

from inspector.core.errors import CheckpointError
from inspector.core.progress import run_job
from inspector.core.writers.layout import OutputTensor
from inspector.core.writers.pt_file import ALIGNMENT, write_pt
from tests.core.export_sources import (assert_same_tensor, big_endian_copy, bits, mixed_state_dict,
                                       output_tensors)


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    state = mixed_state_dict()
    path = str(tmp_path_factory.mktemp("pt_source") / "source.pt")
    torch.save(state, path)
    return path, state


@pytest.fixture(scope="module")
def exported(source, tmp_path_factory):
    path, _ = source
    out = str(tmp_path_factory.mktemp("pt_out") / "exported.pt")
    size = run_job(write_pt(output_tensors(path), out))
    return out, size


def test_values_dtypes_and_geometry_match_what_torch_saved(source, exported):
    _, state = source
    out, _ = exported
    loaded = torch.load(out, weights_only=True)
    assert list(loaded) == list(state)
    for key, expected in state.items():
        assert_same_tensor(loaded[key], expected)
        assert loaded[key].stride() == expected.stride(), key
        assert not loaded[key].requires_grad


def test_shared_storages_stay_shared(source, exported):
    _, state = source
    loaded = torch.load(exported[0], weights_only=True)

    def storage_of(key):
        return loaded[key].untyped_storage().data_ptr()

    assert storage_of("tied.a") == storage_of("tied.b")
    views = {storage_of(key) for key in ("views.base", "views.rows", "views.transposed", "views.column")}
    assert len(views) == 1
    assert loaded["views.rows"].storage_offset() == state["views.rows"].storage_offset()
    loaded["views.base"][3, 3] = 1234.5  # one storage: a write shows through every view
    assert loaded["views.column"][3] == loaded["views.transposed"][3, 3] == 1234.5


def test_a_slice_keeps_only_the_bytes_it_views(source, exported):
    _, state = source
    loaded = torch.load(exported[0], weights_only=True)
    piece = loaded["fp8.slice"]
    expected = state["fp8.slice"]
    assert piece.untyped_storage().nbytes() < expected.untyped_storage().nbytes()
    span = sum((size - 1) * step for size, step in zip(expected.shape, expected.stride())) + 1
    assert piece.untyped_storage().nbytes() == span * expected.element_size()
    assert piece.storage_offset() == 0


def test_layout_is_torch_saves(exported):
    out, size = exported
    assert size == os.path.getsize(out)
    with zipfile.ZipFile(out) as archive:
        assert archive.testzip() is None  # CRCs are right
        names = archive.namelist()
        assert names[:4] == ["exported/data.pkl", "exported/.format_version",
                             "exported/.storage_alignment", "exported/byteorder"]
        assert names[-2:] == ["exported/version", "exported/.data/serialization_id"]
        assert archive.read("exported/byteorder") == b"little"
        for info in archive.infolist():
            assert info.compress_type == zipfile.ZIP_STORED
    with open(out, "rb") as file:
        raw = file.read()
    for info in zipfile.ZipFile(out).infolist():
        start = info.header_offset + 30 + int.from_bytes(raw[info.header_offset + 26:info.header_offset + 28], "little") \
            + int.from_bytes(raw[info.header_offset + 28:info.header_offset + 30], "little")
        assert start % ALIGNMENT == 0, info.filename
    mapped = torch.load(out, weights_only=True, mmap=True)  # needs aligned records
    assert len(mapped) > 0


def test_our_reader_reads_the_export_back(source, exported):
    from inspector.core.loader import open_checkpoint
    from inspector.core.values import read_array

    _, state = source
    checkpoint = open_checkpoint(exported[0])
    assert checkpoint.format == "torch-zip" and checkpoint.warnings == []
    found = {path[-1]: tensor for path, tensor in checkpoint.iter_tensors()}
    assert list(found) == list(state)
    for key, expected in state.items():
        values = read_array(found[key])
        assert values.shape == tuple(expected.shape)
        assert values.tobytes() == bits(expected).numpy().tobytes(), key
    assert found["tied.a"].storage == found["tied.b"].storage


def test_big_endian_source_is_written_little_endian(source, tmp_path):
    path, state = source
    big = str(tmp_path / "big.pt")
    big_endian_copy(path, big)
    out = str(tmp_path / "from_big.pt")
    run_job(write_pt(output_tensors(big), out))
    loaded = torch.load(out, weights_only=True)
    for key, expected in state.items():
        assert_same_tensor(loaded[key], expected)


def test_refuses_dtypes_a_state_dict_cannot_hold(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = str(tmp_path / "quantized.pt")
        torch.save({"q": torch.quantize_per_tensor(torch.randn(4), 0.5, 3, torch.qint8)}, path)
    out = str(tmp_path / "out.pt")
    with pytest.raises(CheckpointError, match="qint8"):
        run_job(write_pt(output_tensors(path), out))
    assert not os.path.exists(out)


def test_a_cast_keeps_views_shared(source, tmp_path):
    path, state = source
    tensors = [OutputTensor(tensor.key, tensor.source, "float16") for tensor in output_tensors(path)
               if tensor.key.startswith("views.")]
    out = str(tmp_path / "half.pt")
    run_job(write_pt(tensors, out))
    loaded = torch.load(out, weights_only=True)
    for key in ("views.base", "views.rows", "views.transposed", "views.column"):
        assert_same_tensor(loaded[key], state[key].to(torch.float16))
    assert loaded["views.rows"].untyped_storage().data_ptr() == loaded["views.base"].untyped_storage().data_ptr()
