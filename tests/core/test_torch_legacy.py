"""Legacy torch.save streams (``_use_new_zipfile_serialization=False``) against torch as the oracle."""

from __future__ import annotations

import struct
import warnings

import pytest

from inspector.core.errors import CheckpointError
from inspector.core.formats import torch_legacy
from inspector.core.progress import run_job
from tests.core.test_torch_zip import assert_matches_torch

torch = pytest.importorskip("torch")

# torch writes these through UntypedStorage in the legacy format and cannot load them back.
UNTYPED_ONLY = ["uint16", "uint32", "uint64", "float8_e4m3fn", "float8_e5m2"]
TYPED = ["float32", "float64", "float16", "bfloat16", "int8", "int16", "int32", "int64", "uint8",
         "bool", "complex64", "complex128"]


def legacy_state_dict() -> dict:
    base = torch.arange(40, dtype=torch.float32).reshape(4, 10)
    tied = torch.randn(3)
    sd = {f"dtype.{name}": (torch.arange(6) % 2).to(getattr(torch, name)).reshape(2, 3) for name in TYPED}
    sd.update({"base": base, "view": base[1:3, 2:], "t": base.t(), "expanded": torch.ones(1, 3).expand(2, 3),
               "tied.a": tied, "tied.b": tied, "scalar": torch.tensor(3.5), "empty": torch.zeros(0),
               "param": torch.nn.Parameter(torch.ones(2)), "nested": [{"x": torch.ones(1)}]})
    return sd


@pytest.fixture(scope="module")
def legacy(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("legacy") / "old.pt")
    torch.save(legacy_state_dict(), path, _use_new_zipfile_serialization=False)
    return path


def test_legacy_matches_torch(legacy):
    checkpoint = run_job(torch_legacy.read(legacy))
    assert checkpoint.format == "torch-legacy"
    assert checkpoint.warnings == []
    assert checkpoint.metadata["byteorder"] == "little"
    assert_matches_torch(legacy, checkpoint)
    root = checkpoint.root
    assert root["tied.a"] is root["tied.b"]
    assert root["view"].storage.key == root["base"].storage.key


def test_untyped_storage_dtypes_point_at_their_bytes(tmp_path):
    path = str(tmp_path / "untyped.pt")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tensors = {name: torch.arange(5, dtype=torch.int32).to(getattr(torch, name)) for name in UNTYPED_ONLY}
    torch.save(tensors, path, _use_new_zipfile_serialization=False)
    root = run_job(torch_legacy.read(path)).root
    raw = open(path, "rb").read()
    for name, expected in tensors.items():
        ours = root[name]
        assert ours.dtype == name and ours.shape == (5,)
        assert raw[ours.storage.offset:ours.storage.offset + ours.storage.nbytes] == bytes(expected.untyped_storage())


def _storages_in_file_order(path: str):
    storages = {t.storage.key: t.storage for _, t in run_job(torch_legacy.read(path)).iter_tensors()}
    return sorted(storages.values(), key=lambda storage: storage.offset)


def test_big_endian_stream(legacy, tmp_path):
    raw = bytearray(open(legacy, "rb").read())
    storages = _storages_in_file_order(legacy)
    flag = raw.index(b"little_endianq\x02\x88") + len(b"little_endianq\x02")
    raw[flag] = 0x89  # NEWFALSE
    for storage in storages:
        size = {"float64": 8, "complex128": 8, "complex64": 4, "int64": 8, "float32": 4, "int32": 4,
                "float16": 2, "bfloat16": 2, "int16": 2}.get(storage.dtype, 1)
        count = raw[storage.offset - 8:storage.offset]
        raw[storage.offset - 8:storage.offset] = bytes(count)[::-1]
        data = bytes(raw[storage.offset:storage.offset + storage.nbytes])
        raw[storage.offset:storage.offset + storage.nbytes] = b"".join(
            data[i:i + size][::-1] for i in range(0, len(data), size))
    path = str(tmp_path / "big.pt")
    open(path, "wb").write(bytes(raw))
    checkpoint = run_job(torch_legacy.read(path))
    assert checkpoint.metadata["byteorder"] == "big"
    big = {t.storage.key: t.storage for _, t in checkpoint.iter_tensors()}
    for storage in storages:
        assert (big[storage.key].offset, big[storage.key].nbytes) == (storage.offset, storage.nbytes)
        assert big[storage.key].byteorder == "big"


