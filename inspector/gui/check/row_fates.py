"""A check's verdict on each tensor of the document, as tints on the tree's rows: loads,
size mismatch, unexpected, left out by a remap. A module row takes its tensors' fate when
they all share one."""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QColor

from inspector.core.tree import iter_nodes
from inspector.gui.document.tree_model import RowDecoration
from inspector.gui.window import theme

FATE_TEXT = {"loads": "check: loads into the model", "mismatched": "check: size mismatch, not loaded",
             "unexpected": "check: unexpected, the model has no such key", "dropped": "check: left out by a remap",
             "unused": "check: not used by the model"}
FATE_COLORS = {"loads": ("#e3f4e6", "#1e3524"), "mismatched": ("#fff0c2", "#3d3418"),
               "unexpected": ("#fde0de", "#41201f"), "dropped": ("#ececec", "#2c2d30"),
               "unused": ("#ececec", "#2c2d30")}


def node_fates(root: Any, fates: list[list]) -> dict[Any, str]:
    """Each tree node's fate: tensors by their contract path, containers when all their fated
    tensors agree."""
    by_path = {tuple(path): fate for path, fate in fates}
    found: dict[Any, str] = {}
    mixed: set[Any] = set()
    for node in iter_nodes(root):
        fate = by_path.get(node.path) if node.kind == "tensor" else None
        if fate is None:
            continue
        found[node] = fate
        for ancestor in node.ancestors():
            if ancestor in mixed:
                break
            known = found.get(ancestor)
            if known is None:
                found[ancestor] = fate
            elif known != fate:
                mixed.add(ancestor)
                found.pop(ancestor)
    found.pop(root, None)
    return found


class RowFates:
    """The tree model's row decorator for one report."""

    def __init__(self, root: Any, fates: list[list]) -> None:
        self.fates = node_fates(root, fates)
        dark = theme.is_dark()
        self._decorations = {fate: RowDecoration(QColor(colors[dark]), FATE_TEXT[fate])
                             for fate, colors in FATE_COLORS.items()}

    def __call__(self, node: Any) -> RowDecoration | None:
        fate = self.fates.get(node)
        return self._decorations[fate] if fate is not None else None
