"""Tell a checkpoint's format from its content (never its extension), or name the mistake.

``sniff`` stats the path before opening it (a FIFO open would block forever), reads a few
KB (plus a zip's central directory, bounded) and returns one of the format names in
``FORMATS``, or raises ``CheckpointError`` with one line saying what the file is instead.
"""

from __future__ import annotations

import os
import stat
import re
import struct

from inspector.core.errors import CheckpointError

FORMATS = ("torch-zip", "torchscript", "torch-legacy", "safetensors", "hf-sharded", "dcp", "pickle")

HEAD_BYTES = 4096
MIN_CHECKPOINT_BYTES = 16
LEGACY_MAGIC = bytes.fromhex("80028a0a6cfc9c46f9206aa85019")
MAX_SAFETENSORS_HEADER = 100 * 1024 * 1024
# protocol 0: MARK + dict/list/tuple item, or GLOBAL "module\nname\n"; protocol 1: EMPTY_DICT/LIST + memo
TEXT_PICKLE_START = rb"\((dp|lp|\(|[IFSVNLKJMGXUTc])|c[\w.]+\n[\w.]+\n|[}\]](q|r|\(|\.)"

# (magic at offset 0, what it is) for files people open by mistake.
KNOWN_OTHER_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"%PDF-", "a PDF document"),
    (b"\x1f\x8b", "a gzip archive (decompress it first)"),
    (b"BZh", "a bzip2 archive (decompress it first)"),
    (b"\xfd7zXZ\x00", "an xz archive (decompress it first)"),
    (b"\x28\xb5\x2f\xfd", "a zstd archive (decompress it first)"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive (extract it first)"),
    (b"\x93NUMPY", "a NumPy .npy array"),
    (b"GGUF", "a GGUF model (llama.cpp), not a PyTorch checkpoint"),
    (b"\x89HDF\r\n\x1a\n", "an HDF5 file (Keras .h5?)"),
    (b"\x7fELF", "an executable (ELF)"),
    (b"ONNX", "an ONNX model"),
)

# what checkpoint files are usually called: hints for the user and for opening folders, never for reading
CHECKPOINT_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt", ".safetensors", ".pkl", ".pickle", ".tar", ".jit", ".ts")

FILE_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def sniff(path: str) -> str:
    """The format name of the file or folder at ``path``; raises ``CheckpointError``."""
    info = _stat(path)
    if stat.S_ISDIR(info.st_mode):
        return _sniff_folder(path)
    for is_kind, kind in FILE_KINDS:
        if is_kind(info.st_mode):
            raise CheckpointError(f"{path}: is {kind}, not a regular file")
    if not stat.S_ISREG(info.st_mode):
        raise CheckpointError(f"{path}: is not a regular file")
    if info.st_size == 0:
        raise CheckpointError(f"{path}: is empty (0 bytes)")
    try:
        with _open_regular(path) as handle:
            return _sniff_content(path, handle, info.st_size)
    except OSError as error:
        raise CheckpointError(f"{path}: cannot be read ({error.strerror or error})") from None


def _stat(path: str) -> os.stat_result:
    try:
        return os.stat(path)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such file or folder") from None
    except PermissionError:
        raise CheckpointError(f"{path}: permission denied") from None
    except OSError as error:
        raise CheckpointError(f"{path}: cannot be opened ({error.strerror or error})") from None
    except ValueError as error:  # e.g. an embedded NUL character
        raise CheckpointError(f"{path}: is not a usable path ({error})") from None