@pytest.fixture(scope="module")
def no_empty_storages(tmp_path_factory):
    """Storages are written in the order of their (address-derived) keys: none empty, so the
    last one in the file surely has bytes."""
    path = str(tmp_path_factory.mktemp("legacy") / "simple.pt")
    torch.save({"a": torch.ones(10), "b": torch.arange(5), "c": {"d": torch.eye(3)}}, path,
               _use_new_zipfile_serialization=False)
    return path


@pytest.mark.parametrize("where", ["object", "keys", "data", "count"])
def test_truncated_legacy_file(no_empty_storages, tmp_path, where):
    raw = open(no_empty_storages, "rb").read()
    storages = _storages_in_file_order(no_empty_storages)
    cut = {"object": 300, "keys": storages[0].offset - 20, "data": storages[-1].offset + 1,
           "count": storages[-1].offset - 4}[where]
    path = str(tmp_path / "cut.pt")
    open(path, "wb").write(raw[:cut])
    with pytest.raises(CheckpointError, match="truncated"):
        run_job(torch_legacy.read(path))


def test_count_that_disagrees_with_the_declared_size(no_empty_storages, tmp_path):
    raw = bytearray(open(no_empty_storages, "rb").read())
    last = _storages_in_file_order(no_empty_storages)[-1]
    declared, = struct.unpack("<q", raw[last.offset - 8:last.offset])
    raw[last.offset - 8:last.offset] = struct.pack("<q", declared - 1)
    path = str(tmp_path / "count.pt")
    open(path, "wb").write(bytes(raw))
    checkpoint = run_job(torch_legacy.read(path))
    assert any(f"holds {declared - 1} elements but declares {declared}" in w for w in checkpoint.warnings)


def test_wrong_magic_is_refused(legacy, tmp_path):
    raw = bytearray(open(legacy, "rb").read())
    raw[5] ^= 0xFF
    path = str(tmp_path / "magic.pt")
    open(path, "wb").write(bytes(raw))
    with pytest.raises(CheckpointError):
        run_job(torch_legacy.read(path))


def test_gpu_saved_legacy_file(legacy, tmp_path):
    raw = open(legacy, "rb").read()
    path = str(tmp_path / "cuda.pt")
    open(path, "wb").write(raw.replace(b"X\x03\x00\x00\x00cpu", b"X\x06\x00\x00\x00cuda:1"))
    checkpoint = run_job(torch_legacy.read(path))
    assert {tensor.device for _, tensor in checkpoint.iter_tensors()} == {"cuda:1"}
    assert_matches_torch(path, checkpoint, map_location="cpu")


def test_legacy_pickled_module_shows_its_class_and_state_dict(tmp_path):
    torchvision = pytest.importorskip("torchvision")
    from inspector.core.loader import open_checkpoint
    from inspector.core.model import ModuleObject

    model = torchvision.models.resnet18(weights=None)
    path = tmp_path / "legacy_model.pt"
    torch.save(model, path, _use_new_zipfile_serialization=False)
    checkpoint = open_checkpoint(str(path))

    assert isinstance(checkpoint.root, ModuleObject)
    assert checkpoint.root.class_name == "torchvision.models.resnet.ResNet"
    expected = model.state_dict()
    assert list(checkpoint.root.state_dict) == list(expected)
    assert all(list(ref.shape) == list(expected[key].shape) for key, ref in checkpoint.root.state_dict.items())
