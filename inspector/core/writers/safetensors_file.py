"""The ``.safetensors`` writer: the format written here directly, one tensor at a time.

Layout (what the safetensors library writes): an 8-byte little-endian header length, a JSON
header padded with spaces to a multiple of 8 bytes, then each tensor's row-major bytes. Tensors
are laid out widest dtype first, so every tensor starts at a multiple of its element size.
Views are written as their own dense values (a transposed view comes out transposed), without
the copy of every tensor that ``safetensors.torch.save_file`` makes first; a tensor whose bytes
already lie in the source as they must be written is copied by the kernel. The format has no
shared tensors: when several keys are the very same view of the same bytes (tied weights), the
first is written and the others are recorded under ``__metadata__["aliases"]`` as a JSON object
``{alias: kept key}``.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator

from inspector.core.dtypes import ITEMSIZE, SAFETENSORS_DTYPE
from inspector.core.errors import CheckpointError
from inspector.core.progress import Job, Progress
from inspector.core.values import FileCache, Scratch
from inspector.core.sharing import view_key
from inspector.core.writers.destination import target_file
from inspector.core.writers.layout import (CHUNK_BYTES, OutputTensor, iter_output_bytes, files_read_by,
                                           verbatim_source)
from inspector.core.writers.sink import OutputSink

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import BinaryIO

METADATA_KEY = "__metadata__"
ALIASES_KEY = "aliases"
HEADER_ALIGNMENT = 8
# torch's float4_e2m1fn_x2 counts pairs of values where safetensors' F4 counts values
SAFETENSORS_NAME = {dtype: name for name, dtype in SAFETENSORS_DTYPE.items() if name != "F4"}


def write_safetensors(tensors: list[OutputTensor], destination: str,
                      metadata: dict[str, str] | None = None, into: BinaryIO | None = None) -> Job[int]:
    """Write ``tensors`` with ``metadata`` (str -> str) at ``destination``; returns the size.
    With ``into``, the bytes go to that open file and the caller gives it its name."""
    for tensor in tensors:
        reason = cannot_hold(tensor.dtype)
        if reason:
            raise CheckpointError(f"{tensor.key}: {reason}")
        if tensor.key == METADATA_KEY:
            raise CheckpointError(f"a safetensors file cannot hold a tensor named {METADATA_KEY}")
    kept, aliases = split_aliases(tensors)
    metadata = dict(metadata or {})
    if aliases:
        metadata[ALIASES_KEY] = json.dumps(aliases)
    order = sorted(kept, key=lambda tensor: -ITEMSIZE[tensor.dtype])
    header = _header(order, metadata)
    total = sum(tensor.nbytes for tensor in order)
    with target_file(destination, files_read_by(tensors), into) as file, FileCache() as files:
        sink = OutputSink(file.fileno())
        sink.write(struct.pack("<Q", len(header)) + header)
        done = 0
        scratch = Scratch()
        for tensor in order:
            yield Progress(done, total, f"writing {tensor.key}")
            done = yield from _write_tensor(sink, tensor, files, scratch, done, total)
        size = sink.position
    return size  # no report after the file is complete: a cancel then could not undo its rename


def cannot_hold(dtype: str) -> str | None:
    """Why a safetensors file cannot hold ``dtype`` values, or None when it can."""
    return None if dtype in SAFETENSORS_NAME else f"safetensors has no {dtype} type"


def split_aliases(tensors: list[OutputTensor]) -> tuple[list[OutputTensor], dict[str, str]]:
    """The tensors to write, and ``{alias: kept key}`` for keys that repeat a kept view."""
    first_of: dict[object, OutputTensor] = {}
    kept: list[OutputTensor] = []
    aliases: dict[str, str] = {}
    for tensor in tensors:
        view = (view_key(tensor.source), tensor.dtype)
        original = first_of.get(view)
        if original is None:
            first_of[view] = tensor
            kept.append(tensor)
        else:
            aliases[tensor.key] = original.key
    return kept, aliases


def _header(order: list[OutputTensor], metadata: dict[str, str]) -> bytes:
    entries: dict[str, object] = {METADATA_KEY: metadata} if metadata else {}
    offset = 0
    for tensor in order:
        end = offset + tensor.nbytes
        entries[tensor.key] = {"dtype": SAFETENSORS_NAME[tensor.dtype],
                               "shape": list(tensor.source.shape), "data_offsets": [offset, end]}
        offset = end
    header = json.dumps(entries, separators=(",", ":")).encode()
    return header + b" " * (-len(header) % HEADER_ALIGNMENT)


def _write_tensor(sink: OutputSink, tensor: OutputTensor, files: FileCache, scratch: Scratch,
                  done: int, total: int) -> Job[int]:
    start = done
    source = verbatim_source(tensor.source, tensor.dtype, files)
    pieces = _copied(sink, source, tensor.nbytes) if source else _converted(sink, tensor, files, scratch)
    for count in pieces:
        done += count
        yield Progress(done, total, f"writing {tensor.key}")
    if done - start != tensor.nbytes:
        raise CheckpointError(f"{tensor.key}: read {done - start} bytes where {tensor.nbytes} were expected")
    return done


def _copied(sink: OutputSink, source: tuple[int, int], nbytes: int) -> Iterator[int]:
    """The kernel copies bytes that are already right in the source, a step at a time."""
    fd, offset = source
    end = offset + nbytes
    while offset < end:
        count = min(CHUNK_BYTES, end - offset)
        sink.copy(fd, offset, count)
        offset += count
        yield count


def _converted(sink: OutputSink, tensor: OutputTensor, files: FileCache, scratch: Scratch) -> Iterator[int]:
    for chunk in iter_output_bytes(tensor.source, tensor.dtype, files, scratch):
        sink.write(chunk)
        yield len(chunk)
