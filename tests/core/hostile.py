"""Builders for hostile and reshaped checkpoint files used by the reader tests.

Payload classes reduce to calls that would create a marker file if a pickle were ever
loaded unsafely; the tests assert the marker never appears when the app reads them.
"""

from __future__ import annotations

import contextlib
import functools
import os
import pickle
import struct
import subprocess
import sys
import zipfile
from typing import Callable


# Audit events raised when code would start a process or run a string of source.
CODE_EVENTS = ("os.system", "os.exec", "os.posix_spawn", "os.spawn", "subprocess.Popen", "ctypes.dlopen")
_watchers: list[list[str]] = []


def _on_audit_event(event: str, args: tuple) -> None:
    if _watchers and (event.startswith(CODE_EVENTS) or (event == "exec" and _is_source_string(args))):
        for seen in _watchers:
            seen.append(event)


def _is_source_string(args: tuple) -> bool:
    filename = getattr(args[0], "co_filename", "<string>") if args else "<string>"
    return filename.startswith("<")


sys.addaudithook(_on_audit_event)


@contextlib.contextmanager
def watching_code():
    """Collects the audit events of code starting processes or running source strings (a
    payload's effects), synchronously: no waiting for a marker file to maybe appear."""
    seen: list[str] = []
    _watchers.append(seen)
    try:
        yield seen
    finally:
        _watchers.remove(seen)


class SystemPayload:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


class ExecPayload(SystemPayload):
    def __reduce__(self):
        return exec, (f"open({self.marker!r}, 'w').close()",)


class EvalPayload(SystemPayload):
    def __reduce__(self):
        return eval, (f"open({self.marker!r}, 'w').close()",)


class PopenPayload(SystemPayload):
    def __reduce__(self):
        return subprocess.Popen, (["touch", self.marker],)


class PartialPayload(SystemPayload):
    def __reduce__(self):
        inner = functools.partial(os.system, f"touch {self.marker}")
        return functools.partial(inner), ()


PAYLOADS = {
    "posix.system": SystemPayload,
    "builtins.exec": ExecPayload,
    "builtins.eval": EvalPayload,
    "subprocess.Popen": PopenPayload,
    "functools.partial": PartialPayload,
}


def build_sets_class(marker: str) -> bytes:
    """A pickle whose BUILDs try to set ``__class__`` (slot state) on an OrderedDict and a stub."""
    system = b"cposix\nsystem\n"
    text = f"touch {marker}".encode()
    command = b"X" + struct.pack("<I", len(text)) + text
    slot_state = b"N}X\x09\x00\x00\x00__class__" + system + b"s\x86"  # (None, {"__class__": system})
    return (b"\x80\x02}("
            b"X\x01\x00\x00\x00a" b"ccollections\nOrderedDict\n)R" + slot_state + b"b"
            b"X\x01\x00\x00\x00b" b"c__main__\nThing\n)\x81" + slot_state + b"b"
            b"X\x01\x00\x00\x00c" + system + command + b"\x85R"
            b"u.")


def length_bomb(opcode: bytes = b"\x8e", size: int = 1 << 40) -> bytes:
    """BINBYTES8 (or BYTEARRAY8 with opcode b"\\x96") declaring ``size`` bytes that are not there."""
    return b"\x80\x05" + opcode + struct.pack("<Q", size) + b"tiny" + b"."


def billion_laughs(levels: int = 30, width: int = 10) -> bytes:
    """Each level is a list of ``width`` references to the level below: width**levels leaves."""
    out = [b"\x80\x02X\x03\x00\x00\x00lolq\x00"]
    for level in range(1, levels + 1):
        previous = struct.pack("<I", level - 1)
        out.append(b"](" + (b"j" + previous) * width + b"e" + b"r" + struct.pack("<I", level))
    out.append(b".")
    return b"".join(out)


def deep_lists(depth: int = 200_000) -> bytes:
    return b"\x80\x02" + b"]" * depth + b"a" * (depth - 1) + b"."


def deep_objects(depth: int = 200_000) -> bytes:
    """X(X(X(...None...))) through REDUCE: inert objects nested ``depth`` levels."""
    return b"\x80\x02c__main__\nX\nq\x00" + b"h\x00" * depth + b"N" + b"\x85R" * (depth + 1) + b"."


def deep_dicts(depth: int = 200_000) -> bytes:
    return b"\x80\x02" + b"}X\x01\x00\x00\x00k" * depth + b"N" + b"s" * depth + b"."


def deep_tuple(depth: int = 200_000) -> bytes:
    """Opcodes pushing a tuple nested ``depth`` levels deep (no PROTO, no STOP)."""
    return b"K\x01" + b"\x85" * depth


def deep_tuple_hashed_by(kind: str, depth: int = 200_000) -> bytes:
    """Pickles that make a set / frozenset / mapping out of a deeply nested tuple."""
    deep = deep_tuple(depth)
    return {
        "set-call": b"\x80\x02c__builtin__\nset\n]" + deep + b"a\x85R.",
        "frozenset-call": b"\x80\x02c__builtin__\nfrozenset\n]" + deep + b"a\x85R.",
        "ordereddict-call": b"\x80\x02ccollections\nOrderedDict\n]" + deep + b"K\x00\x86a\x85R.",
        "frozenset-opcode": b"\x80\x04(" + deep + b"\x91.",
        "additems-opcode": b"\x80\x04\x8f(" + deep + b"\x90.",
        "dict-key": b"\x80\x02}" + deep + b"K\x00s.",
    }[kind]


def huge_long4(size: int = 10_000_000) -> bytes:
    return b"\x80\x02\x8b" + struct.pack("<i", size) + b"\x01" * size + b"."


def huge_text_int(digits: int = 1_000_000, opcode: bytes = b"L") -> bytes:
    return opcode + b"9" * digits + (b"L\n" if opcode == b"L" else b"\n") + b"."


def rewrite_zip(source: str, target: str, transform: Callable[[str, bytes], bytes | None],
                compression: int = zipfile.ZIP_STORED,
                name_map: Callable[[str], str] | None = None) -> None:
    """Copy a zip record by record; ``transform`` may change a record's bytes or drop it (None)."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", compression) as new:
        for info in old.infolist():
            data = transform(info.filename, old.read(info.filename))
            if data is not None:
                name = name_map(info.filename) if name_map else info.filename
                new.writestr(name, data, compress_type=compression)


def replace_data_pkl(source: str, target: str, pickle_bytes: bytes) -> None:
    rewrite_zip(source, target, lambda name, data: pickle_bytes if name.endswith("/data.pkl") else data)


def marker_would_be_created(pickle_bytes: bytes, marker: str) -> bool:
    """Proof that a fixture is really hostile: run it with the unsafe loader in a child process,
    which waits for any process the payload started before it exits."""
    script = ("import os, pickle, sys\npickle.loads(sys.stdin.buffer.read())\n"
              "while True:\n    try:\n        os.wait()\n    except ChildProcessError:\n        break\n")
    subprocess.run([sys.executable, "-c", script], input=pickle_bytes, capture_output=True, timeout=60)
    return os.path.exists(marker)


def pickled(obj: object, protocol: int = 2) -> bytes:
    return pickle.dumps(obj, protocol=protocol)
