"""Mutations of checkpoint bytes: generic damage, pickle opcodes, zip structures, safetensors
headers and sharded folders. Every mutation is drawn from a ``random.Random``: a case is
reproduced from its seed number alone."""

from __future__ import annotations

import io
import json
import os
import pickletools
import random
import shutil
import struct
import warnings
import zipfile

from tests.fuzz.seeds import Seed

INTERESTING_8 = (0, 1, 0x7F, 0x80, 0xFF)
INTERESTING_INTS = (0, 1, -1, 2**31 - 1, 2**31, 2**32 - 1, 2**62, 2**63 - 1, -2**63, 2**64, 10**30)
OPCODES = sorted({op.code.encode("latin-1") for op in pickletools.opcodes})
HOSTILE_SNIPPETS = (b"R", b"b", b"\x81", b"\x93", b"cposix\nsystem\n", b"cbuiltins\nexec\n", b"(", b"t",
                    b"0", b"2", b"h\x00", b"h\xff", b"N", b"}", b"]", b"\x85", b"s", b"u", b"a", b"e",
                    b"\x8e" + struct.pack("<Q", 1 << 40), b"X\xff\xff\xff\x7f", b"Q", b"\x95" + b"\xff" * 8)


def generic(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """Bit flips, interesting bytes, truncation, deleted/duplicated/inserted spans."""
    if not data:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 16))), "random bytes"
    buffer = bytearray(data)
    how = rng.choice(("flip", "bytes", "truncate", "delete", "duplicate", "insert", "zero"))
    at = rng.randrange(len(buffer))
    span = max(1, min(len(buffer) - at, rng.choice((1, 2, 4, 8, 64, 512))))
    if how == "flip":
        for _ in range(rng.randrange(1, 9)):
            position = rng.randrange(len(buffer))
            buffer[position] ^= 1 << rng.randrange(8)
    elif how == "bytes":
        for _ in range(rng.randrange(1, 5)):
            buffer[rng.randrange(len(buffer))] = rng.choice(INTERESTING_8)
    elif how == "truncate":
        del buffer[at:]
    elif how == "delete":
        del buffer[at:at + span]
    elif how == "duplicate":
        buffer[at:at] = buffer[at:at + span]
    elif how == "insert":
        buffer[at:at] = bytes(rng.randrange(256) for _ in range(span))
    else:
        buffer[at:at + span] = bytes(span)
    return bytes(buffer), f"{how} at {at}"


