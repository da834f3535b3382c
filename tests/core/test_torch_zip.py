"""torch.save zip archives read by our reader, with torch.load(weights_only=True) as the oracle."""

from __future__ import annotations

import os
import warnings

import pytest

from inspector.core.errors import CheckpointError
from inspector.core.formats import torch_zip
from inspector.core.geometry import check_tensor
from inspector.core.model import Storage, TensorRef
from inspector.core.progress import run_job
from tests.core.hostile import rewrite_zip

torch = pytest.importorskip("torch")

DTYPES = ["float32", "float64", "float16", "bfloat16", "float8_e4m3fn", "float8_e5m2",
          "float8_e4m3fnuz", "float8_e5m2fnuz", "int8", "int16", "int32", "int64", "uint8",
          "uint16", "uint32", "uint64", "bool", "complex64", "complex128"]


def _tensor(dtype_name: str, shape=(3, 4)) -> "torch.Tensor":
    values = torch.linspace(-3, 3, steps=int(torch.tensor(shape).prod())).reshape(shape)
    dtype = getattr(torch, dtype_name)
    if dtype == torch.bool:
        return values > 0
    if not dtype.is_floating_point and not dtype.is_complex:
        values = values.abs() * 10 if "uint" in dtype_name else values * 10
    return values.to(dtype)


def state_dict() -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        base = torch.arange(60, dtype=torch.float32).reshape(6, 10)
        tied = torch.randn(5, 3)
        sd = {f"dtype.{name}": _tensor(name) for name in DTYPES}
        sd.update({
            "view.slice": base[2:5], "view.transposed": base.t(), "view.column": base[:, 3],
            "view.expanded": torch.ones(1, 4).expand(3, 4), "base": base,
            "tied.a": tied, "tied.b": tied, "scalar": torch.tensor(7, dtype=torch.int64),
            "empty": torch.zeros(0, 5), "param": torch.nn.Parameter(torch.randn(2, 2)),
            "nested": {"list": [torch.ones(2), (torch.zeros(1),)], 3: torch.arange(3)},
        })
    return sd


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("zip") / "model.pt")
    torch.save(state_dict(), path)
    return path


def _flatten(value, path=()):
    if isinstance(value, torch.Tensor):
        yield path, value
    elif isinstance(value, dict):
        for key, child in value.items():
            yield from _flatten(child, path + (key,))
    elif isinstance(value, (list, tuple)):
        for index, child in enumerate(value):
            yield from _flatten(child, path + (index,))


def _raw_bytes(path: str, storage: Storage) -> bytes:
    with open(path, "rb") as handle:
        handle.seek(storage.offset)
        return handle.read(storage.nbytes)


def assert_matches_torch(path: str, checkpoint, map_location=None):
    oracle = dict(_flatten(torch.load(path, weights_only=True, map_location=map_location)))
    ours = dict(checkpoint.iter_tensors())
    assert list(ours) == list(oracle)
    keys_by_pointer: dict[int, str] = {}
    for key, expected in oracle.items():
        tensor = ours[key]
        assert tensor.dtype == str(expected.dtype).removeprefix("torch."), key
        assert tensor.shape == tuple(expected.shape), key
        assert tensor.stride == expected.stride(), key
        assert tensor.storage_offset == expected.storage_offset(), key
        assert check_tensor(tensor) is None
        assert tensor.requires_grad == expected.requires_grad
        untyped = expected.untyped_storage()
        assert tensor.storage.nbytes == untyped.nbytes(), key
        assert keys_by_pointer.setdefault(untyped.data_ptr(), tensor.storage.key) == tensor.storage.key
        if checkpoint.metadata.get("byteorder", "little") == "little":
            assert _raw_bytes(path, tensor.storage) == bytes(untyped.cpu()), key


