"""The zip reader against Python's ``zipfile`` as the oracle, plus the anomalies it must survive."""

from __future__ import annotations

import os
import struct
import zipfile
import zlib

import pytest

from inspector.core.errors import CheckpointError
from inspector.core.zipreader import DEFLATED, STORED, ZipArchive

RECORDS = {"arch/data.pkl": b"\x80\x02}q\x00.", "arch/data/0": bytes(range(256)) * 4,
           "arch/byteorder": b"little", "arch/data/1": b"", "arch/version": b"3\n"}


def _write(path, records=RECORDS, compression=zipfile.ZIP_STORED) -> str:
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in records.items():
            archive.writestr(name, data)
    return str(path)


def _oracle_offsets(path: str) -> dict[str, int]:
    with zipfile.ZipFile(path) as archive, open(path, "rb") as handle:
        offsets = {}
        for info in archive.infolist():
            handle.seek(info.header_offset + 26)
            name_length, extra_length = struct.unpack("<HH", handle.read(4))
            offsets[info.filename] = info.header_offset + 30 + name_length + extra_length
        return offsets


def test_records_match_zipfile(tmp_path):
    path = _write(tmp_path / "a.zip")
    with ZipArchive(path) as archive:
        assert archive.names() == list(RECORDS)
        oracle = _oracle_offsets(path)
        for name, data in RECORDS.items():
            offset, size, compress_type = archive.record(name)
            assert (offset, size, compress_type) == (oracle[name], len(data), STORED)
            assert archive.read(name, 1 << 20) == data
        assert archive.warnings == []


def test_deflated_records_are_inflated_with_a_cap(tmp_path):
    path = _write(tmp_path / "d.zip", compression=zipfile.ZIP_DEFLATED)
    with ZipArchive(path) as archive:
        assert archive.record("arch/data/0")[2] == DEFLATED
        assert archive.read("arch/data/0", 1 << 20) == RECORDS["arch/data/0"]
        assert any("compressed" in warning for warning in archive.warnings)
        with pytest.raises(CheckpointError, match="zip bomb"):
            archive.read("arch/data/0", 100)


def test_zip_bomb_stops_at_the_cap(tmp_path):
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("arch/data.pkl", b"\x00" * (200 << 20))  # 200 MB of zeros: ~200 KB deflated
    with ZipArchive(str(path)) as archive:
        with pytest.raises(CheckpointError, match="inflates beyond"):
            archive.read("arch/data.pkl", 1 << 20)


def test_zip64_offsets_beyond_4_gb(tmp_path):
    path = tmp_path / "sparse64.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("arch/data.pkl", b"pickle")
        archive.start_dir = 5 << 30  # the next record lands 5 GB in (a sparse file, nothing written)
        archive.writestr("arch/data/0", b"far away bytes")
    with zipfile.ZipFile(path) as oracle:
        assert oracle.getinfo("arch/data/0").header_offset == 5 << 30
    with ZipArchive(str(path)) as archive:
        offset, size, _ = archive.record("arch/data/0")
        assert offset == _oracle_offsets(str(path))["arch/data/0"] and offset > 5 << 30
        assert archive.read("arch/data/0", 100) == b"far away bytes"


def test_embedded_archive_at_an_offset(tmp_path):
    inner = open(_write(tmp_path / "inner.zip"), "rb").read()
    outer = tmp_path / "outer.bin"
    outer.write_bytes(b"x" * 777 + inner + b"more data after it")
    with ZipArchive(str(outer), 777, len(inner)) as archive:
        assert archive.names() == list(RECORDS)
        assert archive.read("arch/data/0", 1 << 20) == RECORDS["arch/data/0"]
        assert archive.record("arch/data/0")[0] == _oracle_offsets(str(tmp_path / "inner.zip"))["arch/data/0"] + 777


def _patch(path: str, old: bytes, new: bytes, count: int = 1) -> None:
    data = open(path, "rb").read()
    assert data.count(old) >= count
    open(path, "wb").write(data.replace(old, new, count))


def test_local_name_mismatch_is_a_warning(tmp_path):
    path = _write(tmp_path / "m.zip")
    _patch(path, b"arch/version", b"arch/versioX")  # the local header comes first in the file
    with ZipArchive(path) as archive:
        assert archive.read("arch/version", 10) == b"3\n"
        assert any("arch/versioX" in warning for warning in archive.warnings)


