"""Source checkpoints for the export tests, written by torch/safetensors in every readable
format, and comparisons of exported tensors with the tensors torch saved."""

from __future__ import annotations

import warnings

import torch

from inspector.core.loader import open_checkpoint
from inspector.core.model import TensorRef
from inspector.core.writers.layout import OutputTensor
from tests.core.hostile import rewrite_zip

DTYPES = ["float32", "float64", "float16", "bfloat16", "float8_e4m3fn", "float8_e5m2",
          "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "bool",
          "complex64", "complex128"]
INT_OF_SIZE = {1: torch.uint8, 2: torch.int16, 4: torch.int32, 8: torch.int64}


def random_tensor(dtype_name: str, shape: tuple[int, ...], seed: int) -> torch.Tensor:
    """Random bit patterns (NaN payloads, Inf, subnormals included); bools are 0 or 1."""
    generator = torch.Generator().manual_seed(seed)
    dtype = getattr(torch, dtype_name)
    if dtype == torch.bool:
        return torch.randint(0, 2, shape, generator=generator).bool()
    numel = 1
    for size in shape:
        numel *= size
    raw = torch.randint(0, 256, (numel * dtype.itemsize,), dtype=torch.uint8, generator=generator)
    return raw.view(dtype).reshape(shape)


def mixed_state_dict() -> dict[str, torch.Tensor]:
    """Every dtype, views of one storage, tied weights, stride 0, empty and 0-d tensors."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        state = {f"dtype.{name}": random_tensor(name, (3, 5), seed) for seed, name in enumerate(DTYPES)}
        base = torch.randn(6, 10, generator=torch.Generator().manual_seed(99))
        tied = torch.randn(5, 3)
        state.update({
            "views.base": base, "views.rows": base[2:5], "views.transposed": base.t(),
            "views.column": base[:, 3], "tied.a": tied, "tied.b": tied,
            "expanded": torch.ones(1, 4).expand(3, 4), "empty": torch.zeros(0, 5),
            "scalar": torch.tensor(7, dtype=torch.int64),
            "bf16.transposed": torch.randn(4, 6).to(torch.bfloat16).t(),
            "fp8.slice": random_tensor("float8_e4m3fn", (8, 4), 123)[1:6, 1:3],
        })
    return state


def bits(tensor: torch.Tensor) -> torch.Tensor:
    """The tensor's values as raw bytes in row-major order (exact comparison, NaNs included)."""
    return tensor.contiguous().reshape(-1).view(torch.uint8)


def assert_same_tensor(actual: torch.Tensor, expected: torch.Tensor) -> None:
    assert actual.dtype == expected.dtype
    assert actual.shape == expected.shape
    assert torch.equal(bits(actual), bits(expected))


def flat_tensors(checkpoint) -> dict[str, TensorRef]:
    """Dotted key -> TensorRef of every tensor in the checkpoint."""
    return {".".join(map(str, path)): tensor for path, tensor in checkpoint.iter_tensors()}


def output_tensors(path: str, strip: str = "") -> list[OutputTensor]:
    """Every tensor of the checkpoint at ``path`` as an output entry, ``strip`` cut off the keys."""
    found = flat_tensors(open_checkpoint(path))
    return [OutputTensor(key.removeprefix(strip), tensor) for key, tensor in found.items()]


def big_endian_copy(little: str, big: str) -> None:
    """``little`` (a torch.save zip) as a big-endian machine would have written it."""
    sizes = {}
    for _, tensor in open_checkpoint(little).iter_tensors():
        itemsize = getattr(torch, tensor.dtype).itemsize
        sizes[tensor.storage.key] = itemsize // 2 if tensor.dtype.startswith("complex") else itemsize

    def to_big_endian(name: str, data: bytes) -> bytes:
        if name.endswith("/byteorder"):
            return b"big"
        if "/data/" not in name:
            return data
        size = sizes[name.rsplit("/", 1)[-1]]
        return b"".join(data[i:i + size][::-1] for i in range(0, len(data), size))

    rewrite_zip(little, big, to_big_endian)
