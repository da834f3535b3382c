"""values.py against torch: the bytes torch holds, read back through TensorRefs we build.

Storages are written the way checkpoints hold them (raw element bytes at some file offset,
optionally big-endian); views take their geometry from real torch views of the same storage.
"""

from __future__ import annotations

import itertools
import os

import numpy as np
import pytest
import torch

from inspector.core.errors import CheckpointError
from inspector.core.model import Storage, TensorRef
from inspector.core.values import iter_chunks, numpy_dtype, plan_blocks, read_array
from tests.core.values_helpers import read_head

DTYPES = [
    "float32", "float64", "float16", "bfloat16", "float8_e4m3fn", "float8_e5m2",
    "float8_e4m3fnuz", "float8_e5m2fnuz", "int8", "int16", "int32", "int64",
    "uint8", "uint16", "uint32", "uint64", "bool", "complex64", "complex128", "complex32",
]
INT_OF_SIZE = {1: torch.uint8, 2: torch.int16, 4: torch.int32, 8: torch.int64}
_names = itertools.count()


def torch_dtype(name: str) -> torch.dtype:
    return getattr(torch, name)


def random_tensor(name: str, shape: tuple[int, ...], seed: int = 0) -> torch.Tensor:
    """Every bit pattern is fair game (NaN payloads, Inf, -0.0, subnormals)."""
    generator = torch.Generator().manual_seed(seed)
    dtype = torch_dtype(name)
    numel = int(np.prod(shape, dtype=np.int64))
    if dtype == torch.bool:
        return torch.randint(0, 2, shape, generator=generator).bool()
    itemsize = torch.empty((), dtype=dtype).element_size()
    raw = torch.randint(0, 256, (numel * itemsize,), dtype=torch.uint8, generator=generator)
    return raw.view(dtype).reshape(shape)


def unit_view(x: torch.Tensor) -> torch.Tensor:
    """Elements whose bytes swap as one unit (complex numbers swap per component)."""
    x = x.contiguous().reshape(-1)
    return torch.view_as_real(x).contiguous().reshape(-1) if x.dtype.is_complex else x


def storage_bytes(base: torch.Tensor, big_endian: bool = False) -> bytes:
    units = unit_view(base)
    raw = units.view(torch.uint8).numpy()
    if big_endian:
        raw = raw.reshape(-1, units.element_size())[:, ::-1]
    return raw.tobytes()


def make_ref(folder, base: torch.Tensor, view: torch.Tensor | None = None, *,
             big_endian: bool = False, pad: int = 13, name: str | None = None) -> TensorRef:
    """A TensorRef for ``view`` (default: base) over base's bytes stored at offset ``pad``."""
    view = base if view is None else view
    assert base.is_contiguous() and base.storage_offset() == 0
    data = storage_bytes(base, big_endian)
    path = os.path.join(folder, f"storage{next(_names)}.bin")
    with open(path, "wb") as file:
        file.write(b"\xab" * pad + data + b"\xcd" * 5)
    storage = Storage(path, pad, len(data), "uint8", byteorder="big" if big_endian else "little")
    dtype = name or str(base.dtype).removeprefix("torch.")
    return TensorRef(dtype, tuple(view.shape), tuple(view.stride()), storage, view.storage_offset())


def torch_bits(x: torch.Tensor) -> np.ndarray:
    units = unit_view(x)
    if units.dtype == torch.bool:
        return units.view(torch.uint8).numpy()
    return units.view(INT_OF_SIZE[units.element_size()]).numpy()


def numpy_bits(a: np.ndarray) -> np.ndarray:
    flat = np.ascontiguousarray(a).reshape(-1)
    if flat.dtype.kind == "c":
        flat = flat.view(flat.real.dtype)
    size = flat.dtype.itemsize
    return flat.view(f"i{size}") if size > 1 else flat.view(np.uint8)


def assert_same_values(array: np.ndarray, expected: torch.Tensor) -> None:
    assert array.shape == tuple(expected.shape)
    if expected.dtype == torch.complex32:  # read as complex64: compare the widened values
        widened = torch.view_as_real(expected.contiguous()).float().numpy()
        got = np.stack([array.real, array.imag], axis=-1)
        assert np.array_equal(got, widened, equal_nan=True)
        return
    assert np.array_equal(numpy_bits(array), torch_bits(expected).reshape(-1))


