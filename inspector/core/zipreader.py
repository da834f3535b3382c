"""A zip reader for torch.save archives that trusts nothing and reads almost nothing.

The central directory lists records; each record's data offset comes from its LOCAL
header (30 bytes + name + extra), as torch computes it. CRCs and flag bits are ignored
like torch does. Anomalies become warnings; only a missing end record or a record that
runs past the end of the archive is an error.

Opening an archive reads only its central directory. A storage record's local header is
read when its values are first needed (``local_data_offset``): a checkpoint with thousands
of records then opens without touching pages all over a multi-gigabyte file.
"""

from __future__ import annotations

import os
import stat
import struct

from inspector.core.errors import CheckpointError
from inspector.core.value_object import EqualByFields

STORED, DEFLATED = 0, 8
EOCD = struct.Struct("<4s4H2LH")
ZIP64_LOCATOR = struct.Struct("<4sLQL")
ZIP64_EOCD = struct.Struct("<4sQ2H2L4Q")
CENTRAL = struct.Struct("<4s6H3L5H2L")
LOCAL = struct.Struct("<4s5H3L2H")
MAX_COMMENT = 0xFFFF
MAX_ENTRIES = 5_000_000
MAX_CENTRAL_BYTES = 1 << 30
MAX_INFLATED = 256 << 20  # torch never compresses records; a compressed one is suspect


class ZipRecord(EqualByFields):
    """One central directory entry; ``name_length`` counts the bytes of the stored name."""

    __slots__ = ("name", "header_offset", "compressed_size", "size", "compress_type", "name_length")

    def __init__(self, name: str, header_offset: int, compressed_size: int, size: int,
                 compress_type: int, name_length: int | None = None) -> None:
        self.name = name
        self.header_offset = header_offset  # relative to the archive start
        self.compressed_size = compressed_size
        self.size = size
        self.compress_type = compress_type
        self.name_length = len(name.encode("utf-8")) if name_length is None else name_length

    def _fields(self) -> tuple:
        return (self.name, self.header_offset, self.compressed_size, self.size, self.compress_type)

    def __repr__(self) -> str:
        return (f"ZipRecord(name={self.name!r}, header_offset={self.header_offset}, "
                f"compressed_size={self.compressed_size}, size={self.size}, "
                f"compress_type={self.compress_type})")