def test_duplicate_names_keep_the_first(tmp_path):
    path = tmp_path / "dup.zip"
    with pytest.warns(UserWarning):
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("arch/data.pkl", b"first")
            archive.writestr("arch/data.pkl", b"second")
    with ZipArchive(str(path)) as archive:
        assert archive.read("arch/data.pkl", 10) == b"first"
        assert any("twice" in warning for warning in archive.warnings)


def test_crc_and_flag_bits_are_ignored(tmp_path):
    path = _write(tmp_path / "crc.zip")
    crc = struct.pack("<L", zlib.crc32(RECORDS["arch/data/0"]))
    _patch(path, crc, b"\xde\xad\xbe\xef", count=2)
    data = bytearray(open(path, "rb").read())
    data[6] |= 0x08  # data-descriptor flag on the first local header
    open(path, "wb").write(bytes(data))
    with ZipArchive(path) as archive:
        assert archive.read("arch/data/0", 1 << 20) == RECORDS["arch/data/0"]


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9, 0.99])
def test_truncated_archive(tmp_path, keep):
    path = _write(tmp_path / "t.zip")
    data = open(path, "rb").read()
    open(path, "wb").write(data[: int(len(data) * keep)])
    with pytest.raises(CheckpointError, match="truncated"):
        with ZipArchive(path) as archive:
            for name in archive.names():
                archive.read(name, 1 << 20)


def test_record_past_the_end_is_truncated(tmp_path):
    path = _write(tmp_path / "past.zip")
    size = struct.pack("<L", len(RECORDS["arch/data/0"]))
    _patch(path, size + size, struct.pack("<L", 1 << 30) * 2, count=2)  # both headers claim 1 GB
    with ZipArchive(path) as archive:
        with pytest.raises(CheckpointError, match="truncated"):
            archive.record("arch/data/0")


def test_not_a_zip(tmp_path):
    path = tmp_path / "plain.bin"
    path.write_bytes(os.urandom(1000))
    with pytest.raises(CheckpointError):
        ZipArchive(str(path))


def _directory(path: str, start: int | None = None):
    from inspector.core.zipreader import read_directory

    fd = os.open(path, os.O_RDONLY)
    try:
        return read_directory(fd, path, os.fstat(fd).st_size, start)
    finally:
        os.close(fd)


@pytest.mark.parametrize("force_zip64", [False, True])
def test_a_zip_behind_other_data_is_found_from_its_end(tmp_path, force_zip64):
    inner = tmp_path / "inner.zip"
    with zipfile.ZipFile(inner, "w") as archive:
        for name, data in RECORDS.items():
            with archive.open(name, "w", force_zip64=force_zip64) as record:
                record.write(data)
    prefix = os.urandom(1000)
    outer = tmp_path / "outer.bin"
    outer.write_bytes(prefix + inner.read_bytes())
    found = _directory(str(outer))
    assert found.archive_start == len(prefix) and list(found.records) == list(RECORDS)
    with ZipArchive(str(outer), len(prefix)) as archive:
        for name, data in RECORDS.items():
            assert archive.read(name, 1 << 20) == data
            assert archive.record(name)[0] == len(prefix) + _oracle_offsets(str(inner))[name]


def test_sniff_and_the_reader_parse_a_directory_once_but_see_a_changed_file(tmp_path):
    from inspector.core.sniff import sniff

    path = _write(tmp_path / "a.zip", {"arch/data.pkl": b"\x80\x02}q\x00.", "arch/version": b"3\n"})
    assert sniff(path) == "torch-zip"
    first = _directory(path)
    assert _directory(path, 0) is first  # the reader reuses what sniff parsed
    _write(tmp_path / "a.zip", {"arch/data.pkl": b"\x80\x02}q\x00.", "arch/version": b"3\n", "arch/extra": b"x"})
    os.utime(path, ns=(0, 0))  # a new modification time even on coarse clocks
    assert list(_directory(path).records) == ["arch/data.pkl", "arch/version", "arch/extra"]


def test_error_lines_name_the_full_path(tmp_path):
    path = tmp_path / "deep" / "folder" / "cut.pt"
    path.parent.mkdir(parents=True)
    data = open(_write(tmp_path / "whole.zip"), "rb").read()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError) as caught:
        ZipArchive(str(path))
    assert str(caught.value).startswith(f"{path}: ")
