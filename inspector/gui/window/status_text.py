"""The status bar's summary of a document: format, size on disk, tensors, parameters."""

from __future__ import annotations

import os
from typing import Any

from inspector.gui.formatting import human_size, short_count, thousands


def document_status(document: Any) -> str:
    if document.state == "loading":
        return f"Loading {document.title}…"
    if document.state == "error":
        return f"Could not open {document.title}"
    if document.state == "cancelled":
        return "Cancelled"
    root = document.loaded.root
    parts = [document.checkpoint.format, human_size(size_on_disk(document.path)),
             f"{thousands(root.tensor_count)} tensors",
             f"{short_count(root.numel_total)} elements", human_size(root.nbytes_total) + " of tensor data"]
    return "  ·  ".join(parts)


def size_on_disk(path: str) -> int:
    """A file's size, or the total of the files directly inside a checkpoint folder."""
    try:
        if not os.path.isdir(path):
            return os.path.getsize(path)
        return sum(entry.stat().st_size for entry in os.scandir(path) if entry.is_file())
    except OSError:
        return 0
