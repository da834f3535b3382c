"""torch.distributed.checkpoint folders written by torch itself (and hand-made variants)."""

from __future__ import annotations

import io
import os
import pickle
import shutil
import signal
import warnings

import pytest
import torch

from inspector.core.errors import CheckpointError
from inspector.core.formats import dcp
from inspector.core.model import TensorRef, Truncated
from inspector.core.progress import run_job

pytest.importorskip("inspector.core.formats.torch_zip")
checkpoint_api = pytest.importorskip("torch.distributed.checkpoint")
metadata_api = pytest.importorskip("torch.distributed.checkpoint.metadata")
from torch.distributed.checkpoint.filesystem import _StorageInfo  # noqa: E402


def _state_dict() -> dict:
    generator = torch.Generator().manual_seed(1)
    return {
        "model": {"layer.weight": torch.randn(3, 4, generator=generator),
                  "layer.bias": torch.arange(3, dtype=torch.int64),
                  "bn.num_batches_tracked": torch.tensor(5)},
        "optimizer": {
            "state": {"layer.weight": {"exp_avg": torch.randn(3, 4).to(torch.bfloat16),
                                       "step": torch.tensor(1.0)}},
            "param_groups": [{"lr": 0.1, "params": ["layer.weight"]}]},
        "epoch": 7,
        "name": "hello",
        "blob": b"xyz",
    }


def _save(state_dict: dict, folder) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "assuming the intent is to save in a single process"
        checkpoint_api.save(state_dict, checkpoint_id=str(folder))


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dcp") / "ckpt"
    state_dict = _state_dict()
    _save(state_dict, folder)
    return folder, state_dict


def _leaves(value, path=()):
    """(path, leaf) pairs, lists and dicts alike (the contract's paths do not tell them apart)."""
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _leaves(child, path + (key,))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _leaves(child, path + (index,))
    else:
        yield path, value


def _tensor_bytes(ref: TensorRef) -> bytes:
    itemsize = torch.empty((), dtype=getattr(torch, ref.dtype)).element_size()
    with open(ref.storage.path, "rb") as handle:
        handle.seek(ref.storage.offset + ref.storage_offset * itemsize)
        return handle.read(ref.nbytes)


def _raw(tensor: torch.Tensor) -> bytes:
    return tensor.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()


def test_nested_state_dict_matches_what_was_saved(saved):
    folder, state_dict = saved
    checkpoint = run_job(dcp.read(str(folder)))
    assert checkpoint.format == "dcp"
    ours = dict(_leaves(checkpoint.root))
    expected = dict(_leaves(state_dict))
    assert set(ours) == set(expected)
    for path, value in expected.items():
        if isinstance(value, torch.Tensor):
            ref = ours[path]
            assert isinstance(ref, TensorRef), path
            assert ref.shape == tuple(value.shape) and ref.stride == value.stride(), path
            assert ref.dtype == str(value.dtype).removeprefix("torch."), path
            assert _tensor_bytes(ref) == _raw(value), path
        else:
            assert ours[path] == value, path
    assert not any("chunks" in warning for warning in checkpoint.warnings)
    assert isinstance(checkpoint.root["optimizer"]["param_groups"], list)
    assert "torch.distributed.checkpoint.metadata.Metadata" in checkpoint.globals
    assert checkpoint.metadata["storage_files"] == ["__0_0.distcp"]


