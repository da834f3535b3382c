"""torch.distributed.checkpoint folders: ``.metadata`` plus ``__<rank>_<n>.distcp`` files.

``.metadata`` is a pickle of ``Metadata(state_dict_metadata, planner_data, storage_data)``;
it is read only with the restricted unpickler, so its dataclasses arrive as inert
``PickledObject``s whose state we interpret as data. Each item's bytes sit in a ``.distcp``
file at ``_StorageInfo(relative_path, offset, length)``: torch writes every item (tensor or
pickled value) as a small torch.save zip, back to back. Keys are nested again with
``planner_data`` (flattened key -> path tuple) when the writer kept it.

A tensor saved in several chunks (sharded across ranks) is shown with its full shape and
``layout="chunked"``; its chunks are kept in ``extra["chunks"]`` and values are not assembled.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from inspector.core import dtypes
from inspector.core.errors import CheckpointError
from inspector.core.formats.hf_sharded import member_path
from inspector.core.formats.safetensors_file import (one_line, open_regular_file, quoted,
                                                      row_major_strides)
from inspector.core.model import Checkpoint, PickledObject, TensorRef, Truncated
from inspector.core.progress import Job, Progress

METADATA_NAME = ".metadata"
MAX_METADATA_BYTES = 256 * 1024 * 1024
MAX_RAW_PICKLE_BYTES = 64 * 1024 * 1024
MAX_PATH_DEPTH = 64
MAX_DIM = (1 << 63) - 1
MAX_WARNINGS = 50
ZIP_MAGIC = b"PK\x03\x04"


def read(path: str) -> Job[Checkpoint]:
    """Read a DCP folder (or its ``.metadata`` file) into a ``Checkpoint`` (format "dcp")."""
    folder = path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))
    yield Progress(0, 0, "Reading .metadata")
    loaded = _load_metadata(member_path(folder, METADATA_NAME, folder))
    fields = object_fields(loaded.value)
    if not _is_class(loaded.value, "Metadata") or "state_dict_metadata" not in fields:
        raise CheckpointError(f"{folder}: .metadata does not hold a checkpoint Metadata object")
    entries = _mapping(fields["state_dict_metadata"], "state_dict_metadata")
    reader = ItemReader(folder, _storage_index(fields.get("storage_data")))
    reader.globals.update(loaded.globals)
    reader.warnings.extend(loaded.warnings)
    flat: dict[str, object] = {}
    for number, (fqn, entry) in enumerate(entries.items()):
        yield Progress(number, len(entries), f"Reading {one_line(fqn)}")
        flat[fqn] = _read_entry(reader, fqn, entry)
    yield Progress(len(entries), len(entries), "Nesting keys")
    reader.finish_warnings()
    root = nest(flat, fields.get("planner_data"), reader.warnings)
    version = fields.get("version")
    metadata = {"dcp_version": version if isinstance(version, str) else None,
                "storage_files": sorted(reader.files_used)}
    return Checkpoint(path=path, format="dcp", root=root, globals=sorted(reader.globals),
                      warnings=reader.warnings, metadata=metadata)


def _load_metadata(metadata_path: str):
    from inspector.core.unpickler import restricted_load
    fd = open_regular_file(metadata_path)
    try:
        size = os.fstat(fd).st_size
        if size > MAX_METADATA_BYTES:
            raise CheckpointError(f"{metadata_path}: {size} bytes is over the 256 MB limit")
        data = os.pread(fd, size, 0)
    finally:
        os.close(fd)
    try:
        return restricted_load(data)
    except CheckpointError as error:
        raise CheckpointError(f"{metadata_path}: {error}") from None


def object_fields(value: object) -> dict[str, object]:
    """The attributes a pickled dataclass received (dict state, or slots ``(dict, slots)``)."""
    if not isinstance(value, PickledObject):
        return {}
    state = value.state
    if isinstance(state, tuple) and len(state) == 2 and all(
            isinstance(part, (dict, type(None))) for part in state):
        state = {**(state[0] or {}), **(state[1] or {})}
    return state if isinstance(state, dict) else {}


def _is_class(value: object, name: str) -> bool:
    return isinstance(value, PickledObject) and value.class_name.rsplit(".", 1)[-1] == name


def _mapping(value: object, what: str) -> dict:
    if not isinstance(value, dict):
        raise CheckpointError(f".metadata: {what} is not a mapping")
    return value


def _storage_index(storage_data: object) -> dict[tuple[str, tuple | None], StorageInfo]:
    """``(fqn, chunk offsets or None)`` -> where the item's bytes are."""
    index: dict[tuple[str, tuple | None], StorageInfo] = {}
    for key, info in _mapping(storage_data, "storage_data").items():
        key_fields, info_fields = object_fields(key), object_fields(info)
        fqn = key_fields.get("fqn")
        if not isinstance(fqn, str):
            raise CheckpointError(".metadata: storage_data has an entry without a key name")
        offsets = key_fields.get("offset")
        index[(fqn, tuple(offsets) if isinstance(offsets, (tuple, list)) else None)] = StorageInfo(
            relative_path=info_fields.get("relative_path"),
            offset=info_fields.get("offset"),
            length=info_fields.get("length"),
            transforms=info_fields.get("transform_descriptors"))
    return index


