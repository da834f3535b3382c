"""safetensors reader against the safetensors library, plus header attacks."""

from __future__ import annotations

import json
import os
import struct

import pytest
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from inspector.core.dtypes import SAFETENSORS_DTYPE
from inspector.core.errors import CheckpointError
from inspector.core.formats import safetensors_file
from inspector.core.progress import run_job

DTYPES = [torch.float64, torch.float32, torch.float16, torch.bfloat16, torch.int64, torch.int32,
          torch.int16, torch.int8, torch.uint8, torch.bool, torch.uint16, torch.uint32,
          torch.uint64, torch.complex64, torch.float8_e4m3fn, torch.float8_e5m2,
          torch.float8_e8m0fnu]
# The library also writes F8_E4M3FNUZ / F8_E5M2FNUZ; covered once dtypes.py names them.
DTYPES += [getattr(torch, name) for code, name in (("F8_E4M3FNUZ", "float8_e4m3fnuz"),
                                                   ("F8_E5M2FNUZ", "float8_e5m2fnuz"))
           if code in SAFETENSORS_DTYPE]


def _sample(dtype: torch.dtype, shape: tuple[int, ...], seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    raw = torch.randint(0, 256, (torch.Size(shape).numel() * dtype.itemsize,),
                        dtype=torch.uint8, generator=generator)
    if dtype == torch.bool:
        return (raw % 2).bool().reshape(shape)
    return raw.view(dtype).reshape(shape)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    tensors = {f"layer.{index}.{str(dtype)[6:]}": _sample(dtype, (3, 5), index)
               for index, dtype in enumerate(DTYPES)}
    tensors["scalar"] = torch.tensor(2.5)
    tensors["empty"] = torch.zeros(4, 0)
    tensors["packed"] = _sample(torch.uint8, (2, 3), 99).view(torch.float4_e2m1fn_x2)
    path = str(tmp_path_factory.mktemp("st") / "model.safetensors")
    save_file(tensors, path, metadata={"format": "pt", "note": "hello"})
    return path, tensors


def test_matches_library(saved):
    path, tensors = saved
    checkpoint = run_job(safetensors_file.read(path))
    assert checkpoint.format == "safetensors"
    with safe_open(path, "pt") as library:
        assert list(checkpoint.root) == list(library.keys())
        assert checkpoint.metadata["safetensors_metadata"] == library.metadata()
    with open(path, "rb") as handle:
        data = handle.read()
    for key, ref in checkpoint.root.items():
        expected = tensors[key]
        assert ref.shape == tuple(expected.shape), key
        assert ref.dtype == str(expected.dtype).removeprefix("torch."), key
        assert ref.stride == expected.contiguous().stride(), key
        assert ref.role == "tensor" and ref.storage_offset == 0
        raw = expected.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()
        assert ref.storage.nbytes == len(raw) == ref.nbytes
        assert data[ref.storage.offset:ref.storage.offset + ref.storage.nbytes] == raw, key


def test_offsets_match_library_header(saved):
    path, _ = saved
    with open(path, "rb") as handle:
        length = struct.unpack("<Q", handle.read(8))[0]
        header = json.loads(handle.read(length))
    checkpoint = run_job(safetensors_file.read(path))
    for key, ref in checkpoint.root.items():
        begin, end = header[key]["data_offsets"]
        assert (ref.storage.offset, ref.storage.nbytes) == (8 + length + begin, end - begin)


def test_reading_does_not_import_numpy(saved):
    import subprocess
    import sys
    path, _ = saved
    code = ("import sys; from inspector.core.formats import safetensors_file as s; "
            "from inspector.core.progress import run_job; run_job(s.read(sys.argv[1])); "
            "assert 'numpy' not in sys.modules and 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code, path], check=True,
                   cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))


def _write(tmp_path, header, data=b"", *, raw_header: bytes | None = None,
           declared: int | None = None) -> str:
    blob = raw_header if raw_header is not None else json.dumps(header).encode()
    length = len(blob) if declared is None else declared
    path = tmp_path / "attack.safetensors"
    path.write_bytes(struct.pack("<Q", length) + blob + data)
    return str(path)


def _entry(dtype="F32", shape=(2,), offsets=(0, 8)):
    return {"dtype": dtype, "shape": list(shape), "data_offsets": list(offsets)}


