"""An uncompressed zip archive written record by record, laid out as torch's own writer does.

Each record's data starts on a 64-byte boundary (the local header's extra field is padded
with an ``FB`` field, as torch pads it), sizes are known before the data is written, and
the CRC-32 is patched into the local header once the data is out: the data itself never
passes through a buffer here (``OutputSink.copy`` can move it in the kernel). The archive
always ends with zip64 end records, as torch's do; records or offsets past 4 GiB get zip64
extra fields.
"""

from __future__ import annotations

import struct
import zlib

from inspector.core.writers.sink import OutputSink

ALIGNMENT = 64
_LOCAL = struct.Struct("<IHHHHHIIIHH")
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
_ZIP64_END = struct.Struct("<IQHHIIQQQQ")
_ZIP64_LOCATOR = struct.Struct("<IIQI")
_END = struct.Struct("<IHHHHIIH")
_EXTRA_HEADER = struct.Struct("<HH")
_ZIP64_EXTRA_ID = 0x0001
_PADDING_ID = 0x4246  # "FB"
_LIMIT = 0xFFFFFFFF
_VERSION = 45  # zip64 capable
_DOS_DATE_1980 = (1 << 5) | 1  # 1980-01-01, 00:00
_CRC_FIELD = 14  # offset of the CRC-32 in a local header


class _Entry:
    __slots__ = ("name", "header_offset", "data_offset", "size", "crc")

    def __init__(self, name: bytes, header_offset: int, size: int) -> None:
        self.name = name
        self.header_offset = header_offset
        self.data_offset = header_offset
        self.size = size
        self.crc = 0


class StoredZipWriter:
    """``begin(name, size)``, then exactly ``size`` bytes to ``sink``, then ``end(crc)``;
    ``close()`` writes the central directory."""

    def __init__(self, sink: OutputSink) -> None:
        self.sink = sink
        self.entries: list[_Entry] = []

    def begin(self, name: str, size: int) -> None:
        encoded = name.encode("utf-8")
        entry = _Entry(encoded, self.sink.position, size)
        zip64 = _zip64_local(size)
        header_end = entry.header_offset + _LOCAL.size + len(encoded) + len(zip64)
        extra = zip64 + _padding(header_end)
        small = min(size, _LIMIT)
        self.sink.write(_LOCAL.pack(0x04034B50, _VERSION, _flags(name), 0, 0, _DOS_DATE_1980, 0,
                                    small, small, len(encoded), len(extra)) + encoded + extra)
        entry.data_offset = self.sink.position
        self.entries.append(entry)

    def end(self, crc: int) -> None:
        entry = self.entries[-1]
        written = self.sink.position - entry.data_offset
        if written != entry.size:
            raise ValueError(f"record {entry.name!r}: {written} bytes written, {entry.size} announced")
        self.sink.write_at(entry.header_offset + _CRC_FIELD, struct.pack("<I", crc))
        entry.crc = crc

    def write_small(self, name: str, data: bytes) -> None:
        self.begin(name, len(data))
        self.sink.write(data)
        self.end(zlib.crc32(data))

    def close(self) -> None:
        start = self.sink.position
        for entry in self.entries:
            self.sink.write(_central_header(entry))
        size = self.sink.position - start
        end64 = self.sink.position
        count = len(self.entries)
        self.sink.write(_ZIP64_END.pack(0x06064B50, _ZIP64_END.size - 12, _VERSION, _VERSION, 0, 0,
                                        count, count, size, start))
        self.sink.write(_ZIP64_LOCATOR.pack(0x07064B50, 0, end64, 1))
        self.sink.write(_END.pack(0x06054B50, 0, 0, min(count, 0xFFFF), min(count, 0xFFFF),
                                  min(size, _LIMIT), min(start, _LIMIT), 0))


def _flags(name: str) -> int:
    return 0 if name.isascii() else 0x0800  # bit 11: the name is UTF-8


def _zip64_local(size: int) -> bytes:
    if size < _LIMIT:
        return b""
    return _EXTRA_HEADER.pack(_ZIP64_EXTRA_ID, 16) + struct.pack("<QQ", size, size)


def _padding(header_end: int) -> bytes:
    """An extra field that moves the record's data from ``header_end`` to the next boundary."""
    gap = -header_end % ALIGNMENT
    if gap == 0:
        return b""
    if gap < _EXTRA_HEADER.size:
        gap += ALIGNMENT
    filler = gap - _EXTRA_HEADER.size
    return _EXTRA_HEADER.pack(_PADDING_ID, filler) + b"Z" * filler


def _central_header(entry: _Entry) -> bytes:
    big_values = [value for value in (entry.size, entry.size) if value >= _LIMIT]
    if entry.header_offset >= _LIMIT:
        big_values.append(entry.header_offset)
    extra = b""
    if big_values:
        extra = _EXTRA_HEADER.pack(_ZIP64_EXTRA_ID, 8 * len(big_values)) + struct.pack(
            f"<{len(big_values)}Q", *big_values)
    small = min(entry.size, _LIMIT)
    name = entry.name.decode("utf-8")
    return _CENTRAL.pack(0x02014B50, _VERSION, _VERSION, _flags(name), 0, 0, _DOS_DATE_1980, entry.crc,
                         small, small, len(entry.name), len(extra), 0, 0, 0, 0,
                         min(entry.header_offset, _LIMIT)) + entry.name + extra
