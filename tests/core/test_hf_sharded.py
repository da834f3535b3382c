"""Hugging Face sharded folders written by hand (index + safetensors or torch.save shards)."""

from __future__ import annotations

import json
import os
import signal

import pytest
import torch
from safetensors.torch import save_file

from inspector.core.errors import CheckpointError
from inspector.core.formats import hf_sharded
from inspector.core.model import TensorRef
from inspector.core.progress import run_job


def _state_dict() -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    return {
        "embed.weight": torch.randn(10, 4, generator=generator),
        "layers.0.attn.weight": torch.randn(4, 4, generator=generator).to(torch.bfloat16),
        "layers.0.attn.bias": torch.randn(4, generator=generator),
        "layers.1.attn.weight": torch.randn(4, 4, generator=generator).half(),
        "layers.1.steps": torch.arange(3),
        "head.weight": torch.randn(2, 4, generator=generator),
    }


def _shard_plan(state_dict: dict[str, torch.Tensor], stem: str, suffix: str) -> dict[str, dict]:
    keys = list(state_dict)
    halves = [keys[:3], keys[3:]]
    return {f"{stem}-{index + 1:05d}-of-00002.{suffix}": {key: state_dict[key] for key in part}
            for index, part in enumerate(halves)}


def _write_index(folder, name: str, shards: dict[str, dict], weight_map=None) -> None:
    if weight_map is None:
        weight_map = {key: shard for shard, part in shards.items() for key in sorted(part)}
    index = {"metadata": {"total_size": 1234}, "weight_map": weight_map}
    (folder / name).write_text(json.dumps(index))


def write_safetensors_folder(folder, state_dict, weight_map=None):
    shards = _shard_plan(state_dict, "model", "safetensors")
    for name, part in shards.items():
        save_file(part, str(folder / name))
    _write_index(folder, "model.safetensors.index.json", shards, weight_map)
    return shards


def write_bin_folder(folder, state_dict):
    shards = _shard_plan(state_dict, "pytorch_model", "bin")
    for name, part in shards.items():
        torch.save(part, folder / name)
    _write_index(folder, "pytorch_model.bin.index.json", shards)
    return shards


@pytest.fixture(scope="module")
def safetensors_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hf_st")
    state_dict = _state_dict()
    write_safetensors_folder(folder, state_dict)
    return folder, state_dict


def _assert_matches(root: dict, state_dict: dict[str, torch.Tensor]) -> None:
    assert set(root) == set(state_dict)
    for key, ref in root.items():
        expected = state_dict[key]
        assert isinstance(ref, TensorRef)
        assert ref.shape == tuple(expected.shape) and ref.stride == expected.stride(), key
        assert ref.dtype == str(expected.dtype).removeprefix("torch."), key
        with open(ref.storage.path, "rb") as handle:
            handle.seek(ref.storage.offset + ref.storage_offset * expected.element_size())
            raw = handle.read(ref.nbytes)
        assert raw == expected.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes(), key


def test_safetensors_shards_read_as_one_mapping(safetensors_folder):
    folder, state_dict = safetensors_folder
    reports = []
    checkpoint = run_job(hf_sharded.read(str(folder)), reports.append)
    assert checkpoint.format == "hf-sharded"
    index = json.loads((folder / "model.safetensors.index.json").read_text())
    assert list(checkpoint.root) == list(index["weight_map"])
    _assert_matches(checkpoint.root, state_dict)
    assert checkpoint.warnings == []
    assert checkpoint.metadata["index_metadata"] == {"total_size": 1234}
    done = [report.done for report in reports]
    assert done == sorted(done) and reports[-1].done == reports[-1].total


def test_index_file_itself_can_be_opened(safetensors_folder):
    folder, state_dict = safetensors_folder
    checkpoint = run_job(hf_sharded.read(str(folder / "model.safetensors.index.json")))
    _assert_matches(checkpoint.root, state_dict)


def test_torch_bin_shards(tmp_path):
    pytest.importorskip("inspector.core.formats.torch_zip")
    state_dict = _state_dict()
    shards = write_bin_folder(tmp_path, state_dict)
    checkpoint = run_job(hf_sharded.read(str(tmp_path)))
    _assert_matches(checkpoint.root, state_dict)
    for name in shards:  # the oracle reads the same files
        assert set(torch.load(tmp_path / name, weights_only=True)) <= set(checkpoint.root)


def test_prefers_safetensors_index_and_warns(tmp_path):
    state_dict = _state_dict()
    write_safetensors_folder(tmp_path, state_dict)
    (tmp_path / "pytorch_model.bin.index.json").write_text(
        json.dumps({"weight_map": {"x": "pytorch_model-00001-of-00001.bin"}}))
    checkpoint = run_job(hf_sharded.read(str(tmp_path)))
    _assert_matches(checkpoint.root, state_dict)
    assert checkpoint.metadata["index_file"] == "model.safetensors.index.json"
    assert any("several index files" in warning for warning in checkpoint.warnings)