def test_torch_loads_the_same_values(saved):
    folder, state_dict = saved
    template = {"model": {key: torch.zeros_like(value)
                          for key, value in state_dict["model"].items()}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        checkpoint_api.load(template, checkpoint_id=str(folder))
    root = run_job(dcp.read(str(folder / ".metadata"))).root  # the .metadata file itself works too
    for key, tensor in template["model"].items():
        assert _tensor_bytes(root["model"][key]) == _raw(tensor)


def test_progress_counts_items(saved):
    folder, _ = saved
    reports = []
    run_job(dcp.read(str(folder)), reports.append)
    assert reports[-1].done == reports[-1].total == 10


def _write_metadata(folder, metadata) -> None:
    with open(folder / ".metadata", "wb") as handle:
        pickle.dump(metadata, handle)


def _save_bytes(value) -> bytes:
    buffer = io.BytesIO()
    torch.save(value, buffer)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def chunked(tmp_path_factory):
    """Two ranks' halves of one tensor, laid out the way a sharded save writes them."""
    folder = tmp_path_factory.mktemp("dcp_chunked")
    full = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    md = metadata_api
    chunk_meta, storage = [], {}
    for rank in range(2):
        record = _save_bytes(full[2 * rank:2 * rank + 2].clone())
        (folder / f"__{rank}_0.distcp").write_bytes(record)
        offsets = torch.Size([2 * rank, 0])
        chunk_meta.append(md.ChunkStorageMetadata(offsets=offsets, sizes=torch.Size([2, 6])))
        storage[md.MetadataIndex("w", offsets)] = _StorageInfo(f"__{rank}_0.distcp", 0, len(record))
    tensor_meta = md.TensorStorageMetadata(md.TensorProperties(dtype=torch.float32),
                                           torch.Size([4, 6]), chunk_meta)
    _write_metadata(folder, md.Metadata(state_dict_metadata={"w": tensor_meta},
                                        planner_data={"w": ("w",)}, storage_data=storage))
    return folder, full


def test_chunked_tensor_is_shown_honestly(chunked):
    folder, full = chunked
    template = {"w": torch.zeros(4, 6)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        checkpoint_api.load(template, checkpoint_id=str(folder))  # torch accepts the folder
    assert torch.equal(template["w"], full)
    checkpoint = run_job(dcp.read(str(folder)))
    ref = checkpoint.root["w"]
    assert ref.shape == (4, 6) and ref.layout == "chunked" and ref.storage is None
    parts = ref.extra["chunks"]
    assert [part["offsets"] for part in parts] == [(0, 0), (2, 0)]
    for rank, part in enumerate(parts):
        assert _tensor_bytes(part["tensor"]) == _raw(full[2 * rank:2 * rank + 2])
    assert any("several chunks" in warning for warning in checkpoint.warnings)


def _retarget(saved, tmp_path, relative_path: str, offset=None):
    """A copy of the saved folder whose first item points at ``relative_path``."""
    source, _ = saved
    folder = tmp_path / "ckpt"
    shutil.copytree(source, folder)
    with open(folder / ".metadata", "rb") as handle:
        metadata = pickle.load(handle)  # the test's own file, written by torch above
    key = next(iter(metadata.storage_data))
    info = metadata.storage_data[key]
    new_offset = info.offset if offset is None else offset
    metadata.storage_data[key] = _StorageInfo(relative_path, new_offset, info.length)
    _write_metadata(folder, metadata)
    return folder


@pytest.fixture
def no_hang():
    def fail(signum, frame):
        raise TimeoutError("reader blocked (opened a FIFO?)")
    previous = signal.signal(signal.SIGALRM, fail)
    signal.alarm(10)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("how", ["dotdot", "absolute", "symlink"])
def test_item_paths_leaving_the_folder_are_refused_unopened(saved, tmp_path, no_hang, how):
    outside = tmp_path / "outside.distcp"
    os.mkfifo(outside)  # opening it would block
    name = {"dotdot": "../outside.distcp", "absolute": str(outside), "symlink": "link.distcp"}[how]
    folder = _retarget(saved, tmp_path, name)
    if how == "symlink":
        os.symlink(outside, folder / "link.distcp")
    with pytest.raises(CheckpointError, match="outside the folder"):
        run_job(dcp.read(str(folder)))


def test_fifo_inside_is_an_error_not_a_hang(saved, tmp_path, no_hang):
    folder = _retarget(saved, tmp_path, "pipe.distcp")
    os.mkfifo(folder / "pipe.distcp")
    with pytest.raises(CheckpointError, match="not a regular file"):
        run_job(dcp.read(str(folder)))


def test_offsets_past_the_end_are_refused(saved, tmp_path):
    folder = _retarget(saved, tmp_path, "__0_0.distcp", offset=1 << 40)
    with pytest.raises(CheckpointError, match="past the end"):
        run_job(dcp.read(str(folder)))


def test_metadata_that_runs_code_is_never_run(tmp_path):
    marker = tmp_path / "ran"

    class Attack:
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    (tmp_path / ".metadata").write_bytes(pickle.dumps(Attack()))
    with pytest.raises(CheckpointError, match="Metadata"):
        run_job(dcp.read(str(tmp_path)))
    assert not marker.exists()


def test_damaged_value_becomes_a_placeholder(saved, tmp_path):
    source, _ = saved
    folder = tmp_path / "ckpt"
    shutil.copytree(source, folder)
    with open(folder / ".metadata", "rb") as handle:
        metadata = pickle.load(handle)
    info = next(info for key, info in metadata.storage_data.items() if key.fqn == "epoch")
    with open(folder / "__0_0.distcp", "r+b") as handle:
        handle.seek(info.offset)
        record = handle.read(info.length)
        handle.seek(info.offset + record.index(b"\x80\x02", 30))  # the record's data.pkl
        handle.write(b"\xff" * 8)  # not a pickle opcode
    checkpoint = run_job(dcp.read(str(folder)))
    assert isinstance(checkpoint.root["epoch"], Truncated)
    assert any(warning.startswith("epoch:") for warning in checkpoint.warnings)
    assert isinstance(checkpoint.root["model"]["layer.weight"], TensorRef)


def test_missing_metadata(tmp_path):
    with pytest.raises(CheckpointError, match="cannot be read"):
        run_job(dcp.read(str(tmp_path)))


def test_hand_made_folder_without_planner_data(tmp_path):
    """Flat keys when planner_data is absent; a raw-pickle value; an unknown tensor record."""
    md = metadata_api
    value_record = pickle.dumps({"lr": 0.5, "betas": (0.9, 0.99)}, protocol=4)
    raw_tensor = torch.arange(4, dtype=torch.float32).numpy().tobytes()
    (tmp_path / "data.distcp").write_bytes(value_record + raw_tensor)
    tensor_meta = md.TensorStorageMetadata(
        md.TensorProperties(dtype=torch.float32), torch.Size([4]),
        [md.ChunkStorageMetadata(offsets=torch.Size([0]), sizes=torch.Size([4]))])
    storage = {md.MetadataIndex("cfg"): _StorageInfo("data.distcp", 0, len(value_record)),
               md.MetadataIndex("model.w", torch.Size([0])):
                   _StorageInfo("data.distcp", len(value_record), len(raw_tensor))}
    _write_metadata(tmp_path, md.Metadata(
        state_dict_metadata={"cfg": md.BytesStorageMetadata(), "model.w": tensor_meta},
        planner_data=None, storage_data=storage))
    checkpoint = run_job(dcp.read(str(tmp_path)))
    assert list(checkpoint.root) == ["cfg", "model.w"]
    assert checkpoint.root["cfg"] == pickle.loads(value_record)
    placeholder = checkpoint.root["model.w"]
    assert placeholder.shape == (4,) and placeholder.storage is None
    assert "problem" in placeholder.extra
    assert any("model.w: record is not a torch.save record" in w for w in checkpoint.warnings)


def test_chunk_outside_its_tensor_is_refused(tmp_path):
    md = metadata_api
    tensor_meta = md.TensorStorageMetadata(
        md.TensorProperties(dtype=torch.float32), torch.Size([4]),
        [md.ChunkStorageMetadata(offsets=torch.Size([3]), sizes=torch.Size([4]))])
    _write_metadata(tmp_path, md.Metadata(state_dict_metadata={"w": tensor_meta},
                                          storage_data={}))
    with pytest.raises(CheckpointError, match="outside its shape"):
        run_job(dcp.read(str(tmp_path)))


def test_reading_imports_neither_numpy_nor_torch(saved):
    import subprocess
    import sys
    folder, _ = saved
    code = ("import sys; from inspector.core.formats import dcp; "
            "from inspector.core.progress import run_job; run_job(dcp.read(sys.argv[1])); "
            "assert 'numpy' not in sys.modules and 'torch' not in sys.modules")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    subprocess.run([sys.executable, "-c", code, str(folder)], check=True, cwd=root)