class ZipArchive:
    """Records of a zip archive occupying ``[base_offset, base_offset + length)`` of ``path``."""

    def __init__(self, path: str, base_offset: int = 0, length: int | None = None) -> None:
        self.path = path
        self.base = base_offset
        self.warnings: list[str] = []
        self._fd = os.open(path, os.O_RDONLY)
        try:
            file_size = os.fstat(self._fd).st_size
            self.end = file_size if length is None else min(file_size, base_offset + length)
            if length is not None and base_offset + length > file_size:
                raise CheckpointError(f"{path}: is truncated: the archive at byte {base_offset} runs past the end")
            self._records = self._read_central_directory()
            self._data_offsets: dict[str, int] = {}
        except BaseException:
            os.close(self._fd)
            raise

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> ZipArchive:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def names(self) -> list[str]:
        return list(self._records)

    def record(self, name: str) -> tuple[int, int, int]:
        """(data offset in the file, compressed size, compress type) of one record."""
        entry = self._records[name]
        offset = self._data_offsets.get(name)
        if offset is None:
            offset = self._data_offsets[name] = self._local_data_offset(entry)
        return offset, entry.compressed_size, entry.compress_type

    def size(self, name: str) -> int:
        return self._records[name].size

    def locate(self, name: str) -> tuple[int, int, int]:
        """(absolute local header offset, compressed size, compress type), reading nothing.

        A record that cannot fit even with an empty local extra field is truncated now;
        the rest of the local header is checked by ``local_data_offset`` when it is read.
        """
        entry = self._records[name]
        start = self.base + entry.header_offset
        if start + LOCAL.size + entry.name_length + entry.compressed_size > self.end:
            raise CheckpointError(f"{self.path}: is truncated: record {entry.name} runs past the end")
        return start, entry.compressed_size, entry.compress_type

    def read(self, name: str, max_bytes: int) -> bytes:
        """The record's bytes, inflated if needed; refuses records above ``max_bytes``."""
        offset, stored_size, compress_type = self.record(name)
        if compress_type == STORED:
            if stored_size > max_bytes:
                raise CheckpointError(f"{self.path}: record {name} is {stored_size} bytes, above the {max_bytes} byte limit")
            return self._pread(offset, stored_size)
        if compress_type == DEFLATED:
            return self._inflate(name, offset, stored_size, max_bytes)
        raise CheckpointError(f"{self.path}: record {name} uses unsupported zip compression {compress_type}")

    # --- reading helpers -----------------------------------------------------------------

    def _pread(self, offset: int, size: int) -> bytes:
        if offset < self.base or size < 0 or offset + size > self.end:
            raise CheckpointError(f"{self.path}: is truncated: a record needs bytes past its end")
        data = os.pread(self._fd, size, offset)
        if len(data) != size:
            raise CheckpointError(f"{self.path}: is truncated: short read at byte {offset}")
        return data

    def _inflate(self, name: str, offset: int, stored_size: int, max_bytes: int) -> bytes:
        import zlib  # torch writes records stored: most archives never need it

        max_bytes = min(max_bytes, MAX_INFLATED)
        try:
            return self._inflate_capped(name, offset, stored_size, max_bytes)
        except zlib.error:
            raise CheckpointError(f"{self.path}: record {name} is damaged: its compressed data is invalid") from None

    def _inflate_capped(self, name: str, offset: int, stored_size: int, max_bytes: int) -> bytes:
        import zlib

        inflater = zlib.decompressobj(-15)
        out = bytearray()
        position, end = offset, offset + stored_size
        while position < end:
            chunk = self._pread(position, min(1 << 20, end - position))
            position += len(chunk)
            out += inflater.decompress(chunk, max_bytes + 1 - len(out))
            if len(out) > max_bytes or inflater.unconsumed_tail:
                raise CheckpointError(f"{self.path}: record {name} inflates beyond the {max_bytes} byte limit (zip bomb?)")
        return bytes(out)

    def _local_data_offset(self, entry: ZipRecord) -> int:
        start = self.base + entry.header_offset
        local_name, data_offset = _read_local_header(self._fd, self.path, start, entry.name,
                                                     entry.compressed_size, self.end)
        if local_name != entry.name.encode("utf-8"):
            shown = local_name.decode("utf-8", "replace")
            self.warnings.append(f"zip record {entry.name!r} is named {shown!r} in its local header")
        return data_offset

    # --- central directory ---------------------------------------------------------------

    def _read_central_directory(self) -> dict[str, ZipRecord]:
        directory = read_directory(self._fd, self.path, self.end, self.base)
        self.warnings.extend(directory.warnings)
        return directory.records


class ZipDirectory:
    """What a zip's central directory lists: records by name (the first of duplicates), where
    the archive starts in the file, and anomalies worth a warning."""

    __slots__ = ("records", "archive_start", "warnings")

    def __init__(self, records: dict[str, ZipRecord], archive_start: int, warnings: list[str]) -> None:
        self.records = records
        self.archive_start = archive_start
        self.warnings = warnings


def read_directory(fd: int, path: str, end: int, start: int | None = None) -> ZipDirectory:
    """The central directory of the zip archive that ends at byte ``end`` of ``fd``.

    ``start`` is where the archive begins when the caller knows it (an archive embedded in a
    bigger file); None infers it from the end records: offsets in a zip count from the
    archive's start, and one that starts later than byte 0 sits behind other data (for
    example the last of several zips back to back). The one parser of zip directories here.

    The last directory read is kept: telling the format (``sniff``) and then reading the
    archive parse it once. It is keyed by the file's identity, size and modification time.
    """
    global _last_directory
    info = os.fstat(fd)
    key = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, end)
    if _last_directory is not None and _last_directory[0] == key \
            and start in (None, _last_directory[1].archive_start):
        return _last_directory[1]
    directory = _parse_directory(fd, path, end, start)
    _last_directory = (key, directory)
    return directory


_last_directory: tuple[tuple, ZipDirectory] | None = None