def views_of(base: torch.Tensor) -> dict[str, torch.Tensor]:
    return {
        "whole": base,
        "transpose": base.transpose(0, 2),
        "sliced": base[1:5:2, :, 1:3],
        "expand": base[:, :1].expand(6, 3, 4),
        "narrow": base.narrow(1, 2, 2),
        "scalar": base[2, 3, 1],
        "empty": base[:, 2:2],
        "permute-step": base.permute(2, 0, 1)[::2],
        "flat-strided": base.reshape(-1)[7:70:3],
    }


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return str(tmp_path_factory.mktemp("values"))


@pytest.mark.filterwarnings("ignore::UserWarning")  # torch calls complex32 experimental
@pytest.mark.parametrize("name", DTYPES)
def test_every_dtype_and_view_matches_torch_bit_for_bit(folder, name):
    base = random_tensor(name, (6, 5, 4), seed=DTYPES.index(name))
    for label, view in views_of(base).items():
        ref = make_ref(folder, base, view)
        array = read_array(ref)
        assert array.dtype == numpy_dtype(name), label
        assert_same_values(array, view)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name", ["float32", "float64", "bfloat16", "int16", "uint64",
                                  "complex64", "complex128", "complex32", "float8_e5m2"])
def test_big_endian_storage_is_swapped_to_native(folder, name):
    base = random_tensor(name, (6, 5, 4), seed=7)
    for view in (base, base.transpose(0, 1)[:, 1:]):
        assert_same_values(read_array(make_ref(folder, base, view, big_endian=True)), view)


def test_zero_dim_base_and_empty_base(folder):
    scalar = torch.tensor(-2.75, dtype=torch.float64)
    assert_same_values(read_array(make_ref(folder, scalar)), scalar)
    empty = torch.empty(0, 3)
    ref = make_ref(folder, empty)
    assert read_array(ref).shape == (0, 3)
    assert list(iter_chunks(ref)) == []


@pytest.mark.parametrize("chunk", [1, 3, 17, 64])
def test_chunks_follow_row_major_order_and_size_limit(folder, chunk):
    base = random_tensor("float32", (6, 5, 4), seed=3)
    for label, view in views_of(base).items():
        parts = list(iter_chunks(make_ref(folder, base, view), max_elements=chunk))
        assert all(0 < part.size <= chunk and part.ndim == 1 for part in parts), label
        joined = np.concatenate(parts) if parts else np.empty(0, np.float32)
        assert np.array_equal(joined.view(np.int32), torch_bits(view.reshape(-1))), label


def test_tensor_larger_than_chunk_size(folder):
    base = torch.randn(40, 300)
    view = base[:, 7:250:2].t()
    ref = make_ref(folder, base, view)
    parts = list(iter_chunks(ref, max_elements=1000))
    assert len(parts) > 5 and max(part.size for part in parts) <= 1000
    assert np.array_equal(np.concatenate(parts), view.reshape(-1).numpy())


def test_blocks_bound_both_elements_and_bytes_read():
    cases = [((40, 300), (300, 1), 0), ((300, 40), (1, 300), 5), ((10**6,), (0,), 0),
             ((50, 50), (10**5, 1), 2), ((7, 1, 9), (90, 4, 10), 1), ((3, 4), (0, 1), 0)]
    for shape, stride, offset in cases:
        blocks = list(plan_blocks(shape, stride, offset, budget=128))
        assert sum(int(np.prod(block.shape)) for block in blocks) == int(np.prod(shape))
        for block in blocks:
            last = sum((size - 1) * step for size, step in zip(block.shape, block.stride))
            assert int(np.prod(block.shape)) <= 128 and block.span <= 128
            assert block.span == last + 1


