"""Broken and hostile input through the real CLI: exit 1, one line, no traceback, no hang."""

from __future__ import annotations

import os
import random
import struct
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")

TIMEOUT_S = 60


def inspector_info(path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "inspector", "info", str(path)],
                          capture_output=True, text=True, timeout=TIMEOUT_S)


def assert_refused(path, *words: str) -> str:
    result = inspector_info(path)
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("inspector: error: ")
    for word in words:
        assert word.lower() in lines[0].lower(), lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad")
    state = {"weight": torch.randn(64, 32), "bias": torch.randn(64), "step": 3}
    torch.save(state, folder / "good.pt")
    torch.save(state, folder / "legacy.pt", _use_new_zipfile_serialization=False)
    return (folder / "good.pt").read_bytes(), (folder / "legacy.pt").read_bytes()


@pytest.mark.parametrize("name, content, words", [
    ("empty.pt", b"", ["empty"]),
    ("tiny.pt", b"\x00\x01\x02", ["too small"]),
    ("notes.pt", b"epoch 3: loss 0.25, accuracy 91%\n" * 3, ["text file"]),
    ("error.bin", b"<!DOCTYPE html><html><body>403 Forbidden</body></html>", ["HTML page"]),
    ("lfs.safetensors", b"version https://git-lfs.github.com/spec/v1\n"
                        b"oid sha256:4d7a2146\nsize 440473133\n", ["git lfs pull"]),
    ("image.pt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64), ["PNG image"]),
    ("attack.safetensors", struct.pack("<Q", (1 << 63) + 5) + b'{"x": {}}', ["header length"]),
])
def test_named_mistakes(tmp_path, name, content, words):
    path = tmp_path / name
    path.write_bytes(content)
    assert_refused(path, name, *words)


def test_random_bytes(tmp_path):
    path = tmp_path / "random.pt"
    path.write_bytes(random.Random(7).randbytes(10_000))
    assert_refused(path, "not a recognised checkpoint")


def test_truncated_torch_zip(saved, tmp_path):
    path = tmp_path / "cut.pt"
    path.write_bytes(saved[0][: len(saved[0]) * 2 // 3])
    assert_refused(path, "truncated")


def test_truncated_legacy_file(saved, tmp_path):
    path = tmp_path / "cut_legacy.pt"
    path.write_bytes(saved[1][: len(saved[1]) // 2])
    assert_refused(path, "cut_legacy.pt", "truncated")


def test_bit_flipped_torch_zip_never_crashes(saved, tmp_path):
    rng = random.Random(11)
    for attempt in range(6):
        data = bytearray(saved[0])
        for _ in range(8):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        path = tmp_path / f"flipped{attempt}.pt"
        path.write_bytes(bytes(data))
        result = inspector_info(path)
        assert result.returncode in (0, 1), result.stderr
        assert "Traceback" not in result.stderr
        if result.returncode == 1:
            assert len(result.stderr.splitlines()) == 1


def test_fifo_returns_promptly(tmp_path):
    fifo = tmp_path / "pipe.pt"
    os.mkfifo(fifo)  # nobody writes: opening it for reading would block forever
    assert_refused(fifo, "FIFO")


def test_symlink_to_dev_zero(tmp_path):
    link = tmp_path / "zero.pt"
    link.symlink_to("/dev/zero")
    assert_refused(link, "character device")


def test_folder_with_nothing_recognisable(tmp_path):
    (tmp_path / "readme.md").write_text("weights are elsewhere")
    assert_refused(tmp_path, "folder")


def test_nonexistent_path(tmp_path):
    assert_refused(tmp_path / "missing.pt", "no such file")