def _open_regular(path: str):
    """Open without blocking and re-check the type: the path may have changed since stat."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as error:
        raise CheckpointError(f"{path}: cannot be opened ({error.strerror})") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise CheckpointError(f"{path}: is not a regular file")
    return os.fdopen(fd, "rb")


def _sniff_folder(path: str) -> str:
    try:
        names = os.listdir(path)
    except OSError as error:
        raise CheckpointError(f"{path}: cannot list the folder ({error.strerror})") from None
    if ".metadata" in names:
        return "dcp"
    if any(name.endswith(".index.json") for name in names):
        return "hf-sharded"
    candidates = sorted(name for name in names if name.endswith(CHECKPOINT_SUFFIXES))
    hint = f" such as {', '.join(candidates[:3])}" if candidates else ""
    raise CheckpointError(
        f"{path}: is a folder with neither a *.index.json (sharded weights) nor a .metadata "
        f"(distributed checkpoint); open a checkpoint file inside it instead{hint}")


def _sniff_content(path: str, handle, size: int) -> str:
    head = handle.read(HEAD_BYTES)
    if head.startswith(b"PK\x03\x04"):
        return _sniff_zip(path, handle, size)
    if head.startswith(LEGACY_MAGIC):
        return "torch-legacy"
    if _is_binary_pickle(head):
        return "pickle"
    if _looks_like_safetensors(path, head, size):
        return "safetensors"
    _raise_for_known_other(path, head)
    if _is_text_pickle(handle, head, size):
        return "pickle"
    _raise_for_text(path, head)
    if size < MIN_CHECKPOINT_BYTES:
        raise CheckpointError(f"{path}: is too small to be a checkpoint ({size} bytes)")
    raise CheckpointError(f"{path}: is not a recognised checkpoint format")


def _is_binary_pickle(head: bytes) -> bool:
    return len(head) >= 3 and head[0] == 0x80 and 2 <= head[1] <= 5


def _is_text_pickle(handle, head: bytes, size: int) -> bool:
    """Protocol 0/1 pickles start with a container/global opcode and end with STOP."""
    if size < 2 or not re.match(TEXT_PICKLE_START, head):  # compiled only when needed
        return False
    handle.seek(size - 1)
    return handle.read(1) == b"."


def _looks_like_safetensors(path: str, head: bytes, size: int) -> bool:
    if len(head) < 9 or head[8:9] != b"{":
        return False
    (header_length,) = struct.unpack_from("<Q", head)
    if header_length > MAX_SAFETENSORS_HEADER:
        raise CheckpointError(
            f"{path}: safetensors header length {header_length} bytes exceeds the "
            f"{MAX_SAFETENSORS_HEADER // (1024 * 1024)} MB limit (corrupt or hostile file)")
    if header_length + 8 > size:
        raise CheckpointError(
            f"{path}: safetensors header ({header_length} bytes) runs past the end of the "
            f"{size}-byte file (truncated download?)")
    return True


def _raise_for_known_other(path: str, head: bytes) -> None:
    for magic, what in KNOWN_OTHER_MAGIC:
        if head.startswith(magic):
            raise CheckpointError(f"{path}: is {what}, not a checkpoint")
    if len(head) > 262 and head[257:262] == b"ustar":
        raise CheckpointError(f"{path}: is a tar archive (extract it first), not a checkpoint")


def _raise_for_text(path: str, head: bytes) -> None:
    text = _as_text(head)
    if text is None:
        return
    stripped = text.lstrip("\ufeff \t\r\n").lower()
    if stripped.startswith("version https://git-lfs"):
        raise CheckpointError(
            f"{path}: is a Git LFS pointer, not the weights; run `git lfs pull` to fetch them")
    if stripped.startswith(("<!doctype html", "<html", "<head", "<?xml")) or "<html" in stripped[:1024]:
        raise CheckpointError(f"{path}: is an HTML page (a download error page?), not a checkpoint")
    if stripped.startswith(("{", "[")):
        hint = " (open the folder that holds it)" if path.endswith(".index.json") else ""
        raise CheckpointError(f"{path}: is a JSON text file, not a checkpoint{hint}")
    raise CheckpointError(f"{path}: is a text file, not a checkpoint")


def _as_text(head: bytes) -> str | None:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < len(head) - 4:  # a cut multi-byte character at the end is fine
            return None
        text = head[: error.start].decode("utf-8")
    printable = sum(ch.isprintable() or ch in "\t\r\n" for ch in text)
    return text if text and printable >= 0.95 * len(text) else None


def _sniff_zip(path: str, handle, size: int) -> str:
    names, archive_start = _zip_names(path, handle, size)
    if archive_start > 0 and _first_entry_name(handle).endswith("/data.pkl"):
        raise CheckpointError(
            f"{path}: looks like one shard of a distributed checkpoint (torch.save zips back to "
            "back); open the folder that holds it and its .metadata instead")
    prefixes = {name[: -len("/data.pkl")] for name in names if name.endswith("/data.pkl")}
    prefixes = {prefix for prefix in prefixes if "/" not in prefix}
    for prefix in sorted(prefixes):
        has_code = any(name.startswith(prefix + "/code/") for name in names)
        if has_code and prefix + "/constants.pkl" in names:
            return "torchscript"
    if prefixes:
        return "torch-zip"
    if names and all(name.endswith(".npy") for name in names):
        raise CheckpointError(f"{path}: is a NumPy .npz archive, not a checkpoint")
    raise CheckpointError(f"{path}: is a zip archive without a data.pkl entry, not a torch.save file")


def _first_entry_name(handle) -> str:
    handle.seek(0)
    header = handle.read(30)
    if len(header) < 30:
        return ""
    (name_length,) = struct.unpack_from("<H", header, 26)
    return handle.read(name_length).decode("utf-8", "replace")


def _zip_names(path: str, handle, size: int) -> tuple[set[str], int]:
    """Entry names from the central directory, and where the archive starts."""
    from inspector.core.zipreader import read_directory

    directory = read_directory(handle.fileno(), path, size)
    return set(directory.records), directory.archive_start
