"""Hugging Face sharded checkpoints: ``*.index.json`` plus the shard files it names.

The folder reads as ONE mapping ``{key: TensorRef}`` in the index's ``weight_map`` order;
tensors found in a shard but missing from the map follow, with a warning. Shards are
safetensors files or torch.save files (``pytorch_model-00001-of-00002.bin``).
Every shard path must stay inside the folder and be a regular file; nothing outside is opened.
"""

from __future__ import annotations

import os
import stat

from inspector.core.errors import CheckpointError
from inspector.core.formats import safetensors_file
from inspector.core.formats.safetensors_file import one_line, quoted
from inspector.core.model import Checkpoint, TensorRef
from inspector.core.progress import Job, Progress, sub_job

INDEX_SUFFIX = ".index.json"
MAX_INDEX_BYTES = 100 * 1024 * 1024
NAMES_IN_WARNING = 5
TORCH_ZIP_MAGIC = b"PK\x03\x04"
TORCH_LEGACY_MAGIC = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19"


def read(path: str) -> Job[Checkpoint]:
    """Read a sharded folder (or its index file) into a ``Checkpoint`` (format "hf-sharded")."""
    folder, index_name, warnings = find_index(path)
    index_path = member_path(folder, index_name, folder)
    index = _read_index(index_path, index_name)
    weight_map = _weight_map(index, index_name)
    shard_names = list(dict.fromkeys(weight_map.values()))
    shard_tensors: dict[str, dict[str, TensorRef]] = {}
    globals_seen: set[str] = set()
    for number, shard_name in enumerate(shard_names):
        message = f"Reading shard {one_line(shard_name)}"
        yield Progress(number * 1000 // len(shard_names), 1000, message)
        shard_path = member_path(folder, shard_name, index_name)
        shard = yield from sub_job(_read_shard(shard_path, shard_name), number / len(shard_names),
                                   (number + 0.99) / len(shard_names), message)
        shard_tensors[shard_name] = _tensors_of(shard, shard_name, warnings)
        globals_seen.update(shard.globals)
        warnings.extend(f"{one_line(shard_name)}: {warning}" for warning in shard.warnings)
    yield Progress(1000, 1000, "Merging shards")
    root = merge_shards(weight_map, shard_tensors, warnings)
    metadata = {"index_file": index_name, "shards": shard_names,
                "index_metadata": index.get("metadata")}
    return Checkpoint(path=path, format="hf-sharded", root=root,
                      globals=sorted(globals_seen), warnings=warnings, metadata=metadata)


def find_index(path: str) -> tuple[str, str, list[str]]:
    """The folder, the index file name to use, and warnings about the choice."""
    if not os.path.isdir(path):
        if not path.endswith(INDEX_SUFFIX):
            raise CheckpointError(f"{path}: not a folder or a *{INDEX_SUFFIX} file")
        return os.path.dirname(os.path.abspath(path)), os.path.basename(path), []
    try:
        names = sorted(name for name in os.listdir(path) if name.endswith(INDEX_SUFFIX))
    except OSError as error:
        raise CheckpointError(f"{path}: cannot list folder: {error.strerror}") from None
    if not names:
        raise CheckpointError(f"{path}: no *{INDEX_SUFFIX} file in this folder")
    preferred = [name for name in names if "safetensors" in name] or names
    chosen = preferred[0]
    warnings = []
    if len(names) > 1:
        others = ", ".join(name for name in names if name != chosen)
        warnings.append(f"several index files: using {chosen}, ignoring {others}")
    return path, chosen, warnings


def member_path(folder: str, relative: object, referrer: str) -> str:
    """Absolute path of ``relative`` inside ``folder``; refuses escapes and non-regular files.

    ``relative`` comes from untrusted metadata: absolute paths, ``..`` and symlinks that
    resolve outside the folder are errors, checked before anything is opened.
    """
    if not isinstance(relative, str) or not relative or "\0" in relative:
        raise CheckpointError(f"{referrer}: invalid file name {quoted(relative)}")
    parts = relative.replace("\\", "/").split("/")
    if os.path.isabs(relative) or relative.startswith(("/", "\\")) or ".." in parts:
        raise CheckpointError(f"{referrer}: file {quoted(relative)} points outside the folder")
    root = os.path.realpath(folder)
    target = os.path.realpath(os.path.join(root, relative))
    if os.path.commonpath([root, target]) != root or target == root:
        raise CheckpointError(f"{referrer}: file {quoted(relative)} points outside the folder")
    try:
        mode = os.stat(target).st_mode
    except OSError as error:
        raise CheckpointError(f"{referrer}: file {quoted(relative)} cannot be read: "
                              f"{error.strerror or error}") from None
    if not stat.S_ISREG(mode):
        raise CheckpointError(
            f"{referrer}: {quoted(relative)} is not a regular file (FIFO, device or folder)")
    return target


def _read_index(index_path: str, index_name: str) -> dict[str, object]:
    fd = safetensors_file.open_regular_file(index_path)
    try:
        size = os.fstat(fd).st_size
        if size > MAX_INDEX_BYTES:
            raise CheckpointError(
                f"{index_name}: index file of {size} bytes is over the 100 MB limit")
        raw = os.pread(fd, size, 0) if size else b""
    finally:
        os.close(fd)
    return safetensors_file.parse_json_object(raw.lstrip(), index_name, "index")


def _weight_map(index: dict[str, object], index_name: str) -> dict[str, str]:
    weight_map = index.get("weight_map")
    if not isinstance(weight_map, dict):
        raise CheckpointError(f"{index_name}: no \"weight_map\" object in the index")
    for key, shard in weight_map.items():
        if not isinstance(shard, str):
            raise CheckpointError(
                f"{index_name}: weight_map entry {quoted(key)} is not a file name")
    return weight_map


def _read_shard(shard_path: str, shard_name: str) -> Job[Checkpoint]:
    magic = _peek(shard_path, len(TORCH_LEGACY_MAGIC))
    if magic.startswith(TORCH_ZIP_MAGIC):
        from inspector.core.formats import torch_zip
        reader = torch_zip.read
    elif magic.startswith(TORCH_LEGACY_MAGIC):
        from inspector.core.formats import torch_legacy
        reader = torch_legacy.read
    else:
        reader = safetensors_file.read
    try:
        return (yield from reader(shard_path))
    except CheckpointError as error:
        message = str(error)
        if shard_name not in message:
            message = f"{one_line(shard_name)}: {message}"
        raise CheckpointError(message) from None


def _peek(path: str, size: int) -> bytes:
    fd = safetensors_file.open_regular_file(path)
    try:
        return os.pread(fd, size, 0)
    finally:
        os.close(fd)


def _tensors_of(shard: Checkpoint, shard_name: str, warnings: list[str]) -> dict[str, TensorRef]:
    root = shard.root
    if not isinstance(root, dict):
        raise CheckpointError(f"{one_line(shard_name)}: shard does not hold a mapping of tensors")
    tensors = {key: value for key, value in root.items() if isinstance(value, TensorRef)}
    skipped = [str(key) for key, value in root.items() if not isinstance(value, TensorRef)]
    if skipped:
        warnings.append(f"{one_line(shard_name)}: {len(skipped)} non-tensor entries ignored: "
                        f"{_some(skipped)}")
    return tensors


def merge_shards(weight_map: dict[str, str], shard_tensors: dict[str, dict[str, TensorRef]],
                 warnings: list[str]) -> dict[str, TensorRef]:
    """One mapping: keys in weight_map order, then shard keys the map does not list."""
    root: dict[str, TensorRef] = {}
    missing: list[str] = []
    for key, shard_name in weight_map.items():
        tensor = shard_tensors[shard_name].get(key)
        if tensor is None:
            missing.append(f"{one_line(key)} ({one_line(shard_name)})")
        else:
            root[key] = tensor
    extra: list[str] = []
    duplicated: list[str] = []
    for shard_name, tensors in shard_tensors.items():
        for key, tensor in tensors.items():
            if weight_map.get(key) == shard_name:
                continue
            if key in root:
                duplicated.append(f"{one_line(key)} ({one_line(shard_name)})")
            else:
                root[key] = tensor
                extra.append(f"{one_line(key)} ({one_line(shard_name)})")
    _warn(warnings, missing, "keys listed in the index are missing from their shard")
    _warn(warnings, extra, "tensors in shards are not listed in the index (shown anyway)")
    _warn(warnings, duplicated, "tensors appear in more than one shard (first one shown)")
    return root


def _warn(warnings: list[str], names: list[str], what: str) -> None:
    if names:
        warnings.append(f"{len(names)} {what}: {_some(names)}")


def _some(names: list[str]) -> str:
    shown = ", ".join(names[:NAMES_IN_WARNING])
    hidden = len(names) - NAMES_IN_WARNING
    return shown + (f", ... ({hidden} more)" if hidden > 0 else "")
