"""The ``.pt`` writer: a flat state dict in torch.save's own zip layout, streamed per chunk.

Records as torch.save writes them: ``<stem>/data.pkl`` (``torch_pickle``), ``.format_version``,
``.storage_alignment``, ``byteorder`` (little), one ``data/<key>`` per storage, ``version``
and ``.data/serialization_id``; uncompressed, each record's bytes 64-byte aligned (torch
pads the local header's extra field, so ``torch.load(mmap=True)`` can map them). Unlike
``torch.save``, which holds every storage in memory until it ends, a storage is read from
the source a chunk at a time and written at once, so memory stays bounded whatever the size
of the file or of one tensor. Every storage is labelled ``cpu``: the output loads on any
machine. torch itself is not needed to write the file.
"""

from __future__ import annotations

import os
import secrets
import struct
import zipfile

from inspector.core.errors import CheckpointError
from inspector.core.progress import Job, Progress
from inspector.core.values import FileCache, Scratch
from inspector.core.writers.destination import replacing
from inspector.core.writers.layout import (OutputStorage, OutputTensor, group_storages,
                                           iter_output_bytes, source_files)
from inspector.core.writers.torch_pickle import TensorRecord, can_write, state_dict_pickle

ALIGNMENT = 64
FORMAT_VERSION = "1"
ARCHIVE_VERSION = "3\n"
_LOCAL_HEADER_SIZE = 30
_ZIP64_LOCAL_EXTRA_SIZE = 20  # every record is opened with force_zip64 (sizes known later)
_PADDING_HEADER = struct.Struct("<HH")
_PADDING_ID = 0x4246  # "FB", torch's padding field


def write_pt(tensors: list[OutputTensor], destination: str,
             metadata: dict[str, str] | None = None) -> Job[int]:
    """Write ``tensors`` as a torch.save file at ``destination``; returns its size in bytes.

    ``metadata`` is not written: a torch.save state dict has no place for it (the export's
    sidecar carries the same facts)."""
    for tensor in tensors:
        reason = cannot_hold(tensor.dtype)
        if reason:
            raise CheckpointError(f"{tensor.key}: {reason}")
    storages = group_storages(tensors)
    pickle_bytes = state_dict_pickle(_records(storages, tensors))
    total = sum(storage.nbytes for storage in storages)
    with replacing(destination, source_files(tensors)) as file, FileCache() as files, \
            zipfile.ZipFile(file, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        prefix = archive_prefix(destination)
        _write_small(archive, file, f"{prefix}/data.pkl", pickle_bytes)
        _write_small(archive, file, f"{prefix}/.format_version", FORMAT_VERSION.encode())
        _write_small(archive, file, f"{prefix}/.storage_alignment", str(ALIGNMENT).encode())
        _write_small(archive, file, f"{prefix}/byteorder", b"little")
        done = 0
        scratch = Scratch()
        for index, storage in enumerate(storages):
            yield Progress(done, total, f"writing {_first_key(storage)}")
            done = yield from _write_storage(archive, file, f"{prefix}/data/{index}", storage,
                                             files, scratch, done, total)
        _write_small(archive, file, f"{prefix}/version", ARCHIVE_VERSION.encode())
        _write_small(archive, file, f"{prefix}/.data/serialization_id", _serialization_id())
    size = os.path.getsize(destination)
    yield Progress(total, total, "written")
    return size


def cannot_hold(dtype: str) -> str | None:
    """Why a .pt state dict cannot hold ``dtype`` values, or None when it can."""
    return None if can_write(dtype) else f"a .pt state dict cannot hold {dtype} values"


def archive_prefix(destination: str) -> str:
    """The folder name of the records: the file's stem, as torch.save names it."""
    stem = os.path.splitext(os.path.basename(destination))[0]
    printable = stem.isascii() and stem.isprintable() and "/" not in stem and "\\" not in stem
    return stem if stem and printable else "archive"


def _records(storages: list[OutputStorage], tensors: list[OutputTensor]) -> list[TensorRecord]:
    by_tensor: dict[int, TensorRecord] = {}
    for index, storage in enumerate(storages):
        for tensor, offset in storage.members:
            source = tensor.source
            by_tensor[id(tensor)] = TensorRecord(tensor.key, storage.dtype, source.shape, source.stride,
                                                 str(index), offset, storage.numel)
    return [by_tensor[id(tensor)] for tensor in tensors]


def _first_key(storage: OutputStorage) -> str:
    return storage.members[0][0].key


def _write_storage(archive: zipfile.ZipFile, file, name: str, storage: OutputStorage,
                   files: FileCache, scratch: Scratch, done: int, total: int) -> Job[int]:
    start = done
    with _open_record(archive, file, name, storage.nbytes) as record:
        for chunk in iter_output_bytes(storage.span, storage.dtype, files, scratch):
            record.write(chunk)
            done += len(chunk)
            yield Progress(done, total, f"writing {_first_key(storage)}")
    if done - start != storage.nbytes:
        raise CheckpointError(f"{_first_key(storage)}: read {done - start} bytes where "
                              f"{storage.nbytes} were expected")
    return done


def _write_small(archive: zipfile.ZipFile, file, name: str, data: bytes) -> None:
    with _open_record(archive, file, name, len(data)) as record:
        record.write(data)


def _open_record(archive: zipfile.ZipFile, file, name: str, size: int):
    """A record whose bytes start on an ALIGNMENT boundary of the file."""
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    info.file_size = size
    header_end = file.tell() + _LOCAL_HEADER_SIZE + len(name.encode()) + _ZIP64_LOCAL_EXTRA_SIZE
    info.extra = _padding(header_end)
    return archive.open(info, "w", force_zip64=True)


def _padding(header_end: int) -> bytes:
    """An extra field that moves the record's data from ``header_end`` to the next boundary."""
    gap = -header_end % ALIGNMENT
    if gap == 0:
        return b""
    if gap < _PADDING_HEADER.size:
        gap += ALIGNMENT
    filler = gap - _PADDING_HEADER.size
    return _PADDING_HEADER.pack(_PADDING_ID, filler) + b"Z" * filler


def _serialization_id() -> bytes:
    return str(secrets.randbits(128)).zfill(40).encode()
