"""Open one tensor of a series at one checkpoint: that checkpoint's document, with the tensor's
row selected once the document has loaded. The row is found the way the series matched keys
(``core.series_alignment.tensor_in``), so a checkpoint saved under DDP's ``module.`` names
opens at the right row too."""

from __future__ import annotations

from typing import Any

from inspector.core.errors import CheckpointError
from inspector.core.series_alignment import tensor_in


def select_series_tensor(document: Any, keys: list[str], key: str) -> None:
    """Select ``key``'s row in ``document`` now, or as soon as it has loaded."""
    if document.state == "ready":
        select_now(document, keys, key)
        return
    if document.state != "loading":
        return

    def on_loaded() -> None:
        document.loadFinished.disconnect(on_loaded)
        if document.state == "ready":
            select_now(document, keys, key)

    document.loadFinished.connect(on_loaded)


def select_now(document: Any, keys: list[str], key: str) -> bool:
    try:
        found = tensor_in(document.checkpoint, keys, key)
    except CheckpointError:
        return False
    node = node_at(document.loaded.root, found[0]) if found is not None else None
    return node is not None and document.tree_panel.select_node(node)


def node_at(root: Any, path: tuple) -> Any:
    """The tree's tensor node at contract ``path``, searching only the branches that lead there
    (module nodes of a state dict hold keys with their prefix)."""
    path = tuple(path)
    stack = [(root, ())]
    while stack:
        node, steps = stack.pop()
        for child in node.children:
            here = steps if child.step is None else (*steps, child.step)
            if here == path and child.kind == "tensor":
                return child
            if _may_lead_to(child, here, path):
                stack.append((child, here))
    return None


def _may_lead_to(node: Any, steps: tuple, path: tuple) -> bool:
    if len(steps) > len(path) or path[:len(steps)] != steps or not node.children:
        return False
    if node.step is None and node.key:  # a module inside a state dict: the key starts with its prefix
        following = path[len(steps)] if len(steps) < len(path) else None
        return isinstance(following, str) and following.startswith(node.key + ".")
    return True