def _read_entry(reader: ItemReader, fqn: str, entry: object) -> object:
    if _is_class(entry, "BytesStorageMetadata"):
        return reader.read_value(fqn)
    if _is_class(entry, "TensorStorageMetadata"):
        return _read_tensor(reader, fqn, object_fields(entry))
    raise CheckpointError(f".metadata: entry {quoted(fqn)} is neither a tensor nor a value")


def _read_tensor(reader: ItemReader, fqn: str, fields: dict[str, object]) -> TensorRef:
    dtype = _dtype_of(fields.get("properties"), fqn)
    shape = _int_tuple(fields.get("size"), f"size of {quoted(fqn)}")
    chunks = fields.get("chunks")
    if not isinstance(chunks, list) or not chunks:
        raise CheckpointError(f".metadata: tensor {quoted(fqn)} has no chunks")
    parts = []
    for chunk in chunks:
        chunk_fields = object_fields(chunk)
        offsets = _int_tuple(chunk_fields.get("offsets"), f"chunk offsets of {quoted(fqn)}")
        sizes = _int_tuple(chunk_fields.get("sizes"), f"chunk sizes of {quoted(fqn)}")
        if len(offsets) != len(shape) or len(sizes) != len(shape) or any(
                start + size > whole for start, size, whole in zip(offsets, sizes, shape)):
            raise CheckpointError(
                f".metadata: a chunk of {quoted(fqn)} lies outside its shape {list(shape)}")
        parts.append((offsets, sizes, reader.read_tensor(fqn, offsets, dtype, sizes)))
    whole = len(parts) == 1 and parts[0][1] == shape and not any(parts[0][0])
    if whole:
        return parts[0][2]
    reader.chunked.append(f"{one_line(fqn)} ({len(parts)} chunks)")
    chunk_list = [{"offsets": offsets, "sizes": sizes, "tensor": tensor}
                  for offsets, sizes, tensor in parts]
    return TensorRef(dtype=dtype, shape=shape, stride=row_major_strides(shape), storage=None,
                     layout="chunked", extra={"chunks": chunk_list})


def _dtype_of(properties: object, fqn: str) -> str:
    state = properties.state if isinstance(properties, PickledObject) else None
    if isinstance(state, tuple) and state:
        value = state[0]  # TensorProperties.__getstate__: (dtype, layout, requires_grad, ...)
    else:
        value = object_fields(properties).get("dtype")
    name = getattr(value, "dtype", value)
    if isinstance(name, str):
        name = name.removeprefix("torch.")
    if not isinstance(name, str) or not dtypes.is_known(name):
        raise CheckpointError(
            f".metadata: tensor {quoted(fqn)} has an unknown dtype {quoted(str(value), 40)}")
    return name


def _int_tuple(value: object, what: str) -> tuple[int, ...]:
    if not isinstance(value, (tuple, list)) or len(value) > MAX_PATH_DEPTH or not all(
            type(item) is int and 0 <= item <= MAX_DIM for item in value):
        raise CheckpointError(f".metadata: {what} is not a list of non-negative integers")
    return tuple(value)