def _parse_directory(fd: int, path: str, end: int, start: int | None) -> ZipDirectory:
    floor = 0 if start is None else start
    eocd_position, count, cd_size, cd_offset, has_locator = _end_record(fd, path, floor, end)
    directory_end = eocd_position
    # With the start unknown, the directory's position is counted back from the last end
    # record, so a zip64 one must be used whenever it is there.
    if 0xFFFF == count or 0xFFFFFFFF in (cd_size, cd_offset) or (start is None and has_locator):
        directory_end, count, cd_size, cd_offset = _zip64_end(fd, path, eocd_position, start, end)
    if count > MAX_ENTRIES or cd_size > MAX_CENTRAL_BYTES:
        raise CheckpointError(f"{path}: declares {count} zip records; that is not a checkpoint")
    if start is None:
        start = directory_end - cd_size - cd_offset
        if start < 0:
            raise CheckpointError(f"{path}: is a truncated or damaged zip archive (its directory lies out of range)")
    if start + cd_offset + cd_size > eocd_position + 1:
        raise CheckpointError(f"{path}: is truncated or damaged: the zip directory lies past its end")
    records, warnings = _parse_entries(path, _pread_exact(fd, path, start + cd_offset, cd_size), count)
    return ZipDirectory(records, start, warnings)


def _end_record(fd: int, path: str, floor: int, end: int) -> tuple[int, int, int, int, bool]:
    """(position, entry count, directory size, directory offset) of the end record, and
    whether a zip64 locator precedes it."""
    tail_start = max(floor, end - EOCD.size - MAX_COMMENT)
    tail = _pread_exact(fd, path, tail_start, end - tail_start)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + EOCD.size > len(tail):
        raise CheckpointError(f"{path}: is truncated or damaged: the zip end record is missing "
                              "(the download or copy may be incomplete)")
    _, _, _, _, count, cd_size, cd_offset, _ = EOCD.unpack_from(tail, at)
    has_locator = at >= ZIP64_LOCATOR.size and tail[at - ZIP64_LOCATOR.size:at - ZIP64_LOCATOR.size + 4] == b"PK\x06\x07"
    return tail_start + at, count, cd_size, cd_offset, has_locator


def _zip64_end(fd: int, path: str, eocd_position: int, start: int | None,
               end: int) -> tuple[int, int, int, int]:
    """(position, entry count, directory size, directory offset) of the zip64 end record.

    Its locator gives its offset from the archive's start; with the start unknown, the record
    is taken where writers put it, just before the locator."""
    locator_at = eocd_position - ZIP64_LOCATOR.size
    locator = os.pread(fd, ZIP64_LOCATOR.size, locator_at) if locator_at >= (start or 0) else b""
    if len(locator) != ZIP64_LOCATOR.size or locator[:4] != b"PK\x06\x07":
        raise CheckpointError(f"{path}: is damaged: its zip64 end record is missing")
    record_at = locator_at - ZIP64_EOCD.size if start is None else start + ZIP64_LOCATOR.unpack(locator)[2]
    if record_at < 0 or record_at + ZIP64_EOCD.size > end:
        raise CheckpointError(f"{path}: is damaged: bad zip64 end record")
    fields = ZIP64_EOCD.unpack(_pread_exact(fd, path, record_at, ZIP64_EOCD.size))
    if fields[0] != b"PK\x06\x06":
        raise CheckpointError(f"{path}: is damaged: bad zip64 end record")
    return record_at, fields[7], fields[8], fields[9]


def _parse_entries(path: str, directory: bytes, count: int) -> tuple[dict[str, ZipRecord], list[str]]:
    records: dict[str, ZipRecord] = {}
    warnings: list[str] = []
    position = 0
    for _ in range(count):
        if position + CENTRAL.size > len(directory):
            raise CheckpointError(f"{path}: is truncated or damaged: the zip directory is cut short")
        entry, position = _parse_entry(path, directory, position)
        if entry.name in records:
            warnings.append(f"zip record {entry.name!r} appears twice; the first is used")
            continue
        if entry.compress_type != STORED:
            warnings.append(f"zip record {entry.name!r} is compressed (torch writes records stored)")
        records[entry.name] = entry
    return records, warnings


def _pread_exact(fd: int, path: str, offset: int, size: int) -> bytes:
    data = os.pread(fd, size, offset)
    if len(data) != size:
        raise CheckpointError(f"{path}: is truncated: short read at byte {offset}")
    return data