def test_state_dict_matches_torch(saved):
    checkpoint = run_job(torch_zip.read(saved))
    assert checkpoint.format == "torch-zip"
    assert checkpoint.warnings == []
    assert checkpoint.metadata["prefix"] == "model"
    assert_matches_torch(saved, checkpoint)
    assert "torch._utils._rebuild_tensor_v2" in checkpoint.globals
    assert "torch.storage.UntypedStorage" in checkpoint.globals


def test_tied_tensors_share_one_object_and_views_share_a_key(saved):
    root = run_job(torch_zip.read(saved)).root
    assert root["tied.a"] is root["tied.b"]
    assert root["view.slice"].storage.key == root["base"].storage.key == root["view.transposed"].storage.key
    assert root["view.expanded"].stride == (0, 1)
    assert root["param"].extra.get("parameter") is True


def test_prefix_comes_from_the_entries(saved, tmp_path):
    renamed = str(tmp_path / "renamed.pt")
    rewrite_zip(saved, renamed, lambda name, data: data, name_map=lambda name: "other/" + name.split("/", 1)[1])
    checkpoint = run_job(torch_zip.read(renamed))
    assert checkpoint.metadata["prefix"] == "other"
    assert_matches_torch(renamed, checkpoint)


def test_gpu_saved_file_keeps_its_location_label(saved, tmp_path):
    moved = str(tmp_path / "cuda.pt")
    patch = b"X\x03\x00\x00\x00cpu", b"X\x06\x00\x00\x00cuda:0"
    rewrite_zip(saved, moved, lambda name, data: data.replace(*patch) if name.endswith("data.pkl") else data)
    checkpoint = run_job(torch_zip.read(moved))
    assert {tensor.device for _, tensor in checkpoint.iter_tensors()} == {"cuda:0"}
    assert_matches_torch(moved, checkpoint, map_location="cpu")


def _swap_record(data: bytes, size: int) -> bytes:
    return b"".join(data[i:i + size][::-1] for i in range(0, len(data), size))


def test_big_endian_file(tmp_path):
    little = str(tmp_path / "little.pt")
    sd = {"f": torch.arange(6, dtype=torch.float32).reshape(2, 3), "i": torch.arange(4, dtype=torch.int64),
          "h": torch.arange(5, dtype=torch.float16), "b": torch.tensor([True, False])}
    torch.save(sd, little)
    itemsizes = {run_job(torch_zip.read(little)).root[key].storage.key: value.element_size() for key, value in sd.items()}
    big = str(tmp_path / "big.pt")

    def to_big_endian(name: str, data: bytes) -> bytes:
        if name.endswith("/byteorder"):
            return b"big"
        key = name.rsplit("/", 1)[-1]
        return _swap_record(data, itemsizes[key]) if "/data/" in name else data

    rewrite_zip(little, big, to_big_endian)
    checkpoint = run_job(torch_zip.read(big))
    assert checkpoint.metadata["byteorder"] == "big"
    assert {tensor.storage.byteorder for _, tensor in checkpoint.iter_tensors()} == {"big"}
    assert_matches_torch(big, checkpoint)
    reloaded = torch.load(big, weights_only=True)
    for key, tensor in checkpoint.iter_tensors():
        raw = _raw_bytes(big, tensor.storage)
        expected = reloaded[key[0]]
        assert _swap_record(raw, expected.element_size()) == bytes(expected.untyped_storage())


def test_quantized_sparse_and_meta_tensors(tmp_path):
    path = str(tmp_path / "special.pt")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sd = {"q": torch.quantize_per_tensor(torch.randn(4), 0.5, 3, torch.qint8),
              "sparse": torch.eye(3).to_sparse(), "meta": torch.empty(2, 5, device="meta")}
        torch.save(sd, path)
        oracle = torch.load(path, weights_only=True)
    root = run_job(torch_zip.read(path)).root
    assert root["q"].dtype == "qint8" and root["q"].layout == "quantized"
    assert root["q"].extra["scale"] == oracle["q"].q_scale()
    assert root["q"].extra["zero_point"] == oracle["q"].q_zero_point()
    assert root["sparse"].shape == tuple(oracle["sparse"].shape) and root["sparse"].layout == "sparse_coo"
    assert root["meta"].shape == (2, 5) and root["meta"].storage is None and root["meta"].device == "meta"