def test_only_the_needed_span_is_read(folder, monkeypatch):
    base = torch.randn(200, 100)
    ref = make_ref(folder, base, base[150:152, 10:20])
    reads = []
    original = os.preadv
    monkeypatch.setattr(os, "preadv", lambda fd, buffers, offset: reads.append(
        sum(len(b) for b in buffers)) or original(fd, buffers, offset))
    assert np.array_equal(read_array(ref), base[150:152, 10:20].numpy())
    assert sum(reads) == (100 + 10) * 4


def test_max_elements_cap_and_head(folder):
    base = torch.arange(100, dtype=torch.int32).reshape(10, 10)
    ref = make_ref(folder, base, base.t())
    with pytest.raises(CheckpointError):
        read_array(ref, max_elements=99)
    assert read_array(ref, max_elements=100).shape == (10, 10)
    assert np.array_equal(read_head(ref, 15), base.t().reshape(-1)[:15].numpy())


@pytest.mark.filterwarnings("ignore::UserWarning")  # torch deprecates quantized tensors
def test_quantized_reads_integer_representation(folder):
    quantized = torch.quantize_per_tensor(torch.randn(5, 6), 0.05, 3, torch.quint8)
    base = quantized.int_repr()
    ref = make_ref(folder, base, name="quint8")
    ref.layout = "quantized"
    assert np.array_equal(read_array(ref), base.numpy())


def _bad(ref: TensorRef, **changes) -> TensorRef:
    names = ("dtype", "shape", "stride", "storage", "storage_offset")
    fields = {key: getattr(ref, key) for key in names}
    return TensorRef(**{**fields, **changes})


def test_bad_geometry_raises_checkpoint_error(folder):
    base = torch.randn(4, 5)
    ref = make_ref(folder, base)
    storage = ref.storage
    bad_refs = [
        _bad(ref, shape=(4, 6)),  # last element past the storage
        _bad(ref, storage_offset=1),
        _bad(ref, stride=(5, -1)),
        _bad(ref, shape=(4, -5)),
        _bad(ref, stride=(5,)),
        _bad(ref, dtype="no_such_dtype"),
        _bad(ref, storage=None),
        _bad(ref, storage=Storage(storage.path, storage.offset + 10, storage.nbytes, "uint8")),
        _bad(ref, storage=Storage(storage.path + ".missing", 0, storage.nbytes, "uint8")),
        _bad(ref, shape=(1 << 30, 1 << 30), stride=(0, 0)),
    ]
    for bad in bad_refs:
        with pytest.raises(CheckpointError):
            read_array(bad)


def test_fifo_is_refused_without_blocking(folder):
    path = os.path.join(folder, "fifo")
    os.mkfifo(path)
    ref = TensorRef("float32", (2,), (1,), Storage(path, 0, 8, "uint8"))
    with pytest.raises(CheckpointError):
        read_array(ref)


def saved_state(seed: int = 0) -> dict[str, torch.Tensor]:
    """A state dict touching every dtype, shared storages and views, as torch.save writes it."""
    torch.manual_seed(seed)
    base = torch.randn(12, 9)
    state = {name: random_tensor(name, (4, 5), seed=index) for index, name in enumerate(DTYPES)}
    state.update({"base": base, "base.t": base.t(), "row": base[5], "narrow": base.narrow(1, 2, 3),
                  "scalar": torch.tensor(7.5), "empty": torch.empty(0, 4),
                  "param": torch.nn.Parameter(torch.randn(3, 3))})
    return state


@pytest.fixture(scope="module")
def saved_checkpoint(tmp_path_factory):
    torch_zip = pytest.importorskip("inspector.core.formats.torch_zip")
    from inspector.core.progress import run_job

    path = str(tmp_path_factory.mktemp("saved") / "state.pt")
    torch.save(saved_state(), path)
    oracle = torch.load(path, weights_only=True)  # our own file: torch is the oracle
    return run_job(torch_zip.read(path)), oracle


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_torch_save_file_reads_as_torch_load_gives(saved_checkpoint):
    checkpoint, oracle = saved_checkpoint
    tensors = dict(checkpoint.iter_tensors())
    assert {path[-1] for path in tensors} == set(oracle)
    for path, ref in tensors.items():
        assert_same_values(read_array(ref), oracle[path[-1]].detach())