def test_missing_and_extra_keys_warn(tmp_path):
    state_dict = _state_dict()
    shards = _shard_plan(state_dict, "model", "safetensors")
    weight_map = {key: shard for shard, part in shards.items() for key in part}
    del weight_map["head.weight"]
    weight_map["ghost.weight"] = "model-00001-of-00002.safetensors"
    write_safetensors_folder(tmp_path, state_dict, weight_map)
    checkpoint = run_job(hf_sharded.read(str(tmp_path)))
    assert "ghost.weight" not in checkpoint.root and "head.weight" in checkpoint.root
    assert list(checkpoint.root)[-1] == "head.weight"
    text = " | ".join(checkpoint.warnings)
    assert "missing from their shard: ghost.weight" in text
    assert "not listed in the index" in text and "head.weight" in text


@pytest.fixture
def no_hang():
    def fail(signum, frame):
        raise TimeoutError("reader blocked (opened a FIFO?)")
    previous = signal.signal(signal.SIGALRM, fail)
    signal.alarm(10)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def _folder_naming(tmp_path, shard_name: str):
    folder = tmp_path / "model"
    folder.mkdir()
    save_file({"a": torch.zeros(2)}, str(folder / "good.safetensors"))
    weight_map = {"a": "good.safetensors", "b": shard_name}
    (folder / "model.safetensors.index.json").write_text(json.dumps({"weight_map": weight_map}))
    return folder


@pytest.mark.parametrize("how", ["dotdot", "absolute", "symlink"])
def test_paths_leaving_the_folder_are_refused_unopened(tmp_path, no_hang, how):
    outside = tmp_path / "outside.safetensors"
    os.mkfifo(outside)  # opening it would block: the reader must refuse before that
    name = {"dotdot": "../outside.safetensors", "absolute": str(outside),
            "symlink": "link.safetensors"}[how]
    folder = _folder_naming(tmp_path, name)
    if how == "symlink":
        os.symlink(outside, folder / "link.safetensors")
    with pytest.raises(CheckpointError, match="outside the folder"):
        run_job(hf_sharded.read(str(folder)))


def test_fifo_shard_inside_is_an_error_not_a_hang(tmp_path, no_hang):
    folder = _folder_naming(tmp_path, "pipe.safetensors")
    os.mkfifo(folder / "pipe.safetensors")
    with pytest.raises(CheckpointError, match="not a regular file"):
        run_job(hf_sharded.read(str(folder)))


def test_symlink_inside_the_folder_is_fine(tmp_path):
    folder = _folder_naming(tmp_path, "alias.safetensors")
    os.symlink("good.safetensors", folder / "alias.safetensors")
    checkpoint = run_job(hf_sharded.read(str(folder)))
    assert list(checkpoint.root) == ["a"]
    assert any("missing from their shard: b" in warning for warning in checkpoint.warnings)


@pytest.mark.parametrize("index_text, words", [
    (None, "no *.index.json"),
    ("[1]", "not a JSON object"),
    ('{"weight_map": {"a": "x"}, "weight_map": {}}', "duplicate key 'weight_map'"),
    ('{"metadata": {}}', "weight_map"),
    ('{"weight_map": {"a": 3}}', "not a file name"),
    ('{"weight_map": {"a": "missing.safetensors"}}', "cannot be read"),
])
def test_bad_indexes(tmp_path, index_text, words):
    if index_text is not None:
        (tmp_path / "model.safetensors.index.json").write_text(index_text)
    with pytest.raises(CheckpointError) as raised:
        run_job(hf_sharded.read(str(tmp_path)))
    assert words in str(raised.value)


def test_broken_shard_names_the_shard(tmp_path):
    (tmp_path / "bad.safetensors").write_bytes(b"\xff" * 16)
    (tmp_path / "model.safetensors.index.json").write_text(
        json.dumps({"weight_map": {"a": "bad.safetensors"}}))
    with pytest.raises(CheckpointError, match="bad.safetensors"):
        run_job(hf_sharded.read(str(tmp_path)))


def test_legacy_torch_bin_shards(tmp_path):
    pytest.importorskip("inspector.core.formats.torch_legacy")
    state_dict = _state_dict()
    shards = _shard_plan(state_dict, "pytorch_model", "bin")
    for name, part in shards.items():
        torch.save(part, tmp_path / name, _use_new_zipfile_serialization=False)
    _write_index(tmp_path, "pytorch_model.bin.index.json", shards)
    checkpoint = run_job(hf_sharded.read(str(tmp_path)))
    _assert_matches(checkpoint.root, state_dict)


def test_link_to_a_device_is_refused(tmp_path, no_hang):
    folder = _folder_naming(tmp_path, "zero.safetensors")
    os.symlink("/dev/zero", folder / "zero.safetensors")
    with pytest.raises(CheckpointError):
        run_job(hf_sharded.read(str(folder)))


def test_reading_does_not_import_numpy(safetensors_folder):
    import subprocess
    import sys
    folder, _ = safetensors_folder
    code = ("import sys; from inspector.core.formats import hf_sharded; "
            "from inspector.core.progress import run_job; run_job(hf_sharded.read(sys.argv[1])); "
            "assert 'numpy' not in sys.modules and 'torch' not in sys.modules")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    subprocess.run([sys.executable, "-c", code, str(folder)], check=True, cwd=root)
