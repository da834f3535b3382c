"""sniff: formats told by content (files written by torch/safetensors), mistakes named."""

from __future__ import annotations

import gzip
import json
import os
import pickle
import struct
import warnings
import zipfile

import pytest

from inspector.core.errors import CheckpointError
from inspector.core.sniff import sniff


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    torch = pytest.importorskip("torch")
    folder = tmp_path_factory.mktemp("sniff")
    state = {"weight": torch.arange(6.0).reshape(2, 3), "bias": torch.zeros(2)}
    paths = {}

    def path(name):
        paths[name] = str(folder / name)
        return paths[name]

    torch.save(state, path("zip.bin"))  # extension says nothing
    torch.save(state, path("legacy.pt"), _use_new_zipfile_serialization=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit is deprecated, still written
        torch.jit.save(torch.jit.script(torch.nn.Linear(3, 2)), path("script.pt"))
    from safetensors.torch import save_file
    save_file(state, path("weights.pt"))
    for protocol in range(6):
        with open(path(f"pickle{protocol}.ckpt"), "wb") as handle:
            pickle.dump({"epoch": 3, "lr": [0.1, 0.01]}, handle, protocol=protocol)
    return paths


@pytest.mark.parametrize("name, expected", [
    ("zip.bin", "torch-zip"),
    ("legacy.pt", "torch-legacy"),
    ("script.pt", "torchscript"),
    ("weights.pt", "safetensors"),
    *[(f"pickle{protocol}.ckpt", "pickle") for protocol in range(6)],
])
def test_formats_are_told_by_content(files, name, expected):
    assert sniff(files[name]) == expected


def test_zip_with_a_renamed_prefix_is_still_torch_zip(files, tmp_path):
    renamed = tmp_path / "renamed.pt"
    with zipfile.ZipFile(files["zip.bin"]) as source, zipfile.ZipFile(renamed, "w") as target:
        for name in source.namelist():
            target.writestr("something_else/" + name.split("/", 1)[1], source.read(name))
    assert sniff(str(renamed)) == "torch-zip"


def test_sharded_and_dcp_folders(tmp_path):
    shards = tmp_path / "shards"
    shards.mkdir()
    (shards / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {}}))
    dcp = tmp_path / "dcp"
    dcp.mkdir()
    (dcp / ".metadata").write_bytes(b"\x80\x04.")
    assert sniff(str(shards)) == "hf-sharded"
    assert sniff(str(dcp)) == "dcp"


def _error(path) -> str:
    with pytest.raises(CheckpointError) as caught:
        sniff(str(path))
    message = str(caught.value)
    assert "\n" not in message and str(path) in message
    return message


@pytest.mark.parametrize("content, words", [
    (b"", "empty"),
    (b"\x01\x02\x03", "too small"),
    (b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 123\n", "git lfs pull"),
    (b"<!DOCTYPE html>\n<html><body>404 Not Found</body></html>", "HTML page"),
    (b"\n  <html><head><title>Access denied</title></head></html>", "HTML page"),
    (b"\x89PNG\r\n\x1a\n" + bytes(100), "PNG image"),
    (b"\xff\xd8\xff\xe0" + bytes(100), "JPEG image"),
    (b"%PDF-1.7\n" + bytes(100), "PDF"),
    (gzip.compress(b"x" * 100), "gzip"),
    (b"\x93NUMPY\x01\x00" + bytes(100), "NumPy .npy"),
    (b"GGUF" + bytes(100), "GGUF"),
    (b'{"weight_map": {"a": "b.safetensors"}}', "JSON"),
    (b"these are my notes about the training run\n", "text file"),
    (b"(see the notes)." * 4, "text file"),
])
def test_mistakes_are_named(tmp_path, content, words):
    path = tmp_path / "model.pt"
    path.write_bytes(content)
    assert words.lower() in _error(path).lower()


def test_random_bytes_are_not_recognised(tmp_path):
    path = tmp_path / "random.pt"
    path.write_bytes(bytes((index * 7919 + 13) % 251 for index in range(5000)))
    assert "not a recognised checkpoint format" in _error(path)


def test_npz_and_other_zips_are_named(tmp_path):
    npz = tmp_path / "arrays.pt"
    with zipfile.ZipFile(npz, "w") as archive:
        archive.writestr("a.npy", b"\x93NUMPY")
    other = tmp_path / "other.pt"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("readme.txt", b"hello")
    assert ".npz" in _error(npz)
    assert "without a data.pkl" in _error(other)


def test_truncated_zip_is_called_truncated(files, tmp_path):
    data = open(files["zip.bin"], "rb").read()
    path = tmp_path / "cut.pt"
    path.write_bytes(data[: len(data) // 2])
    assert "truncated" in _error(path)


def test_tiny_zip_shapes_do_not_crash(tmp_path):
    path = tmp_path / "tiny.pt"
    path.write_bytes(b"PK\x03\x04" + bytes(4) + b"PK\x05\x06" + bytes(18))
    assert "zip" in _error(path)


def test_a_dcp_shard_opened_alone_points_to_its_folder(tmp_path):
    torch = pytest.importorskip("torch")
    import torch.distributed.checkpoint as dcp

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        dcp.save({"w": torch.ones(3), "b": torch.zeros(2)}, checkpoint_id=str(tmp_path / "run"))
    assert sniff(str(tmp_path / "run")) == "dcp"
    assert "distributed checkpoint" in _error(tmp_path / "run" / "__0_0.distcp")


def test_safetensors_header_attacks(tmp_path):
    huge = tmp_path / "huge.safetensors"
    huge.write_bytes(struct.pack("<Q", 1 << 60) + b'{"a": 1}')
    past_end = tmp_path / "past_end.safetensors"
    past_end.write_bytes(struct.pack("<Q", 5000) + b'{"a": 1}')
    assert "header length" in _error(huge)
    assert "past the end" in _error(past_end)


def test_special_files_are_refused_without_opening(tmp_path):
    fifo = tmp_path / "pipe.pt"
    os.mkfifo(fifo)  # opening it for reading would block forever
    zero = tmp_path / "zero.pt"
    zero.symlink_to("/dev/zero")
    assert "FIFO" in _error(fifo)
    assert "character device" in _error(zero)


def test_missing_path_and_unknown_folder(tmp_path):
    assert "no such file" in _error(tmp_path / "missing.pt")
    (tmp_path / "notes.txt").write_text("hello")
    assert "folder" in _error(tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"")
    assert "such as model.safetensors" in _error(tmp_path)