def test_pickled_module_keeps_its_tensors(tmp_path):
    path = str(tmp_path / "module.pt")
    model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    torch.save(model, path)
    checkpoint = run_job(torch_zip.read(path))
    found = {path[-1]: tensor for path, tensor in checkpoint.iter_tensors()}
    assert set(found) == {"weight", "bias", "running_mean", "running_var", "num_batches_tracked"}
    assert "torch.nn.modules.linear.Linear" in checkpoint.globals


def test_view_outside_its_storage_is_cut_with_a_warning(saved, tmp_path):
    broken = str(tmp_path / "broken.pt")
    # 'view.slice' is base[2:5]: offset 20 elements; make it claim 6000 rows instead of 3.
    rewrite_zip(saved, broken, lambda name, data: data.replace(b"K\x03K\n\x86", b"Mp\x17K\n\x86", 1)
                if name.endswith("data.pkl") else data)
    checkpoint = run_job(torch_zip.read(broken))
    bad = [tensor for _, tensor in checkpoint.iter_tensors() if "problem" in tensor.extra]
    assert len(bad) == 1 and bad[0].storage is None and bad[0].shape == (6000, 10)
    assert any("cannot be read" in warning and "view needs" in warning for warning in checkpoint.warnings)


def test_record_size_mismatch_is_a_warning(saved, tmp_path):
    short = str(tmp_path / "short.pt")
    base_key = run_job(torch_zip.read(saved)).root["base"].storage.key
    rewrite_zip(saved, short, lambda name, data: data[:100] if name.endswith(f"/data/{base_key}") else data)
    checkpoint = run_job(torch_zip.read(short))
    assert any(f"data/{base_key} holds 100 bytes" in warning for warning in checkpoint.warnings)
    assert checkpoint.root["base"].storage is None  # 240 bytes needed, 100 present
    assert checkpoint.root["tied.a"].storage is not None


def test_missing_record_keeps_the_tree(saved, tmp_path):
    missing = str(tmp_path / "missing.pt")
    key = run_job(torch_zip.read(saved)).root["scalar"].storage.key
    rewrite_zip(saved, missing, lambda name, data: None if name.endswith(f"/data/{key}") else data)
    checkpoint = run_job(torch_zip.read(missing))
    assert checkpoint.root["scalar"].storage is None
    assert "missing" in checkpoint.root["scalar"].extra["problem"]


def test_zip_without_data_pkl_is_refused(tmp_path):
    import zipfile
    path = str(tmp_path / "other.zip")
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(CheckpointError, match="data.pkl"):
        run_job(torch_zip.read(path))


def test_embedded_archive(saved, tmp_path):
    outer = str(tmp_path / "outer.bin")
    payload = open(saved, "rb").read()
    with open(outer, "wb") as handle:
        handle.write(b"\x00" * 1000 + payload + b"PK\x05\x06 trailing garbage")
    checkpoint = torch_zip.read_embedded(outer, 1000, len(payload))
    standalone = run_job(torch_zip.read(saved))
    ours = {key: (t.storage.offset, t.shape) for key, t in checkpoint.iter_tensors()}
    theirs = {key: (t.storage.offset + 1000, t.shape) for key, t in standalone.iter_tensors()}
    assert ours == theirs


