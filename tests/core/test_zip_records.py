"""The stored-zip writer read back by Python's zipfile and by our own reader: CRCs, 64-byte
aligned data, and zip64 fields for offsets and records past 4 GiB (sparse files: no disk)."""

from __future__ import annotations

import errno
import os
import zipfile
import zlib

import pytest

from inspector.core.errors import CheckpointError
from inspector.core.writers.sink import OutputSink
from inspector.core.writers.zip_records import ALIGNMENT, StoredZipWriter
from inspector.core.zipreader import ZipArchive

RECORDS = {"a/data.pkl": b"pickle bytes", "a/data/0": bytes(range(256)) * 3, "a/empty": b"",
           "a/byteorder": b"little"}
BEYOND_4_GIB = (1 << 32) + 12345


def write_archive(path: str, records: dict[str, bytes], lead: int = 0, hole_record: int = 0) -> None:
    """``records`` after ``lead`` bytes of hole; ``hole_record`` > 0 adds a record of that many
    zero bytes (a hole, so nothing is written)."""
    with open(path, "wb") as file:
        file.seek(lead)
        sink = OutputSink(file.fileno())
        archive = StoredZipWriter(sink)
        for name, data in records.items():
            archive.write_small(name, data)
        if hole_record:
            archive.begin("a/huge", hole_record)
            os.lseek(file.fileno(), hole_record, os.SEEK_CUR)
            sink.position += hole_record
            archive.end(0)
            archive.write_small("a/after", b"tail")
        archive.close()


def data_offset(raw_header: bytes, header_offset: int) -> int:
    name_length = int.from_bytes(raw_header[26:28], "little")
    extra_length = int.from_bytes(raw_header[28:30], "little")
    return header_offset + 30 + name_length + extra_length


def test_records_read_back_aligned_with_their_crcs(tmp_path):
    path = str(tmp_path / "small.zip")
    write_archive(path, RECORDS)
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        assert {name: archive.read(name) for name in archive.namelist()} == RECORDS
        with open(path, "rb") as file:
            for info in archive.infolist():
                file.seek(info.header_offset)
                assert data_offset(file.read(30), info.header_offset) % ALIGNMENT == 0
    ours = ZipArchive(path)
    for name, data in RECORDS.items():
        assert ours.read(name, 1 << 20) == data


def test_offsets_past_4_gib_use_zip64(tmp_path):
    path = str(tmp_path / "far.zip")
    write_archive(path, RECORDS, lead=BEYOND_4_GIB)
    with zipfile.ZipFile(path) as archive:
        assert all(info.header_offset >= BEYOND_4_GIB for info in archive.infolist())
        assert {name: archive.read(name) for name in archive.namelist()} == RECORDS
    assert ZipArchive(path).read("a/data/0", 1 << 20) == RECORDS["a/data/0"]


def test_a_record_past_4_gib_uses_zip64(tmp_path):
    path = str(tmp_path / "huge.zip")
    write_archive(path, {"a/data.pkl": b"x"}, hole_record=BEYOND_4_GIB)
    with zipfile.ZipFile(path) as archive:
        assert archive.getinfo("a/huge").file_size == BEYOND_4_GIB
        assert archive.read("a/after") == b"tail"
        assert archive.getinfo("a/after").header_offset > BEYOND_4_GIB
    assert ZipArchive(path).read("a/after", 16) == b"tail"


def test_a_record_must_get_the_bytes_it_announced(tmp_path):
    with open(tmp_path / "short.zip", "wb") as file:
        archive = StoredZipWriter(OutputSink(file.fileno()))
        archive.begin("a/data/0", 10)
        archive.sink.write(b"12345")
        with pytest.raises(ValueError, match="5 bytes written, 10 announced"):
            archive.end(zlib.crc32(b"12345"))


@pytest.mark.parametrize("kernel", [True, False])
def test_sink_copies_with_or_without_the_kernel(tmp_path, monkeypatch, kernel):
    source = tmp_path / "source.bin"
    source.write_bytes(os.urandom(1 << 20))
    if not kernel:
        def refuse(*args):
            raise OSError(errno.EXDEV, "cross-device")
        monkeypatch.setattr(os, "copy_file_range", refuse)
    fd = os.open(source, os.O_RDONLY)
    try:
        with open(tmp_path / "out.bin", "wb") as out:
            sink = OutputSink(out.fileno())
            sink.write(b"head")
            sink.copy(fd, 1000, 500_000)
            assert sink.position == 500_004
            with pytest.raises(CheckpointError, match="file ended"):
                sink.copy(fd, (1 << 20) - 10, 100)
    finally:
        os.close(fd)
    written = (tmp_path / "out.bin").read_bytes()
    assert written[:500_004] == b"head" + source.read_bytes()[1000:501_000]


def test_torch_reads_records_past_4_gib(tmp_path):
    """torch.save's layout with a 4 GiB record (a hole) before the tensor's: torch finds the
    records through the zip64 fields."""
    torch = pytest.importorskip("torch")
    from inspector.core.writers.torch_pickle import TensorRecord, state_dict_pickle

    values = torch.arange(12, dtype=torch.float32)
    record = TensorRecord("w", "float32", (3, 4), (4, 1), "0", 0, 12)
    path = str(tmp_path / "far.pt")
    with open(path, "wb") as file:
        sink = OutputSink(file.fileno())
        archive = StoredZipWriter(sink)
        archive.write_small("far/data.pkl", state_dict_pickle([record]))
        archive.write_small("far/byteorder", b"little")
        archive.begin("far/data/1", BEYOND_4_GIB)  # a storage no tensor uses, left as a hole
        os.lseek(file.fileno(), BEYOND_4_GIB, os.SEEK_CUR)
        sink.position += BEYOND_4_GIB
        archive.end(0)
        archive.write_small("far/data/0", values.numpy().tobytes())
        archive.write_small("far/version", b"3\n")
        archive.close()
    for mmap in (False, True):
        loaded = torch.load(path, weights_only=True, mmap=mmap)
        assert torch.equal(loaded["w"], values.reshape(3, 4))
