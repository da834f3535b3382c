"""Defects a mutation campaign found, each reproduced on a file torch wrote (then edited where
torch cannot write the damage itself): every one must read, or fail with one clear line."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

import numpy as np
import pytest
import torch

from inspector.core.errors import CheckpointError
from inspector.core.formats import hf_sharded
from inspector.core.loader import open_checkpoint
from inspector.core.progress import run_job
from inspector.core.units import SIZE_UNITS, human_size, short_count
from inspector.core.values import iter_chunks, read_array
from tests.core.values_helpers import histogram, read_head, tensor_stats
from tests.core.hostile import rewrite_zip


def _swap(data: bytes, size: int) -> bytes:
    return b"".join(data[i:i + size][::-1] for i in range(0, len(data), size))


def _big_endian_copy(little: str, big: str, itemsize: int) -> None:
    rewrite_zip(little, big, lambda name, data: b"big" if name.endswith("/byteorder")
                else _swap(data, itemsize) if "/data/" in name else data)


def test_big_endian_row_sliced_view_reads_in_every_chunking(tmp_path):
    view = torch.arange(400, dtype=torch.float32).view(4, 100)[:, :4]
    torch.save({"v": view}, tmp_path / "little.pt")
    _big_endian_copy(str(tmp_path / "little.pt"), str(tmp_path / "big.pt"), 4)
    ref = open_checkpoint(str(tmp_path / "big.pt")).root["v"]
    expected = torch.load(tmp_path / "big.pt", weights_only=True)["v"].numpy()
    assert np.array_equal(read_array(ref), expected)
    assert np.array_equal(read_head(ref, 6), expected.reshape(-1)[:6])
    for chunk_size in (1, 4, 5, 16):
        assert np.array_equal(np.concatenate(list(iter_chunks(ref, chunk_size))), expected.reshape(-1))


def test_empty_tensor_with_a_huge_dimension(tmp_path):
    torch.save({"e": torch.empty(0, 2**62)}, tmp_path / "empty.pt")
    ref = open_checkpoint(str(tmp_path / "empty.pt")).root["e"]
    assert ref.shape == (0, 2**62)
    assert tensor_stats(ref).count == 0
    with pytest.raises(CheckpointError, match="no numpy form"):
        read_array(ref)


def _with_huge_dimension(source: str, target: str) -> None:
    """Replace the size (2, 3) in data.pkl by (2, 10**400): a LONG1 no torch could write."""
    huge = (10**400).to_bytes(167, "little")
    rewrite_zip(source, target, lambda name, data: data.replace(
        b"K\x02K\x03\x86", b"K\x02\x8a" + bytes([len(huge)]) + huge + b"\x86")
        if name.endswith("data.pkl") else data)


def test_huge_dimension_reads_in_text_and_json(tmp_path):
    torch.save({"w": torch.zeros(2, 3), "b": torch.ones(3)}, tmp_path / "small.pt")
    _with_huge_dimension(str(tmp_path / "small.pt"), str(tmp_path / "huge.pt"))
    for args in ((), ("--json",), ("--stats",)):
        result = subprocess.run([sys.executable, "-m", "inspector", "info", *args, str(tmp_path / "huge.pt")],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0 and result.stderr == "", result.stderr
    document = json.loads(subprocess.run([sys.executable, "-m", "inspector", "info", "--json",
                                          str(tmp_path / "huge.pt")], capture_output=True, text=True).stdout)
    shapes = {entry["path"][0]: entry["shape"] for entry in document["tensors"]}
    assert shapes == {"w": [2, 10**400], "b": [3]}


@pytest.mark.parametrize("value", [0, 1, 1023, 1024, 1535, 1536, 1587, 1588, 5 * 2**20 - 52, 3 * 2**30,
                                   2**60 + 2**50, 10**30, 10**400], ids=lambda value: f"{len(str(value))}digits-{value % 1000}")
def test_sizes_and_counts_format_exactly_at_any_magnitude(value):
    """Oracle: Decimal arithmetic, rounded half to even to one decimal like "%.1f"."""
    def tenths(number: int, unit: int) -> str:
        with localcontext() as context:
            context.prec = 1000
            return str((Decimal(number) / Decimal(unit)).quantize(Decimal("0.1"), ROUND_HALF_EVEN))

    power = next((p for p in range(1, len(SIZE_UNITS)) if value < 1024 ** (p + 1)), len(SIZE_UNITS) - 1)
    expected_size = f"{value} B" if value < 1024 else f"{tenths(value, 1024 ** power)} {SIZE_UNITS[power]}"
    assert human_size(value) == expected_size
    limit, suffix = next(((l, s) for l, s in ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "k"))
                          if value >= l), (1, ""))
    assert short_count(value) == (f"{tenths(value, limit)} {suffix}" if suffix else str(value))


class ShardHolder:
    """Any user class: the restricted unpickler keeps it as an inert object, not a mapping."""

    def __init__(self, tensors: dict) -> None:
        self.tensors = tensors


@pytest.mark.parametrize("content", [ShardHolder({"a": torch.zeros(2)}), [torch.zeros(2)]],
                         ids=["object", "list"])
def test_hf_shard_holding_a_non_mapping_names_the_problem(tmp_path, content):
    torch.save(content, tmp_path / "pytorch_model-00001.bin")
    (tmp_path / "pytorch_model.bin.index.json").write_text(
        json.dumps({"weight_map": {"a": "pytorch_model-00001.bin"}}))
    with pytest.raises(CheckpointError, match="pytorch_model-00001.bin: shard does not hold a mapping"):
        run_job(hf_sharded.read(str(tmp_path)))


@pytest.mark.parametrize("value", [2**62 + 1, -2**63, 2**53 + 1])
def test_histogram_of_constant_huge_integers(tmp_path, value):
    """n - 0.5 and n + 0.5 round to the same float64 here: one bin per integer cannot work."""
    torch.save({"count": torch.full((5,), value, dtype=torch.int64)}, tmp_path / "counts.pt")
    result = histogram(open_checkpoint(str(tmp_path / "counts.pt")).root["count"], bins=16)
    expected, _ = np.histogram(np.full(5, value, dtype=np.int64), bins=result.edges)
    assert np.array_equal(result.counts, expected) and result.counts.sum() == 5