def nest(flat: dict[str, object], planner_data: object, warnings: list[str]) -> dict:
    """Rebuild the nested state dict from ``planner_data`` paths; flat keys where it fails."""
    if not isinstance(planner_data, dict):
        return flat
    root: dict = {}
    branches = {id(root)}
    leftovers = []
    for fqn, value in flat.items():
        path = planner_data.get(fqn)
        if not _valid_path(path) or not _place(root, tuple(path), value, branches):
            leftovers.append(fqn)
    for fqn in leftovers:
        if fqn in root:
            raise CheckpointError(f".metadata: key {quoted(fqn)} collides with a nested key")
        root[fqn] = flat[fqn]
    if leftovers:
        warnings.append(f"{len(leftovers)} keys could not be nested with planner_data "
                        f"and are shown flat: {', '.join(leftovers[:5])}")
    nested = _with_lists(root, branches)
    return nested if isinstance(nested, dict) else dict(enumerate(nested))


def _with_lists(node: dict, branches: set[int]) -> dict | list:
    """Branches keyed 0..n-1 were lists when saved (torch's own unflattening agrees)."""
    for key, child in node.items():
        if isinstance(child, dict) and id(child) in branches:
            node[key] = _with_lists(child, branches)
    if node and all(type(key) is int for key in node) and sorted(node) == list(range(len(node))):
        return [node[index] for index in range(len(node))]
    return node


def _valid_path(path: object) -> bool:
    return (isinstance(path, (tuple, list)) and 0 < len(path) <= MAX_PATH_DEPTH
            and all(isinstance(part, (str, int)) and not isinstance(part, bool) for part in path))


def _place(root: dict, path: tuple, value: object, branches: set[int]) -> bool:
    node = root
    for part in path[:-1]:
        if part not in node:
            node[part] = {}
            branches.add(id(node[part]))
        elif id(node[part]) not in branches:
            return False  # a value already sits where a branch should be
        node = node[part]
    if path[-1] in node:
        return False
    node[path[-1]] = value
    return True


@dataclass(frozen=True)
class StorageInfo:
    """Where one item's bytes are, as ``.metadata`` claims (validated before use)."""

    relative_path: object
    offset: object
    length: object
    transforms: object = None


