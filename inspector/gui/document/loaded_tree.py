"""Everything the window needs from a read checkpoint, prepared off the GUI thread."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from inspector.core.model import Checkpoint


@dataclass
class LoadedTree:
    checkpoint: Checkpoint
    root: Any  # inspector.core.tree.Node
    filter_index: Any  # inspector.gui.document.tree_filter.FilterIndex
    code_running: list[str]


def prepare_tree(checkpoint: Checkpoint) -> LoadedTree:
    from inspector.core.safety import code_running
    from inspector.core.tree import build_tree
    from inspector.gui.document.tree_filter import FilterIndex

    root = build_tree(checkpoint)
    return LoadedTree(checkpoint, root, FilterIndex(root), code_running(checkpoint.globals))
