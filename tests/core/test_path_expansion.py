"""Which checkpoints open for dropped or chosen paths."""

from __future__ import annotations

import os

from inspector.core.path_expansion import expand_paths


def test_dropped_folders(tmp_path):
    plain = tmp_path / "runs"
    plain.mkdir()
    for name in ("epoch10.pt", "epoch2.pt", "notes.txt"):
        (plain / name).write_bytes(b"x")
    sharded = tmp_path / "sharded"
    sharded.mkdir()
    (sharded / "model.safetensors.index.json").write_text("{}")
    empty = tmp_path / "empty"
    empty.mkdir()
    single = tmp_path / "one.safetensors"
    single.write_bytes(b"x")
    assert expand_paths([str(plain), str(sharded), str(empty), str(single), str(single)]) == [
        os.path.join(plain, "epoch2.pt"), os.path.join(plain, "epoch10.pt"), str(sharded), str(empty), str(single)]