@dataclass
class ItemReader:
    """Reads items out of ``.distcp`` files, collecting globals and warnings on the way."""

    folder: str
    storage: dict[tuple[str, tuple | None], StorageInfo]
    globals: set[str] = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)
    chunked: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    files_used: set[str] = field(default_factory=set)
    _files: dict[str, tuple[str, int]] = field(default_factory=dict)

    def read_tensor(self, fqn: str, offsets: tuple, dtype: str, shape: tuple) -> TensorRef:
        info = self.storage.get((fqn, offsets))
        if info is None:
            self.missing.append(one_line(fqn))
            return _placeholder(dtype, shape, "no storage record in .metadata")
        path, offset, length = self._locate(fqn, info)
        if info.transforms:
            self.warnings.append(f"{one_line(fqn)}: stored with transforms "
                                 f"{one_line(str(info.transforms), 60)}; not read")
            return _placeholder(dtype, shape, "stored with transforms (e.g. compression)")
        if _peek(path, offset, length, 4) == ZIP_MAGIC:
            tensor = self._embedded(fqn, path, offset, length)
            if isinstance(tensor, TensorRef):
                self._check_geometry(fqn, tensor, dtype, shape)
                return tensor
            self.warnings.append(f"{one_line(fqn)}: its record holds no tensor")
            return _placeholder(dtype, shape, "its record holds no tensor")
        # e.g. the safetensors serialization of newer writers: no wrong values, a placeholder
        self.warnings.append(f"{one_line(fqn)}: record is not a torch.save record; not read")
        return _placeholder(dtype, shape, "record in an encoding this reader does not know")

    def read_value(self, fqn: str) -> object:
        info = self.storage.get((fqn, None))
        if info is None:
            self.missing.append(one_line(fqn))
            return Truncated("no storage record in .metadata")
        path, offset, length = self._locate(fqn, info)
        head = _peek(path, offset, length, 4)
        if head == ZIP_MAGIC and not info.transforms:
            return self._embedded(fqn, path, offset, length)
        if head[:1] == b"\x80" and length <= MAX_RAW_PICKLE_BYTES and not info.transforms:
            return self._raw_pickle(fqn, path, offset, length)
        self.warnings.append(
            f"{one_line(fqn)}: value stored in an encoding this reader does not know")
        return Truncated("value stored in an unknown encoding")

    def finish_warnings(self) -> None:
        """Summarise per-item findings; a file with thousands of odd items stays readable."""
        self.warnings = list(dict.fromkeys(self.warnings))
        if len(self.warnings) > MAX_WARNINGS:
            hidden = len(self.warnings) - MAX_WARNINGS
            self.warnings[MAX_WARNINGS:] = [f"... and {hidden} more warnings about items"]
        for names, what in ((self.missing, "items have no storage record in .metadata"),
                            (self.chunked, "tensors are saved in several chunks; values of "
                                           "the whole tensor are not assembled")):
            if names:
                shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
                self.warnings.append(f"{len(names)} {what}: {shown}")

    def _locate(self, fqn: str, info: StorageInfo) -> tuple[str, int, int]:
        path, size = self._file(info.relative_path)
        offset, length = info.offset, info.length
        if type(offset) is not int or type(length) is not int or offset < 0 or length < 0:
            raise CheckpointError(f".metadata: item {quoted(fqn)} has an invalid offset or length")
        if offset + length > size:
            raise CheckpointError(f"{one_line(info.relative_path)}: item {quoted(fqn)} at "
                                  f"{offset}+{length} runs "
                                  f"past the end of the file ({size} bytes)")
        return path, offset, length

    def _file(self, relative: object) -> tuple[str, int]:
        key = relative if isinstance(relative, str) else repr(relative)
        if key not in self._files:
            path = member_path(self.folder, relative, ".metadata")
            self._files[key] = (path, os.stat(path).st_size)
            self.files_used.add(key)
        return self._files[key]

    def _embedded(self, fqn: str, path: str, offset: int, length: int) -> object:
        from inspector.core.formats import torch_zip
        try:
            checkpoint = torch_zip.read_embedded(path, offset, length)
        except CheckpointError as error:
            self.warnings.append(f"{one_line(fqn)}: unreadable record ({error})")
            return Truncated(f"unreadable record: {error}")
        self.globals.update(checkpoint.globals)
        self.warnings.extend(f"{one_line(fqn)}: {warning}" for warning in checkpoint.warnings)
        return checkpoint.root

    def _raw_pickle(self, fqn: str, path: str, offset: int, length: int) -> object:
        from inspector.core.unpickler import restricted_load
        try:
            loaded = restricted_load(_pread(path, offset, length))
        except CheckpointError as error:
            self.warnings.append(f"{one_line(fqn)}: unreadable value ({error})")
            return Truncated(f"unreadable value: {error}")
        self.globals.update(loaded.globals)
        return loaded.value

    def _check_geometry(self, fqn: str, tensor: TensorRef, dtype: str, shape: tuple) -> None:
        if tensor.dtype != dtype or tensor.shape != shape:
            self.warnings.append(f"{one_line(fqn)}: .metadata says {dtype} {list(shape)}, "
                                 f"the record holds "
                                 f"{tensor.dtype} {list(tensor.shape)}")


def _placeholder(dtype: str, shape: tuple, problem: str) -> TensorRef:
    ref = TensorRef(dtype=dtype, shape=shape, stride=row_major_strides(shape), storage=None)
    ref.extra["problem"] = problem
    return ref


def _pread(path: str, offset: int, length: int) -> bytes:
    fd = open_regular_file(path)
    try:
        return os.pread(fd, length, offset)
    finally:
        os.close(fd)


def _peek(path: str, offset: int, length: int, size: int) -> bytes:
    return _pread(path, offset, min(size, length))
