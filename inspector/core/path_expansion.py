"""Which checkpoints to open for paths given on the command line, dropped or chosen."""

from __future__ import annotations

import os

from inspector.core.natural_sort import natural_sort_key
from inspector.core.sniff import CHECKPOINT_SUFFIXES

MAX_FILES_FROM_FOLDER = 64


def expand_paths(paths: list[str]) -> list[str]:
    """Files stay as they are; a checkpoint folder (sharded, DCP) is one checkpoint; any other
    folder gives the checkpoint files directly inside it in natural order (or itself, when it
    has none, so that the reader explains what is wrong). Absolute paths, duplicates dropped."""
    expanded: list[str] = []
    for path in paths:
        path = os.path.abspath(path)
        if os.path.isdir(path) and not is_checkpoint_folder(path):
            expanded.extend(_checkpoint_files_in(path) or [path])
        else:
            expanded.append(path)
    return list(dict.fromkeys(expanded))


def is_checkpoint_folder(path: str) -> bool:
    try:
        names = os.listdir(path)
    except OSError:
        return False
    return ".metadata" in names or any(name.endswith(".index.json") for name in names)


def _checkpoint_files_in(folder: str) -> list[str]:
    try:
        names = sorted(os.listdir(folder), key=natural_sort_key)
    except OSError:
        return []
    files = [os.path.join(folder, name) for name in names if name.lower().endswith(CHECKPOINT_SUFFIXES)]
    return [path for path in files if os.path.isfile(path)][:MAX_FILES_FROM_FOLDER]
