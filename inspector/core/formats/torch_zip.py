"""torch.save zip archives (torch >= 1.6): only ``data.pkl`` is parsed, no record is read.

Every storage becomes a ``Storage`` pointing at its record in the file (the record's local
header is read only when values are, see ``zipreader.local_data_offset``); every
tensor's geometry is checked against its storage, and a tensor that would read outside
it loses its storage (``extra["problem"]`` says why) so its values are never read.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from inspector.core.dtypes import itemsize
from inspector.core.errors import CheckpointError
from inspector.core.geometry import check_tensor
from inspector.core.model import Checkpoint, Storage, TensorRef, Truncated
from inspector.core.progress import Job, Progress
from inspector.core.rebuilders import UnreadableStorage, storage_class_dtype
from inspector.core.unpickler import LoadedPickle, restricted_load
from inspector.core.zipreader import STORED, ZipArchive

MAX_PICKLE_BYTES = 1 << 30
MAX_LISTED_PROBLEMS = 5


def read(path: str) -> Job[Checkpoint]:
    yield Progress(0, 1, f"Reading {os.path.basename(path)}")
    checkpoint = _read(path, 0, None)
    yield Progress(1, 1, "Done")
    return checkpoint


def read_embedded(path: str, offset: int, length: int) -> Checkpoint:
    """A torch.save archive stored at ``[offset, offset + length)`` of a bigger file."""
    return _read(path, offset, length)


def _read(path: str, offset: int, length: int | None) -> Checkpoint:
    with ZipArchive(path, offset, length) as archive:
        prefix = archive_prefix(archive.names())
        if prefix is None:
            raise CheckpointError(f"{os.path.basename(path)} is a zip archive without a data.pkl: not a torch.save file")
        byteorder = read_byteorder(archive, prefix)
        try:
            loaded = load_archive_pickle(archive, f"{prefix}data.pkl", f"{prefix}data/", byteorder)
        except CheckpointError as error:
            raise CheckpointError(f"{os.path.basename(path)}: {error}") from None
        warnings = [*archive.warnings, *loaded.warnings, *validate_tensors(loaded.tensors)]
        metadata = {"prefix": prefix.rstrip("/"), "byteorder": byteorder,
                    "version": _small_text(archive, f"{prefix}version")}
    return Checkpoint(path=path, format="torch-zip", root=loaded.value, globals=loaded.globals,
                      warnings=warnings, metadata=metadata)


def archive_prefix(names: list[str]) -> str | None:
    """``"<dir>/"`` holding data.pkl (torch names the top folder after the saved file)."""
    candidates = [name[: -len("data.pkl")] for name in names
                  if name.endswith("/data.pkl") and name.count("/") == 1]
    if not candidates and "data.pkl" in names:
        return ""
    return candidates[0] if candidates else None


def read_byteorder(archive: ZipArchive, prefix: str) -> str:
    value = _small_text(archive, f"{prefix}byteorder")
    if value is None:
        return "little"
    if value not in ("little", "big"):
        archive.warnings.append(f"unknown byte order {value[:16]!r}; assuming little-endian")
        return "little"
    return value


def _small_text(archive: ZipArchive, name: str) -> str | None:
    if name not in archive.names():
        return None
    return archive.read(name, 64).decode("ascii", "replace").strip()


def load_archive_pickle(archive: ZipArchive, entry_name: str, data_dir: str,
                        byteorder: str = "little", *,
                        extra_globals: dict[str, Callable[..., object]] | None = None) -> LoadedPickle:
    """Unpickle ``entry_name`` with storages resolved to records ``<data_dir><key>``."""
    data = archive.read(entry_name, MAX_PICKLE_BYTES)
    resolver = StorageResolver(archive, data_dir, byteorder)
    loaded = restricted_load(data, resolver, extra_globals=extra_globals)
    loaded.warnings.extend(resolver.warnings)
    return loaded


class StorageResolver:
    """The ``persistent_load`` for torch's ``('storage', type, key, location, numel)`` ids."""

    def __init__(self, archive: ZipArchive, data_dir: str, byteorder: str) -> None:
        self.archive = archive
        self.data_dir = data_dir
        self.byteorder = byteorder
        self.names = set(archive.names())
        self.storages: dict[str, Storage | Truncated] = {}
        self.warnings: list[str] = []

    def __call__(self, pid: object) -> Storage | Truncated:
        if not (type(pid) is tuple and len(pid) >= 5 and pid[0] == "storage"):
            return Truncated(f"unknown persistent id {_short(pid)}")
        key = pid[2] if type(pid[2]) is str else str(pid[2])
        storage = self.storages.get(key)
        if storage is None:
            storage = self.storages[key] = self._storage(pid[1], key, str(pid[3]), pid[4])
        return storage

    def _storage(self, storage_type: object, key: str, location: str, numel: object) -> Storage | Truncated:
        dtype = storage_class_dtype(storage_type)
        if dtype is None:
            return Truncated(f"storage {key} has an unknown type {_short(storage_type)}")
        name = self.data_dir + key
        if name not in self.names:
            return UnreadableStorage(f"the record {name} of storage {key} is missing", dtype)
        header_offset, size, compress_type = self.archive.locate(name)
        if compress_type != STORED:
            return UnreadableStorage(f"the record {name} is compressed; its values are not read", dtype)
        if type(numel) is not int or numel * itemsize(dtype) != size:
            self.warnings.append(f"record {name} holds {size} bytes but its storage declares "
                                 f"{numel} {dtype} elements")
        return Storage.in_zip(self.archive.path, header_offset, name, self.archive.end, size, dtype,
                              key, location, self.byteorder)


def validate_tensors(tensors: list[TensorRef]) -> list[str]:
    """Cut tensors whose view reaches outside their storage; one warning for all of them."""
    problems = []
    for tensor in tensors:
        if "problem" in tensor.extra:
            problems.append(tensor.extra["problem"])
            continue
        problem = check_tensor(tensor)
        if problem is not None:
            tensor.extra["problem"] = problem
            if tensor.storage is not None:
                tensor.extra["location"] = tensor.storage.location
                tensor.storage = None
            problems.append(problem)
    if not problems:
        return []
    listed = "; ".join(dict.fromkeys(problems[:MAX_LISTED_PROBLEMS]))
    more = f" (and {len(problems) - MAX_LISTED_PROBLEMS} more)" if len(problems) > MAX_LISTED_PROBLEMS else ""
    return [f"{len(problems)} tensor(s) cannot be read: {listed}{more}"]


def _short(value: object) -> str:
    text = getattr(value, "class_name", None) or type(value).__name__
    return text[:80]
