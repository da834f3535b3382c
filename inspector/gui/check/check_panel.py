"""The check panel beside a document's tree: coverage bar, verdict, loud warnings, grouped
lists, torch's text, one button per suggested remap (with the coverage it reaches) and
"Export fixed file…". It only shows a report and says what the user asked for."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
import re

from PySide6.QtWidgets import (
    QHBoxLayout, QLabel, QLineEdit, QProgressBar, QPushButton, QScrollArea, QSizePolicy, QToolButton, QVBoxLayout,
    QWidget,
)

from inspector.core.check_report import CheckReport
from inspector.core.check_text import coverage_line
from inspector.gui.document.loading_bar import LoadingBar
from inspector.gui.check.check_results import CheckResults, TorchText
from inspector.gui.window import theme


class CheckPanel(QWidget):
    remapRequested = Signal(object)  # a remap (plain dict)
    numClassesRequested = Signal(int)
    undoRequested = Signal()
    exportRequested = Signal(object)  # the plan's JSON document
    againRequested = Signal()  # choose another target
    retryRequested = Signal()
    cancelRequested = Signal()
    closeRequested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.report: CheckReport | None = None
        self.title = QLabel(wordWrap=True, textInteractionFlags=Qt.TextInteractionFlag.TextSelectableByMouse)
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.again_button = QPushButton("Check Against…")
        self.close_button = QToolButton(text="✕", autoRaise=True, toolTip="Close the check")
        self.loading_bar = LoadingBar()
        selectable = Qt.TextInteractionFlag.TextSelectableByMouse
        self.error = QLabel(wordWrap=True, visible=False, textInteractionFlags=selectable)
        self.retry_button = QPushButton("Try again", visible=False)
        self.coverage = QProgressBar(textVisible=True)
        self.verdict = QLabel()
        self.warnings = QLabel(wordWrap=True, objectName="warningBanner", visible=False,
                               textInteractionFlags=Qt.TextInteractionFlag.TextSelectableByMouse)
        self.warnings.setProperty("level", "danger")
        self.alignment = QLabel(wordWrap=True)
        self.undo_button = QPushButton("Undo Remaps", visible=False)
        self.results = CheckResults()
        self.torch_text = TorchText()
        self.remaps = QVBoxLayout()
        self.remaps_title = QLabel("<b>Suggested remaps</b>")
        self.pattern = QLineEdit(placeholderText="regex, e.g. ^encoder\\.", clearButtonEnabled=True)
        self.replacement = QLineEdit(placeholderText="replacement, e.g. backbone.")
        self.rename_button = QPushButton("Rename Keys")
        self.export_button = QPushButton("Export Fixed File…")
        self._layout()
        self._connect()
        self.setMinimumWidth(280)

    # --- states ----------------------------------------------------------------------------
    def show_running(self, title: str) -> None:
        self.title.setText(title)
        self.loading_bar.set_progress(0, 0, "Starting the check…")
        self.loading_bar.setVisible(True)
        self._show_error("")

    def show_progress(self, done: int, total: int, message: str) -> None:
        self.loading_bar.set_progress(done, total, message)

    def show_error(self, message: str) -> None:
        self.loading_bar.setVisible(False)
        self._show_error(message)

    def show_report(self, report: CheckReport) -> None:
        self.report = report
        self.loading_bar.setVisible(False)
        self._show_error("")
        self.title.setText(f"Check against {report.label}")
        self.coverage.setRange(0, max(report.target_tensors, 1))
        self.coverage.setValue(report.loaded)
        self.coverage.setFormat(coverage_line(report))
        self.verdict.setText(f"strict=True: <b>{'loads' if report.loads_strict else 'does not load'}</b>")
        self.warnings.setText("<br>".join(f"<b>⚠</b> {_escaped(text)}" for text in report.warnings))
        self.warnings.setVisible(bool(report.warnings))
        self._show_alignment(report)
        self.results.show_report(report)
        self.torch_text.show_text(report.strict_error)
        self._show_remaps(report)
        self.export_button.setEnabled(True)

    def remap_buttons(self) -> list[QPushButton]:
        return [self.remaps.itemAt(index).widget() for index in range(self.remaps.count())]

    # --- building ----------------------------------------------------------------------------
    def _layout(self) -> None:
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.again_button)
        top.addWidget(self.close_button)
        alignment = QHBoxLayout()
        alignment.addWidget(self.alignment, 1)
        alignment.addWidget(self.undo_button)
        content = QWidget()
        body = QVBoxLayout(content)
        body.setContentsMargins(0, 0, 0, 0)
        rename = QHBoxLayout()
        for widget in (self.pattern, self.replacement, self.rename_button):
            rename.addWidget(widget, 0 if widget is self.rename_button else 1)
        for item in (self.error, self.retry_button, self.coverage, self.verdict, self.warnings, alignment,
                     self.results, self.torch_text, self.remaps_title, self.remaps, rename, self.export_button):
            if isinstance(item, QWidget):
                body.addWidget(item, 1 if item is self.results else 0)
            else:
                body.addLayout(item)
        scroll = QScrollArea(widgetResizable=True, frameShape=QScrollArea.Shape.NoFrame)
        scroll.setWidget(content)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.loading_bar)
        layout.addWidget(scroll, 1)
        self.results.setMinimumHeight(160)
        self.export_button.setEnabled(False)

    def _connect(self) -> None:
        self.again_button.clicked.connect(self.againRequested)
        self.close_button.clicked.connect(self.closeRequested)
        self.retry_button.clicked.connect(self.retryRequested)
        self.loading_bar.cancelRequested.connect(self.cancelRequested)
        self.undo_button.clicked.connect(self.undoRequested)
        self.export_button.clicked.connect(self._on_export_button_clicked)
        self.rename_button.clicked.connect(self._on_rename_button_clicked)
        self.pattern.returnPressed.connect(self._on_rename_button_clicked)
        self.replacement.returnPressed.connect(self._on_rename_button_clicked)

    def _show_error(self, message: str) -> None:
        self.error.setText(message)
        self.error.setStyleSheet(f"color: {theme.error_text_color().name()};")
        self.error.setVisible(bool(message))
        self.retry_button.setVisible(bool(message))

    def _show_alignment(self, report: CheckReport) -> None:
        parts = []
        if report.alignment["rules"]:
            parts.append(f"Alignment: {_escaped('; '.join(report.alignment['rules']))}")
        if report.applied:
            parts.append(f"Remaps applied: {_escaped('; '.join(report.applied))}")
        self.alignment.setText("<br>".join(parts))
        self.alignment.setVisible(bool(parts))
        self.undo_button.setVisible(bool(report.applied))

    def _show_remaps(self, report: CheckReport) -> None:
        while self.remaps.count():
            self.remaps.takeAt(0).widget().deleteLater()
        hint = report.class_count_hint
        if hint:
            button = _remap_button(f"num_classes={hint['num_classes']}", hint)
            count = hint["num_classes"]
            button.clicked.connect(lambda _checked=False: self.numClassesRequested.emit(count))
            self.remaps.addWidget(button)
        for remap in report.remaps:
            button = _remap_button(remap["rule"], remap)
            button.clicked.connect(lambda _checked=False, chosen=remap["remap"]: self.remapRequested.emit(chosen))
            self.remaps.addWidget(button)
        self.remaps_title.setVisible(self.remaps.count() > 0)

    def _on_rename_button_clicked(self) -> None:
        """A regex rename of the keys, as ``re.sub`` does it; checked here so a typo is said at once."""
        pattern, replacement = self.pattern.text(), self.replacement.text()
        try:
            re.compile(pattern).sub(replacement, "")
        except (re.error, IndexError) as error:
            self.pattern.setToolTip(f"not a usable regex: {error}")
            self.pattern.setStyleSheet(f"color: {theme.error_text_color().name()};")
            return
        self.pattern.setToolTip("")
        self.pattern.setStyleSheet("")
        if pattern:
            self.remapRequested.emit({"kind": "regex", "pattern": pattern, "replacement": replacement})

    def _on_export_button_clicked(self) -> None:
        if self.report is not None:
            self.exportRequested.emit(self.report.plan)


def _remap_button(rule: str, outcome: dict) -> QPushButton:
    strict = ", loads strictly" if outcome["strict"] else ""
    text = f"{rule}  →  {outcome['loaded']} of {outcome['target_tensors']}{strict}"
    button = QPushButton(text, toolTip=text)
    button.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
    button.setStyleSheet("text-align: left; padding: 3px 8px;")
    return button


def _escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
