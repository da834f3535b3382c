"""The ``.pt`` writer: a flat state dict in torch.save's own zip layout, streamed per chunk.

Records as torch.save writes them: ``<stem>/data.pkl`` (``torch_pickle``), ``.format_version``,
``.storage_alignment``, ``byteorder`` (little), one ``data/<key>`` per storage, ``version``
and ``.data/serialization_id``; uncompressed, each record's bytes 64-byte aligned
(``zip_records``), so ``torch.load(mmap=True)`` can map them. Unlike ``torch.save``, which
holds every storage in memory until it ends, a storage is read from the source a chunk at a
time (for its CRC-32) and written at once; bytes already in the right order are copied from
the source by the kernel. Memory stays bounded whatever the size of the file or of one
tensor. Every storage is labelled ``cpu``: the output loads on any machine. torch itself is
not needed to write the file.
"""

from __future__ import annotations

import os
import secrets
import zlib

from inspector.core.errors import CheckpointError
from inspector.core.progress import Job, Progress
from inspector.core.values import FileCache, Scratch
from inspector.core.writers.destination import target_file
from inspector.core.writers.layout import (OutputStorage, OutputTensor, group_storages,
                                           iter_output_bytes, files_read_by, verbatim_source)
from inspector.core.writers.sink import OutputSink
from inspector.core.writers.torch_pickle import TensorRecord, can_write, state_dict_pickle
from inspector.core.writers.zip_records import ALIGNMENT, StoredZipWriter

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import BinaryIO

FORMAT_VERSION = b"1"
ARCHIVE_VERSION = b"3\n"


def write_pt(tensors: list[OutputTensor], destination: str,
             metadata: dict[str, str] | None = None, into: BinaryIO | None = None) -> Job[int]:
    """Write ``tensors`` as a torch.save file at ``destination``; returns its size in bytes.
    With ``into``, the bytes go to that open file and the caller gives it its name.

    ``metadata`` is not written: a torch.save state dict has no place for it (the export's
    sidecar carries the same facts)."""
    for tensor in tensors:
        reason = cannot_hold(tensor.dtype)
        if reason:
            raise CheckpointError(f"{tensor.key}: {reason}")
    storages = group_storages(tensors)
    pickle_bytes = state_dict_pickle(_records(storages, tensors))
    total = sum(storage.nbytes for storage in storages)
    with target_file(destination, files_read_by(tensors), into) as file, FileCache() as files:
        sink = OutputSink(file.fileno())
        archive = StoredZipWriter(sink)
        prefix = archive_prefix(destination)
        archive.write_small(f"{prefix}/data.pkl", pickle_bytes)
        archive.write_small(f"{prefix}/.format_version", FORMAT_VERSION)
        archive.write_small(f"{prefix}/.storage_alignment", str(ALIGNMENT).encode())
        archive.write_small(f"{prefix}/byteorder", b"little")
        done = 0
        scratch = Scratch()
        for index, storage in enumerate(storages):
            yield Progress(done, total, f"writing {_first_key(storage)}")
            archive.begin(f"{prefix}/data/{index}", storage.nbytes)
            crc = yield from _write_storage(sink, storage, files, scratch, done, total)
            archive.end(crc)
            done += storage.nbytes
        archive.write_small(f"{prefix}/version", ARCHIVE_VERSION)
        archive.write_small(f"{prefix}/.data/serialization_id", _serialization_id())
        archive.close()
        size = sink.position
    return size  # no report after the file is complete: a cancel then could not undo its rename


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


def _write_storage(sink: OutputSink, storage: OutputStorage, files: FileCache, scratch: Scratch,
                   done: int, total: int) -> Job[int]:
    """Stream one storage's bytes to ``sink``; returns their CRC-32."""
    crc = 0
    source = verbatim_source(storage.span, storage.dtype, files)
    for chunk in iter_output_bytes(storage.span, storage.dtype, files, scratch):
        crc = zlib.crc32(chunk, crc)
        if source is None:
            sink.write(chunk)
        else:  # the same bytes lie in the source: the kernel copies them without a trip through here
            fd, offset = source
            sink.copy(fd, offset, len(chunk))
            source = fd, offset + len(chunk)
        done += len(chunk)
        yield Progress(done, total, f"writing {_first_key(storage)}")
    return crc


def _serialization_id() -> bytes:
    return str(secrets.randbits(128)).zfill(40).encode()
