"""Legacy torch.save files (torch 1.0-1.5, or ``_use_new_zipfile_serialization=False``).

Layout: pickles of the magic number, protocol version 1001, sys_info (byte order), the
object, and the list of storage keys; then for each key an int64 element count followed by
the raw bytes. Storage offsets are found by walking the counts (seeking, never reading the
bytes), so the object pickle is read first with placeholder storages, then fixed up.
"""

from __future__ import annotations

import os
import struct

from inspector.core.dtypes import itemsize
from inspector.core.errors import CheckpointError
from inspector.core.formats.torch_zip import validate_tensors
from inspector.core.model import Checkpoint, Storage, TensorRef, Truncated
from inspector.core.progress import Job, Progress
from inspector.core.rebuilders import GlobalReference, storage_class_dtype
from inspector.core.unpickler import LoadedPickle, load_pickle

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001
MAX_KEYS = 10_000_000


def read(path: str) -> Job[Checkpoint]:
    yield Progress(0, 1, f"Reading {os.path.basename(path)}")
    fd = os.open(path, os.O_RDONLY)
    try:
        checkpoint = read_range(path, fd, 0, os.fstat(fd).st_size)
    finally:
        os.close(fd)
    yield Progress(1, 1, "Done")
    return checkpoint


def read_range(path: str, fd: int, start: int, end: int) -> Checkpoint:
    """A legacy stream stored at ``[start, end)`` of the open file ``fd``."""
    try:
        return _LegacyReader(path, fd, start, end).read()
    except CheckpointError as error:
        raise CheckpointError(f"{os.path.basename(path)}: {error}") from None


class _LegacyReader:
    def __init__(self, path: str, fd: int, start: int, end: int) -> None:
        self.path, self.fd, self.position, self.end = path, fd, start, end
        self.placeholders: dict[str, Storage] = {}  # key -> storage at offset -1
        self.views: dict[str, tuple[str, int, int]] = {}  # view key -> (root key, offset, numel)
        self.declared: dict[str, int] = {}
        self.globals: set[str] = set()
        self.warnings: list[str] = []
        self.byteorder = "little"

    def read(self) -> Checkpoint:
        if self._next().value != MAGIC_NUMBER:
            raise CheckpointError("not a legacy torch.save file (wrong magic number)")
        if self._next().value != PROTOCOL_VERSION:
            raise CheckpointError("unsupported legacy torch.save protocol version")
        self._read_sys_info(self._next().value)
        loaded = self._next(self._persistent_load)
        keys = self._next().value
        storages = self._walk_records(keys)
        root = self._attach(loaded, storages)
        warnings = [*self.warnings, *validate_tensors(loaded.tensors)]
        return Checkpoint(path=self.path, format="torch-legacy", root=root, globals=sorted(self.globals),
                          warnings=warnings, metadata={"byteorder": self.byteorder, "end": self.position})

    def _next(self, persistent_load: object = None) -> LoadedPickle:
        loaded = load_pickle(lambda offset, size: os.pread(self.fd, size, offset),
                             self.position, self.end, persistent_load)
        self.position = loaded.end
        self.globals.update(loaded.globals)
        self.warnings.extend(loaded.warnings)
        return loaded

    def _read_sys_info(self, sys_info: object) -> None:
        if not isinstance(sys_info, dict):
            raise CheckpointError("its sys_info record is damaged")
        self.byteorder = "little" if sys_info.get("little_endian", True) else "big"

    def _persistent_load(self, pid: object) -> object:
        if isinstance(pid, tuple) and len(pid) >= 2 and pid[0] == "module" and isinstance(pid[1], GlobalReference):
            return pid[1]  # a pickled nn.Module's class, with its source text: keep only the name
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"):
            return Truncated("unknown persistent id")
        storage_type, key, location, numel = pid[1], str(pid[2]), str(pid[3]), pid[4]
        dtype = storage_class_dtype(storage_type)
        if dtype is None:
            return Truncated(f"storage {key} has an unknown type")
        if key not in self.placeholders:
            self.placeholders[key] = Storage(self.path, -1, -1, dtype, key, location, self.byteorder)
            self.declared[key] = numel if isinstance(numel, int) else -1
        view = pid[5] if len(pid) > 5 else None
        if isinstance(view, tuple) and len(view) == 3 and isinstance(view[1], int) and isinstance(view[2], int):
            view_key = str(view[0])
            self.views[view_key] = (key, view[1], view[2])
            return Storage(self.path, -1, -1, dtype, view_key, location, self.byteorder)
        return self.placeholders[key]

    def _walk_records(self, keys: object) -> dict[str, Storage]:
        if not isinstance(keys, list) or len(keys) > MAX_KEYS:
            raise CheckpointError("its storage key list is damaged")
        count_format = "<q" if self.byteorder == "little" else ">q"
        storages: dict[str, Storage] = {}
        for key in map(str, keys):
            placeholder = self.placeholders.get(key)
            if placeholder is None:
                self.warnings.append(f"storage {key} is listed but never used; the rest cannot be located")
                break
            storages[key] = self._walk_one(placeholder, count_format)
        return storages

    def _walk_one(self, placeholder: Storage, count_format: str) -> Storage:
        header = os.pread(self.fd, 8, self.position)
        if len(header) < 8 or self.position + 8 > self.end:
            raise CheckpointError("the file is truncated: storage data is missing")
        count, = struct.unpack(count_format, header)
        nbytes = count * itemsize(placeholder.dtype)
        if count < 0 or self.position + 8 + nbytes > self.end:
            raise CheckpointError(f"the file is truncated: storage {placeholder.key} needs {nbytes} bytes")
        if count != self.declared[placeholder.key]:
            self.warnings.append(f"storage {placeholder.key} holds {count} elements but declares "
                                 f"{self.declared[placeholder.key]}")
        storage = Storage(self.path, self.position + 8, nbytes, placeholder.dtype, placeholder.key,
                          placeholder.location, self.byteorder)
        self.position += 8 + nbytes
        return storage

    def _attach(self, loaded: LoadedPickle, storages: dict[str, Storage]) -> object:
        """Point every tensor at its located storage; tensors without one lose it."""
        for key, (root_key, offset, numel) in self.views.items():
            root = storages.get(root_key)
            if root is not None:
                size = itemsize(root.dtype)
                storages[key] = Storage(self.path, root.offset + offset * size,
                                        max(0, min(numel * size, root.nbytes - offset * size)),
                                        root.dtype, key, root.location, self.byteorder)
        for tensor in loaded.tensors:
            self._attach_tensor(tensor, storages)
        root = loaded.value
        if isinstance(root, Storage) and root.offset < 0:
            return storages.get(root.key, Truncated(f"storage {root.key} is not in the file"))
        return root

    @staticmethod
    def _attach_tensor(tensor: TensorRef, storages: dict[str, Storage]) -> None:
        if tensor.storage is None or tensor.storage.offset >= 0:
            return
        located = storages.get(tensor.storage.key)
        if located is None:
            tensor.extra["problem"] = f"storage {tensor.storage.key} is not in the file"
        tensor.storage = located
