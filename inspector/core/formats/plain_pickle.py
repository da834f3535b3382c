"""Plain pickles (protocols 0-5) that are not torch.save files.

numpy arrays become ``TensorRef``s over their raw bytes when the pickle holds them as a
byte string (protocol 3 and later); torch tensors pickled with ``pickle.dump`` carry each
storage as a small legacy torch.save stream inside the pickle (``torch.storage.
_load_from_bytes``, which would call torch.load): we read that stream ourselves, as data.
"""

from __future__ import annotations

import os

from inspector.core.errors import CheckpointError
from inspector.core.formats import torch_legacy
from inspector.core.formats.torch_zip import validate_tensors
from inspector.core.model import Checkpoint, Storage, TensorRef, Truncated
from inspector.core.pickled_values import NumpyDtype, RebuildRefused
from inspector.core.progress import Job, Progress
from inspector.core.unpickler import restricted_load

MAX_PICKLE_BYTES = 1 << 30

RECONSTRUCT = ("numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct")
FROMBUFFER = ("numpy.core.numeric._frombuffer", "numpy._core.numeric._frombuffer")


def read(path: str) -> Job[Checkpoint]:
    yield Progress(0, 1, f"Reading {os.path.basename(path)}")
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        if size > MAX_PICKLE_BYTES:
            raise CheckpointError(f"{os.path.basename(path)}: a {size} byte pickle is above the 1 GB limit")
        data = os.pread(fd, size, 0)
        checkpoint = _PlainReader(path, fd, data).read()
    finally:
        os.close(fd)
    yield Progress(1, 1, "Done")
    return checkpoint


class _PlainReader:
    def __init__(self, path: str, fd: int, data: bytes) -> None:
        self.path, self.fd, self.data = path, fd, data
        self.offsets: dict[int, tuple[int, int]] = {}
        self.warnings: list[str] = []
        self.inner_globals: set[str] = set()

    def read(self) -> Checkpoint:
        extra = {name: self._reconstruct for name in RECONSTRUCT}
        extra.update({name: self._frombuffer for name in FROMBUFFER})
        extra["torch.storage._load_from_bytes"] = self._load_from_bytes
        try:
            loaded = restricted_load(self.data, extra_globals=extra, byte_offsets=self.offsets)
        except CheckpointError as error:
            raise CheckpointError(f"{os.path.basename(self.path)}: {error}") from None
        for tensor in loaded.tensors:
            tensor.extra.pop("on_build", None)
        warnings = [*loaded.warnings, *self.warnings, *validate_tensors(loaded.tensors)]
        return Checkpoint(path=self.path, format="pickle", root=loaded.value,
                          globals=sorted({*loaded.globals, *self.inner_globals}), warnings=warnings)

    def _located(self, raw: object) -> int | None:
        """Offset of ``raw`` in the file if the pickle stored it as one byte string."""
        found = self.offsets.get(id(raw))
        if found is None or not isinstance(raw, (bytes, bytearray)):
            return None
        offset, size = found
        if size != len(raw) or self.data[offset:offset + size] != raw:
            return None
        return offset

    def _load_from_bytes(self, raw: object) -> Storage | Truncated:
        offset = self._located(raw)
        if offset is None:
            return Truncated("a torch storage whose bytes are not stored as one block")
        inner = torch_legacy.read_range(self.path, self.fd, offset, offset + len(raw))
        self.inner_globals.update(inner.globals)
        if isinstance(inner.root, (Storage, Truncated)):
            return inner.root
        return Truncated("a torch storage stream that holds something else")

    def _reconstruct(self, cls: object = None, shape: object = (0,), code: object = b"b") -> TensorRef:
        array = TensorRef(dtype="uint8", shape=(0,), stride=(1,), storage=None)
        array.extra.update(numpy=True, problem="numpy array without data", on_build=self._build_array)
        return array

    def _build_array(self, array: TensorRef, state: object) -> None:
        if not isinstance(state, tuple) or len(state) != 5:
            return
        _, shape, dtype, fortran, raw = state
        self._fill(array, raw, dtype, shape, bool(fortran))

    def _frombuffer(self, raw: object, dtype: object, shape: object, order: object = "C") -> TensorRef:
        array = TensorRef(dtype="uint8", shape=(0,), stride=(1,), storage=None, extra={"numpy": True})
        self._fill(array, raw, dtype, shape, order == "F")
        return array

    def _fill(self, array: TensorRef, raw: object, dtype: object, shape: object, fortran: bool) -> None:
        name, byteorder = _numpy_dtype(dtype)
        if name is None or not isinstance(shape, tuple) or not all(type(n) is int and n >= 0 for n in shape):
            array.extra["problem"] = f"numpy array of an unsupported kind ({_dtype_code(dtype)})"
            return
        array.dtype, array.shape = name, shape
        array.stride = _contiguous_strides(shape, fortran)
        offset = self._located(raw)
        if offset is None:
            array.extra["problem"] = "numpy array whose bytes are not stored as one block (pickle protocol < 3)"
            return
        array.storage = Storage(self.path, offset, len(raw), name, f"numpy@{offset}", "cpu", byteorder)
        array.extra.pop("problem", None)


def _dtype_code(dtype: object) -> str:
    return dtype.code if isinstance(dtype, NumpyDtype) else "?"


def _numpy_dtype(dtype: object) -> tuple[str | None, str]:
    if not isinstance(dtype, NumpyDtype):
        return None, "little"
    try:
        _, name = dtype.element_format()
    except RebuildRefused:
        return None, "little"
    return name, "big" if dtype.byteorder == ">" else "little"


def _contiguous_strides(shape: tuple[int, ...], fortran: bool) -> tuple[int, ...]:
    dims = list(reversed(shape)) if not fortran else list(shape)
    strides, step = [], 1
    for size in dims:
        strides.append(step)
        step *= max(size, 1)
    return tuple(reversed(strides)) if not fortran else tuple(strides)