def pickle_ops(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """Opcode-aware damage: replaced, deleted, duplicated or inserted opcodes, extreme ints."""
    try:
        ops = [(op, arg, pos) for op, arg, pos in pickletools.genops(data)]
    except Exception:
        return generic(data, rng)
    starts = [pos for _, _, pos in ops] + [len(data)]
    index = rng.randrange(len(ops))
    op, arg, pos = ops[index]
    end = starts[index + 1]
    how = rng.choice(("replace", "delete", "duplicate", "insert", "int", "length"))
    if how == "replace":
        piece = rng.choice(OPCODES) + data[pos + 1:end]
    elif how == "delete":
        piece = b""
    elif how == "duplicate":
        piece = data[pos:end] * 2
    elif how == "insert":
        piece = rng.choice(HOSTILE_SNIPPETS) + data[pos:end]
    elif how == "int" and isinstance(arg, int) and not isinstance(arg, bool):
        piece = _encoded_int(rng.choice(INTERESTING_INTS))
    elif how == "length" and op.name in ("BINUNICODE", "BINBYTES", "SHORT_BINUNICODE", "SHORT_BINBYTES",
                                         "SHORT_BINSTRING", "BINSTRING"):
        width = 1 if op.name.startswith("SHORT") else 4
        length = rng.choice((0, 1, 255, 2**31 - 1, 2**32 - 1)) & ((1 << (8 * width)) - 1)
        piece = data[pos:pos + 1] + length.to_bytes(width, "little") + data[pos + 1 + width:end]
    else:
        return generic(data, rng)
    return data[:pos] + piece + data[end:], f"pickle {how} {op.name} at {pos}"


GEOMETRY_INTS = (0, 0, 1, 2, 3, 255, 2**31, 2**32 + 1, 2**40, 2**62, 2**63 - 1, 2**63, 2**64 + 7, 10**400)


def pickle_ints(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """Rewrite a few integer arguments (sizes, strides, offsets, element counts) to edge values."""
    try:
        ints = [(pos, op) for op, arg, pos in pickletools.genops(data)
                if op.name in ("BININT", "BININT1", "BININT2", "LONG1")]
    except Exception:
        return generic(data, rng)
    if not ints:
        return generic(data, rng)
    chosen = sorted(rng.sample(ints, min(len(ints), rng.randrange(1, 4))), reverse=True)
    values = []
    for pos, op in chosen:  # from the end, so earlier positions stay valid
        width = {"BININT": 4, "BININT1": 1, "BININT2": 2}.get(op.name) or data[pos + 1] + 1
        value = rng.choice(GEOMETRY_INTS)
        data = data[:pos] + _encoded_int(value) + data[pos + 1 + width:]
        values.append(value if value < 2**70 else f"2**{value.bit_length()}")
    return data, f"ints -> {values}"


def _encoded_int(value: int) -> bytes:
    if 0 <= value < 256:
        return b"K" + bytes([value])
    if -2**31 <= value < 2**31:
        return b"J" + struct.pack("<i", value)
    raw = value.to_bytes((value.bit_length() + 8) // 8, "little", signed=True)
    return b"\x8a" + bytes([len(raw)]) + raw


# (signature, {field offset: width}) of the zip records a reader parses
ZIP_RECORDS = {
    b"PK\x03\x04": {6: 2, 8: 2, 14: 4, 18: 4, 22: 4, 26: 2, 28: 2},
    b"PK\x01\x02": {8: 2, 10: 2, 16: 4, 20: 4, 24: 4, 28: 2, 30: 2, 32: 2, 34: 2, 42: 4},
    b"PK\x05\x06": {4: 2, 6: 2, 8: 2, 10: 2, 12: 4, 16: 4, 20: 2},
    b"PK\x06\x06": {4: 8, 24: 8, 32: 8, 40: 8, 48: 8},
    b"PK\x06\x07": {4: 4, 8: 8, 16: 4},
}


def zip_fields(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """One integer field of a local header, central directory entry or end record."""
    found = [(position, signature) for signature in ZIP_RECORDS
             for position in _all_positions(data, signature)]
    if not found:
        return generic(data, rng)
    position, signature = rng.choice(found)
    offset, width = rng.choice(list(ZIP_RECORDS[signature].items()))
    if position + offset + width > len(data):
        return generic(data, rng)
    old = int.from_bytes(data[position + offset:position + offset + width], "little")
    limit = (1 << (8 * width)) - 1
    value = rng.choice((0, 1, limit, limit - 1, old + 1, old - 1, old * 2, rng.randrange(limit + 1))) & limit
    patched = data[:position + offset] + value.to_bytes(width, "little") + data[position + offset + width:]
    return patched, f"zip field {signature[2:]!r}+{offset} {old}->{value}"


def _all_positions(data: bytes, needle: bytes) -> list[int]:
    positions, start = [], data.find(needle)
    while start >= 0 and len(positions) < 10_000:
        positions.append(start)
        start = data.find(needle, start + 1)
    return positions


def zip_entries(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """Rebuild the archive with one entry changed: its pickle, bytes, name, or a duplicate."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = [(info.filename, archive.read(info.filename)) for info in archive.infolist()]
    except Exception:
        return generic(data, rng)
    if not entries:
        return generic(data, rng)
    index = rng.randrange(len(entries))
    name, content = entries[index]
    how = rng.choice(("content", "content", "geometry", "geometry", "big-endian", "rename", "duplicate",
                      "drop", "deflate"))
    compression = zipfile.ZIP_STORED
    if how == "content":
        mutate = pickle_ops if name.endswith(".pkl") else generic
        content, detail = mutate(content, rng)
        entries[index] = (name, content)
        how = f"content of {name}: {detail}"
    elif how in ("geometry", "big-endian"):
        return _rebuilt_with_pickle_or_order(entries, how, rng)
    elif how == "rename":
        entries[index] = (rng.choice(("../evil", entries[0][0], name + "/", "x/" * 40, "a" * 300)), content)
    elif how == "duplicate":
        entries.insert(index, (name, content[: len(content) // 2]))
    elif how == "drop":
        del entries[index]
    else:
        compression = zipfile.ZIP_DEFLATED
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Duplicate name"
        for entry_name, entry_data in entries:
            archive.writestr(entry_name, entry_data)
    return out.getvalue(), f"zip entry {how}"


def _rebuilt_with_pickle_or_order(entries: list[tuple[str, bytes]], how: str,
                                  rng: random.Random) -> tuple[bytes, str]:
    """Integers of data.pkl changed, or the archive declared big-endian (its records unchanged)."""
    detail = how
    for index, (name, content) in enumerate(entries):
        if how == "geometry" and name.endswith("data.pkl"):
            content, detail = pickle_ints(content, rng)
        elif how == "big-endian" and name.endswith("/byteorder"):
            content = b"big"
        entries[index] = (name, content)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, content in entries:
            archive.writestr(name, content)
    return out.getvalue(), f"zip {detail}"


def safetensors_header(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """The JSON header: dtypes, shapes, offsets, metadata, duplicate keys, its length field."""
    if len(data) < 8:
        return generic(data, rng)
    length = struct.unpack("<Q", data[:8])[0]
    try:
        header = json.loads(data[8:8 + length])
    except Exception:
        return generic(data, rng)
    rest = data[8 + length:]
    keys = [key for key in header if key != "__metadata__"]
    how = rng.choice(("dtype", "shape", "offsets", "metadata", "duplicate", "length", "text"))
    if how == "length":
        value = rng.choice((0, 1, length - 1, length + 1, 2**63, 2**64 - 1, 100_000_001))
        return struct.pack("<Q", value) + data[8:], f"header length {length}->{value}"
    if how == "text" or not keys:
        text, detail = generic(data[8:8 + length], rng)
        return struct.pack("<Q", len(text)) + text + rest, f"header text {detail}"
    entry = header[rng.choice(keys)]
    if how == "dtype":
        entry["dtype"] = rng.choice(("F32", "BF16", "F8_E4M3", "BOOL", "I64", "C64", "F4", "XX", 5, None))
    elif how == "shape":
        entry["shape"] = rng.choice(([2**62, 2**62], [-1], [], [0, 2**62], [10**30], "3", [1.5], [1] * 100))
    elif how == "offsets":
        end = entry["data_offsets"][1]
        entry["data_offsets"] = rng.choice(([end, 0], [0, 2**64], [0, end + 1], [-1, end], [0], "x"))
    elif how == "metadata":
        header["__metadata__"] = rng.choice(({"a": 1}, [1], "x", {"format": None}))
    text = json.dumps(header).encode()
    if how == "duplicate":
        text = text[:-1] + b", " + json.dumps(keys[0]).encode() + b": " + json.dumps(header[keys[0]]).encode() + b"}"
    return struct.pack("<Q", len(text)) + text + rest, f"safetensors {how}"


MUTATORS = {
    "zip": (generic, zip_fields, zip_entries, zip_entries),
    "legacy": (generic, pickle_ops, pickle_ops, pickle_ints),
    "pickle": (generic, pickle_ops, pickle_ops, pickle_ints),
    "safetensors": (generic, safetensors_header, safetensors_header),
}


def mutate_file(source: str, target: str, kind: str, rng: random.Random) -> str:
    with open(source, "rb") as file:
        data = file.read()
    mutator = rng.choice(MUTATORS[kind])
    data, detail = mutator(data, rng)
    with open(target, "wb") as file:
        file.write(data)
    return f"{mutator.__name__}: {detail}"


def mutate_folder(seed: Seed, target: str, rng: random.Random) -> str:
    """Copy the folder, then damage one file in it (or swap it for a link to /dev/zero)."""
    shutil.copytree(seed.path, target, symlinks=True)
    names = sorted(name for name in os.listdir(target) if os.path.isfile(os.path.join(target, name)))
    name = rng.choice(names)
    path = os.path.join(target, name)
    if rng.random() < 0.05:
        os.remove(path)
        os.symlink("/dev/zero", path)
        return f"{name} -> /dev/zero"
    if rng.random() < 0.1 and not name.endswith(".json"):
        stranger = rng.choice(sorted(os.listdir(os.path.dirname(seed.path))))
        stranger_path = os.path.join(os.path.dirname(seed.path), stranger)
        if os.path.isfile(stranger_path):
            shutil.copy(stranger_path, path)
            return f"{name} replaced by the seed {stranger}"
    if name.endswith(".json"):
        return f"{name}: " + _mutate_json_file(path, rng)
    kind = {".safetensors": "safetensors", ".distcp": "zip"}.get(os.path.splitext(name)[1], "pickle")
    return f"{name}: " + mutate_file(path, path, kind, rng)


def _mutate_json_file(path: str, rng: random.Random) -> str:
    with open(path) as file:
        index = json.load(file)
    weight_map = index.get("weight_map", {})
    how = rng.choice(("traversal", "type", "missing", "text"))
    if how == "text" or not weight_map:
        with open(path, "rb") as file:
            data, detail = generic(file.read(), rng)
        with open(path, "wb") as file:
            file.write(data)
        return detail
    key = rng.choice(sorted(weight_map))
    weight_map[key] = {"traversal": "../../../etc/passwd", "type": 5, "missing": "nowhere.safetensors"}[how]
    with open(path, "w") as file:
        json.dump(index, file)
    return how


def make_case(seed: Seed, folder: str, number: int, rng: random.Random) -> tuple[str, str]:
    """Write case ``number`` (a damaged copy of ``seed``) into ``folder``: (path, what was done)."""
    base = f"case{number:06d}-{seed.name}"
    target = os.path.join(folder, base)
    if os.path.isdir(seed.path):
        return target, mutate_folder(seed, target, rng)
    return target, mutate_file(seed.path, target, seed.kind, rng)