ATTACKS = {
    "huge header": (dict(header={}, declared=1 << 40), "100 MB"),
    "header past eof": (dict(header={}, declared=5000), "past the end"),
    "not json": (dict(header=None, raw_header=b"{not json"), "not valid JSON"),
    "not utf8": (dict(header=None, raw_header=b'{"\xff": 1}'), "not valid JSON"),
    "not an object": (dict(header=None, raw_header=b"[1, 2]"), "start with"),
    "object later": (dict(header=None, raw_header=b' {"a": 1}'), "start with"),
    "duplicate keys": (dict(header=None, raw_header=(
        b'{"a": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}, '
        b'"a": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}}'), data=b"x"),
        "duplicate key 'a'"),
    "overlap": (dict(header={"a": _entry(offsets=(0, 8)), "b": _entry(offsets=(4, 12))},
                     data=b"\0" * 12), "overlaps"),
    "gap": (dict(header={"a": _entry(offsets=(0, 8)), "b": _entry(offsets=(12, 20))},
                 data=b"\0" * 20), "gap of 4 bytes"),
    "trailing bytes": (dict(header={"a": _entry()}, data=b"\0" * 12), "trailing"),
    "offsets past eof": (dict(header={"a": _entry(offsets=(0, 8))}, data=b"\0" * 4),
                         "past the end"),
    "shape vs bytes": (dict(header={"a": _entry(shape=(3,))}, data=b"\0" * 8), "12 bytes"),
    "negative shape": (dict(header={"a": _entry(shape=(-2, -1))}, data=b"\0" * 8), "negative"),
    "absurd shape": (dict(header={"a": _entry(shape=(0, 1 << 70))}, data=b""), "absurd size"),
    "absurd rank": (dict(header={"a": _entry(shape=(1,) * 100, offsets=(0, 4))},
                         data=b"\0" * 4), "absurd rank"),
    "float shape": (dict(header={"a": _entry(shape=(2.0,))}, data=b"\0" * 8), "integers"),
    "unknown dtype": (dict(header={"a": _entry(dtype="F128")}, data=b"\0" * 8),
                      "unknown dtype 'F128'"),
    "reversed offsets": (dict(header={"a": _entry(offsets=(8, 0))}, data=b"\0" * 8),
                         "invalid data_offsets"),
    "missing field": (dict(header={"a": {"dtype": "F32", "shape": [2]}}, data=b"\0" * 8),
                      "no 'data_offsets'"),
    "metadata not str": (dict(header={"__metadata__": {"epoch": 3}, "a": _entry()},
                              data=b"\0" * 8), "strings to strings"),
    "metadata not map": (dict(header={"__metadata__": ["x"], "a": _entry()}, data=b"\0" * 8),
                         "strings to strings"),
    "odd packed": (dict(header={"a": _entry(dtype="F4", shape=(3,), offsets=(0, 1))},
                        data=b"\0"), "even last dimension"),
}


@pytest.mark.parametrize("name", list(ATTACKS))
def test_header_attacks_give_clear_errors(tmp_path, name):
    kwargs, words = ATTACKS[name]
    path = _write(tmp_path, **kwargs)
    with pytest.raises(CheckpointError) as raised:
        run_job(safetensors_file.read(path))
    message = str(raised.value)
    assert words in message and "attack.safetensors" in message
    assert "\n" not in message


STRICTER_THAN_LIBRARY = {"duplicate keys", "absurd rank"}  # the library takes the last / any


def test_library_agrees_attacks_are_invalid(tmp_path):
    for name in sorted(set(ATTACKS) - STRICTER_THAN_LIBRARY):
        path = _write(tmp_path, **ATTACKS[name][0])
        with pytest.raises((SafetensorError, ValueError, OSError)):
            with safe_open(path, "pt") as library:
                [library.get_tensor(key) for key in library.keys()]


def test_tiny_and_special_files(tmp_path):
    short = tmp_path / "short.safetensors"
    short.write_bytes(b"\x02\0\0")
    with pytest.raises(CheckpointError, match="too short"):
        run_job(safetensors_file.read(str(short)))
    fifo = tmp_path / "pipe.safetensors"
    os.mkfifo(fifo)
    with pytest.raises(CheckpointError, match="not a regular file"):
        run_job(safetensors_file.read(str(fifo)))
    with pytest.raises(CheckpointError, match="not a regular file"):
        run_job(safetensors_file.read(str(tmp_path)))


def test_empty_file_with_no_tensors(tmp_path):
    path = _write(tmp_path, {"__metadata__": {"a": "b"}})
    checkpoint = run_job(safetensors_file.read(path))
    assert checkpoint.root == {}
    assert checkpoint.metadata["safetensors_metadata"] == {"a": "b"}
