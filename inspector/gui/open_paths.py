"""Which documents to open for dropped or chosen paths."""

from __future__ import annotations

import os

from inspector.core.natural_sort import natural_sort_key

CHECKPOINT_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt", ".safetensors", ".pkl", ".pickle", ".tar")
MAX_FILES_FROM_FOLDER = 64


def documents_for(paths: list[str]) -> list[str]:
    """Files stay as they are; a checkpoint folder (sharded, DCP) opens as one document;
    any other folder opens the checkpoint files directly inside it (or itself, when it has
    none, so that the reader explains what is wrong)."""
    documents: list[str] = []
    for path in paths:
        path = os.path.abspath(path)
        if os.path.isdir(path) and not is_checkpoint_folder(path):
            documents.extend(_checkpoint_files_in(path) or [path])
        else:
            documents.append(path)
    return list(dict.fromkeys(documents))


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