def _parse_entry(path: str, directory: bytes, position: int) -> tuple[ZipRecord, int]:
    (signature, _, _, _, method, _, _, _, compressed, size, name_length, extra_length,
     comment_length, _, _, _, header_offset) = CENTRAL.unpack_from(directory, position)
    if signature != b"PK\x01\x02":
        raise CheckpointError(f"{path}: is damaged: bad zip directory entry signature")
    start = position + CENTRAL.size
    name = directory[start:start + name_length].decode("utf-8", "replace")
    if 0xFFFFFFFF in (size, compressed, header_offset):  # only then does a zip64 block matter
        extra = directory[start + name_length:start + name_length + extra_length]
        size, compressed, header_offset = _apply_zip64(extra, size, compressed, header_offset)
    end = start + name_length + extra_length + comment_length
    return ZipRecord(name, header_offset, compressed, size, method, name_length), end


def _apply_zip64(extra: bytes, size: int, compressed: int, header_offset: int) -> tuple[int, int, int]:
    """Replace 0xFFFFFFFF fields by their 64-bit values from the zip64 extra block."""
    position = 0
    while position + 4 <= len(extra):
        tag, length = struct.unpack_from("<HH", extra, position)
        body = extra[position + 4:position + 4 + length]
        position += 4 + length
        if tag != 0x0001:
            continue
        values = [v for (v,) in struct.iter_unpack("<Q", body[: len(body) // 8 * 8])]
        if size == 0xFFFFFFFF and values:
            size = values.pop(0)
        if compressed == 0xFFFFFFFF and values:
            compressed = values.pop(0)
        if header_offset == 0xFFFFFFFF and values:
            header_offset = values.pop(0)
    return size, compressed, header_offset


def _open_regular(path: str) -> int:
    try:  # O_NONBLOCK: a FIFO put in the file's place must not wait for a writer
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as error:
        raise CheckpointError(f"cannot open {path}: {error.strerror}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise CheckpointError(f"{path} is not a regular file")
    return fd


def local_data_offset(path: str, header_offset: int, name: str, size: int, end: int,
                      fd: int | None = None) -> int:
    """Data offset of the record ``name`` whose local header is at ``header_offset`` of ``path``
    (read through ``fd`` when the caller has the file open already: a regular file).

    ``end`` bounds the archive in the file. Unlike ``ZipArchive.record``, a local name that
    differs from the directory's is an error here: the caller is about to read values.
    """
    own = fd is None
    if own:
        fd = _open_regular(path)
    try:
        local_name, data_offset = _read_local_header(fd, path, header_offset, name, size, end)
    except OSError as error:
        raise CheckpointError(f"cannot read {path}: {error.strerror}") from None
    finally:
        if own:
            os.close(fd)
    if local_name != name.encode("utf-8"):
        shown = local_name.decode("utf-8", "replace")
        raise CheckpointError(f"{path}: is damaged: zip record {name!r} is named {shown!r} "
                              "in its local header")
    return data_offset


def _read_local_header(fd: int, path: str, start: int, name: str, size: int,
                       end: int) -> tuple[bytes, int]:
    """(name in the local header, data offset) of the record whose header is at ``start``."""
    if start + LOCAL.size > end:
        raise CheckpointError(f"{path}: is truncated or damaged: record {name} starts past the end")
    expected_length = len(name.encode("utf-8"))
    header = os.pread(fd, min(LOCAL.size + expected_length, end - start), start)
    if len(header) < LOCAL.size or header[:4] != b"PK\x03\x04":
        raise CheckpointError(f"{path}: is damaged: no local header for {name}")
    name_length, extra_length = struct.unpack_from("<2H", header, LOCAL.size - 4)
    local_name = header[LOCAL.size:LOCAL.size + name_length]
    if len(local_name) < name_length:
        if start + LOCAL.size + name_length > end:
            raise CheckpointError(f"{path}: is truncated: record {name} runs past the end")
        local_name = os.pread(fd, name_length, start + LOCAL.size)
        if len(local_name) != name_length:
            raise CheckpointError(f"{path}: is truncated: short read at byte {start}")
    data_offset = start + LOCAL.size + name_length + extra_length
    if data_offset + size > end:
        raise CheckpointError(f"{path}: is truncated: record {name} runs past the end")
    return local_name, data_offset
