"""A check's verdict on each tensor of the document, as tints on the tree's rows: loads,
size mismatch, unexpected, left out by a remap. A module row takes its tensors' fate when
they all share one."""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QColor

from inspector.gui.document.tree_model import RowDecoration
from inspector.gui.window import theme

FATE_TEXT = {"loads": "check: loads into the model", "mismatched": "check: size mismatch, not loaded",
             "unexpected": "check: unexpected, the model has no such key", "dropped": "check: left out by a remap",
             "unused": "check: not used by the model"}
MIXED = ""  # a container whose tensors do not share one fate
FATE_COLORS = {"loads": ("#e3f4e6", "#1e3524"), "mismatched": ("#fff0c2", "#3d3418"),
               "unexpected": ("#fde0de", "#41201f"), "dropped": ("#ececec", "#2c2d30"),
               "unused": ("#ececec", "#2c2d30")}


class RowFates:
    """The tree model's row decorator for one report. A row's fate is looked up when the view
    asks for it (a few dozen rows at a time), never for the whole tree at once: a tensor by
    its contract path, a module of the checked state dict by its key prefix, the state dict's
    own row by the fate all its tensors share."""

    def __init__(self, fates: list[list], module_fates: dict[str, str], state_dict_path: list) -> None:
        self.by_path = {tuple(path): fate for path, fate in fates}
        self.module_fates = module_fates
        self.state_dict_path = tuple(state_dict_path)
        self._known: dict[Any, str | None] = {}
        self._decorations = {(fate, dark): RowDecoration(QColor(colors[dark]), FATE_TEXT[fate])
                             for fate, colors in FATE_COLORS.items() for dark in (False, True)}

    @classmethod
    def of(cls, report) -> RowFates:
        return cls(report.fates, report.module_fates, report.source["state_dict"])

    def fate(self, node: Any) -> str | None:
        if node not in self._known:
            self._known[node] = self._look_up(node)
        return self._known[node]

    def __call__(self, node: Any) -> RowDecoration | None:
        """The row's tint in the scheme in force (asked as the row is drawn)."""
        fate = self.fate(node)
        return self._decorations[fate, theme.is_dark()] if fate is not None else None

    def _look_up(self, node: Any) -> str | None:
        if node.parent is None:
            return None  # the file itself
        path = node.path
        if node.kind == "tensor":
            return self.by_path.get(path)
        if path != self.state_dict_path:
            return None
        return self.module_fates.get(node.key if node.step is None else "")
