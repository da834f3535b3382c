"""The lists of a check report: size mismatches with both shapes, missing and unexpected keys
grouped by module, what the model fills in itself; and torch's own text in a collapsible box."""

from __future__ import annotations

from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QPlainTextEdit, QToolButton, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget
from PySide6.QtCore import Qt

from inspector.core.check_groups import group_line, group_keys
from inspector.core.check_report import CheckReport

LISTED_MISMATCHES = 200
NOT_LOADED_TIP = ("The model's tensors that get no value from the file: keys the file lacks, and keys whose "
                  "size differs (left out, since load_state_dict raises on them even with strict=False)")
SHOWN_LINES = 8  # of torch's text before it scrolls


class CheckResults(QTreeWidget):
    """One section per kind of problem; each row one module group (``layer1.{0,1}.bn2: weight, bias``)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setHeaderHidden(True)
        self.setColumnCount(1)
        self.setUniformRowHeights(True)

    def show_report(self, report: CheckReport) -> None:
        self.clear()
        kind = (": the head only (num_classes differs)" if report.head_only
                else ": the backbone differs" if report.mismatched else "")
        self._section(f"Size mismatches ({len(report.mismatched)}){kind}", _mismatch_lines(report), True)
        self._section(not_loaded_title(report), map(group_line, report.groups["missing"]), True, NOT_LOADED_TIP)
        self._section(f"Unexpected ({len(report.unexpected)})", map(group_line, report.groups["unexpected"]), True)
        if report.self_filled:
            self._section(f"Filled in by the model itself ({len(report.self_filled)})",
                          map(group_line, group_keys(report.self_filled)), False)

    def section_texts(self) -> dict[str, list[str]]:
        """Each section's title and its rows' texts (what tests and copy read)."""
        sections = {}
        for index in range(self.topLevelItemCount()):
            item = self.topLevelItem(index)
            sections[item.text(0)] = [item.child(row).text(0) for row in range(item.childCount())]
        return sections

    def _section(self, title: str, lines, expanded: bool, tooltip: str = "") -> None:
        item = QTreeWidgetItem(self, [title])
        item.setToolTip(0, tooltip or title)
        for line in lines:
            child = QTreeWidgetItem(item, [line])
            child.setToolTip(0, line)
        item.setExpanded(expanded and item.childCount() > 0)
        item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsSelectable)


def not_loaded_title(report: CheckReport) -> str:
    """The model's tensors that get no value, counted by why: the report's ``missing`` holds
    the size mismatches too (strict=False's missing keys once they are left out), where
    torch's own error text calls only the keys absent from the file missing."""
    count = len(report.missing)
    if report.raised:
        return f"Not loaded ({count}): torch raised, nothing loads"
    mismatched = {entry["key"] for entry in report.mismatched}
    size = sum(1 for key in report.missing if key in mismatched)
    parts = [f"{count - size} not in the file" if count - size else "",
             f"{size} size mismatch{'es' if size != 1 else ''}" if size else ""]
    reasons = ", ".join(part for part in parts if part)
    return f"Not loaded ({count})" + (f": {reasons}" if reasons else "")


def _mismatch_lines(report: CheckReport):
    for entry in report.mismatched[:LISTED_MISMATCHES]:
        yield f"{entry['key']}: {_shape(entry['checkpoint'])} in the file, {_shape(entry['model'])} in the model"
    rest = report.mismatched[LISTED_MISMATCHES:]
    if rest:
        yield f"… and {len(rest)} more"


def _shape(shape: list[int]) -> str:
    return "[" + ", ".join(str(size) for size in shape) + "]"


class TorchText(QWidget):
    """torch's error text, verbatim, behind a toggle."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.toggle = QToolButton(text="torch's error text", checkable=True, autoRaise=True,
                                  toolButtonStyle=Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.text = QPlainTextEdit(readOnly=True, visible=False)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.text.setMaximumHeight(self.text.fontMetrics().lineSpacing() * SHOWN_LINES + 24)
        self.toggle.toggled.connect(self._on_toggle_toggled)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.toggle)
        layout.addWidget(self.text)

    def show_text(self, text: str | None) -> None:
        self.text.setPlainText(text or "")
        self.setVisible(bool(text))

    def _on_toggle_toggled(self, shown: bool) -> None:
        self.toggle.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)
        self.text.setVisible(shown)