def test_opening_a_big_file_reads_only_the_pickle(tmp_path_factory, monkeypatch):
    path = str(tmp_path_factory.mktemp("big") / "many.pt")
    torch.save({f"layer{i}.weight": torch.zeros(64) for i in range(2000)}, path)
    read: list[int] = []
    original = os.pread
    monkeypatch.setattr(os, "pread", lambda fd, size, offset: read.append(size) or original(fd, size, offset))
    checkpoint = run_job(torch_zip.read(path))
    assert sum(1 for _ in checkpoint.iter_tensors()) == 2000
    assert all(isinstance(t, TensorRef) and t.storage.nbytes == 256 for _, t in checkpoint.iter_tensors())
    records = 2000 * 256
    assert os.path.getsize(path) > records
    assert sum(read) < os.path.getsize(path) - records  # the directory and data.pkl, no record
    assert len(read) < 100  # a few large reads, not one per record header


def _record_header(path: str, name_end: str) -> tuple[str, int]:
    import zipfile
    with zipfile.ZipFile(path) as archive:
        info = next(info for info in archive.infolist() if info.filename.endswith(name_end))
        return info.filename, info.header_offset


def test_opening_reads_no_local_header(saved, monkeypatch):
    reads = []
    real_pread = os.pread
    monkeypatch.setattr(os, "pread", lambda fd, size, offset: reads.append(offset) or real_pread(fd, size, offset))
    checkpoint = run_job(torch_zip.read(saved))
    tensors = [tensor for _, tensor in checkpoint.iter_tensors() if tensor.storage is not None]
    assert len(reads) < 10 and all(tensor.storage.resolved_offset is None for tensor in tensors)
    monkeypatch.undo()
    base = checkpoint.root["base"]
    name, header_offset = _record_header(saved, f"/data/{base.storage.key}")
    assert base.storage.zip_local[:2] == (header_offset, name)
    assert _raw_bytes(saved, base.storage) == bytes(torch.arange(60, dtype=torch.float32).numpy())
    assert base.storage.resolved_offset == base.storage.offset


def _patch_local_header(saved: str, target: str, name_end: str, patch) -> None:
    name, header_offset = _record_header(saved, name_end)
    data = bytearray(open(saved, "rb").read())
    patch(data, header_offset, name)
    open(target, "wb").write(bytes(data))


@pytest.mark.parametrize("damage", ["signature", "name"])
def test_damaged_local_header_fails_when_values_are_read(saved, tmp_path, damage):
    from inspector.core.values import read_array
    key = run_job(torch_zip.read(saved)).root["base"].storage.key
    broken = str(tmp_path / "local.pt")

    def patch(data, at, name):
        if damage == "signature":
            data[at:at + 4] = b"XXXX"
        else:
            data[at + 30 + len(name) - 1] ^= 0x20  # the last letter of the local name

    _patch_local_header(saved, broken, f"/data/{key}", patch)
    checkpoint = run_job(torch_zip.read(broken))  # opening reads no local header
    assert checkpoint.root["base"].storage is not None
    with pytest.raises(CheckpointError, match="no local header" if damage == "signature" else "named"):
        read_array(checkpoint.root["base"])
    assert read_array(checkpoint.root["tied.a"]).shape == (5, 3)


def test_record_past_the_end_is_truncated_at_open(saved, tmp_path):
    import struct
    import zipfile
    key = run_job(torch_zip.read(saved)).root["base"].storage.key
    with zipfile.ZipFile(saved) as archive:
        info = next(info for info in archive.infolist() if info.filename.endswith(f"/data/{key}"))
        directory_at = archive.start_dir
    data = bytearray(open(saved, "rb").read())
    entry = data.index(b"PK\x01\x02", directory_at)
    while struct.unpack_from("<L", data, entry + 42)[0] != info.header_offset:
        entry = data.index(b"PK\x01\x02", entry + 4)
    struct.pack_into("<L", data, entry + 20, 1 << 31)  # compressed size: 2 GB
    broken = str(tmp_path / "past.pt")
    open(broken, "wb").write(bytes(data))
    with pytest.raises(CheckpointError, match="truncated"):
        run_job(torch_zip.read(broken))
