"""``data.pkl`` of a torch.save archive holding a flat ``{key: tensor}`` state dict.

The pickle is emitted opcode by opcode, the way ``torch.save`` pickles a state dict
(protocol 2: an ``OrderedDict`` whose values are ``torch._utils._rebuild_tensor_v2`` calls
on storages given as persistent ids ``('storage', torch.FloatStorage, key, location, numel)``),
so that naming torch's classes needs no torch import. Dtypes without a legacy storage class
(float8, uint16, ...) use ``_rebuild_tensor_v3`` over a ``torch.storage.UntypedStorage``
whose numel counts bytes, as torch.save does for them. No memo opcodes: they only shorten.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

from inspector.core.dtypes import ITEMSIZE, STORAGE_CLASS_DTYPE

_LEGACY_STORAGE_CLASS = {dtype: name for name, dtype in STORAGE_CLASS_DTYPE.items()
                         if name not in ("UntypedStorage", "TypedStorage")}
# torch has no tensors of these (quantized types need their scale; torch.save refuses others)
NOT_WRITABLE = frozenset({"qint8", "quint8", "qint32", "quint4x2", "quint2x4"})
SETITEMS_BATCH = 1000  # as pickle batches them

PROTO_2 = b"\x80\x02"
MARK, STOP, TUPLE, EMPTY_TUPLE, REDUCE = b"(", b".", b"t", b")", b"R"
TUPLE_OF_SIZE = {1: b"\x85", 2: b"\x86", 3: b"\x87"}
BININT1, BININT2, BININT, LONG1 = b"K", b"M", b"J", b"\x8a"
BINUNICODE, BINPERSID, NEWFALSE, NEWTRUE = b"X", b"Q", b"\x89", b"\x88"
SETITEMS = b"u"


class TensorRecord:
    """One tensor of the output: its key, dtype, geometry, and the storage it views."""

    __slots__ = ("key", "dtype", "shape", "stride", "storage_key", "storage_offset",
                 "storage_numel", "location")

    def __init__(self, key: str, dtype: str, shape: tuple[int, ...], stride: tuple[int, ...],
                 storage_key: str, storage_offset: int, storage_numel: int,
                 location: str = "cpu") -> None:
        self.key = key
        self.dtype = dtype
        self.shape = shape
        self.stride = stride
        self.storage_key = storage_key  # record "data/<storage_key>"
        self.storage_offset = storage_offset  # elements of dtype
        self.storage_numel = storage_numel  # elements of dtype in the storage
        self.location = location


def state_dict_pickle(records: Iterable[TensorRecord]) -> bytes:
    """The bytes of ``data.pkl`` for an ``OrderedDict`` of the records, in their order."""
    out = bytearray(PROTO_2)
    _global(out, "collections", "OrderedDict")
    out += EMPTY_TUPLE + REDUCE
    batch = 0
    for record in records:
        if batch == 0:
            out += MARK
        _string(out, record.key)
        _tensor(out, record)
        batch += 1
        if batch == SETITEMS_BATCH:
            out += SETITEMS
            batch = 0
    if batch:
        out += SETITEMS
    out += STOP
    return bytes(out)


def can_write(dtype: str) -> bool:
    return dtype in ITEMSIZE and dtype not in NOT_WRITABLE


def _tensor(out: bytearray, record: TensorRecord) -> None:
    legacy_class = _LEGACY_STORAGE_CLASS.get(record.dtype)
    _global(out, "torch._utils", "_rebuild_tensor_v2" if legacy_class else "_rebuild_tensor_v3")
    out += MARK
    if legacy_class:
        _persistent_storage(out, "torch", legacy_class, record, record.storage_numel)
    else:
        numel_bytes = record.storage_numel * ITEMSIZE[record.dtype]
        _persistent_storage(out, "torch.storage", "UntypedStorage", record, numel_bytes)
    _int(out, record.storage_offset)
    _int_tuple(out, record.shape)
    _int_tuple(out, record.stride)
    out += NEWFALSE  # requires_grad: a state dict holds plain tensors
    _global(out, "collections", "OrderedDict")  # backward hooks
    out += EMPTY_TUPLE + REDUCE
    if not legacy_class:
        _global(out, "torch", record.dtype)
    out += TUPLE + REDUCE


def _persistent_storage(out: bytearray, module: str, class_name: str, record: TensorRecord,
                        numel: int) -> None:
    out += MARK
    _string(out, "storage")
    _global(out, module, class_name)
    _string(out, record.storage_key)
    _string(out, record.location)
    _int(out, numel)
    out += TUPLE + BINPERSID


def _global(out: bytearray, module: str, name: str) -> None:
    out += b"c" + module.encode("ascii") + b"\n" + name.encode("ascii") + b"\n"


def _string(out: bytearray, text: str) -> None:
    encoded = text.encode("utf-8", "surrogatepass")
    out += BINUNICODE + struct.pack("<I", len(encoded)) + encoded


def _int(out: bytearray, value: int) -> None:
    if 0 <= value < 0x100:
        out += BININT1 + bytes((value,))
    elif 0 <= value < 0x10000:
        out += BININT2 + struct.pack("<H", value)
    elif -0x80000000 <= value < 0x80000000:
        out += BININT + struct.pack("<i", value)
    else:
        encoded = value.to_bytes((value.bit_length() + 8) // 8, "little", signed=True)
        out += LONG1 + bytes((len(encoded),)) + encoded


def _int_tuple(out: bytearray, values: tuple[int, ...]) -> None:
    if not values:
        out += EMPTY_TUPLE
        return
    if len(values) > 3:
        out += MARK
    for value in values:
        _int(out, value)
    out += TUPLE_OF_SIZE.get(len(values), TUPLE)
