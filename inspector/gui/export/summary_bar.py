"""Under the tree in export mode: what the export would write (tensors, parameters, frozen,
size), a preview of the output keys after renames, and the Export… button."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Signal
from PySide6.QtWidgets import (
    QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QPushButton, QSizePolicy, QTableView, QToolButton,
    QVBoxLayout, QWidget,
)

from inspector.core.export_summary import ExportSummary
from inspector.core.plan import ResolvedPlan
from inspector.gui.export.preview_model import PreviewModel
from inspector.gui.window import theme

PREVIEW_MEASURED_ROWS = 300  # the rows a column's width is fitted to: cheap on a 100k-key preview
PREVIEW_MAX_COLUMN_WIDTH = 380
PREVIEW_HEIGHT = 200


class SummaryBar(QWidget):
    exportRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.text = QLabel(wordWrap=True)
        self.text.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # never widens the pane
        self.legend = QLabel(wordWrap=True)
        self.legend.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._show_legend()
        self.preview_button = QToolButton(text="Preview keys", checkable=True, autoRaise=False)
        self.preview_button.setToolTip("The output keys after renames, with the rule that produced each")
        self.export_button = QPushButton("Export…")
        self.preview_model = PreviewModel(self)
        self.preview = make_preview_view(self.preview_model)
        self.preview.setMinimumHeight(PREVIEW_HEIGHT // 2)
        self.preview.setMaximumHeight(PREVIEW_HEIGHT)
        self.preview.setVisible(False)
        self._layout_widgets()
        self.preview_button.toggled.connect(self.preview.setVisible)
        self.export_button.clicked.connect(self.exportRequested)

    def show_pending(self) -> None:
        if not self.text.text():
            self.text.setText("Working out the export…")

    def show_resolved(self, resolved: ResolvedPlan) -> None:
        summary = ExportSummary(resolved)
        self.text.setStyleSheet("")
        self.text.setText(summary.text())
        self.text.setToolTip(_dropped_tooltip(resolved))
        self.preview_model.set_resolved(resolved)
        self.export_button.setEnabled(summary.tensors > 0)

    def show_error(self, message: str) -> None:
        self.text.setStyleSheet(f"color: {theme.error_text_color().name()}")
        self.text.setText(message)
        self.text.setToolTip(message)
        self.preview_model.set_resolved(None)
        self.export_button.setEnabled(False)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange:
            self._show_legend()
        super().changeEvent(event)

    def _show_legend(self) -> None:
        """How the tree's rows read in export mode, written in those very styles."""
        dim = theme.dim_text_color().name()
        self.legend.setText(f"Rows: <s>left out</s> · <span style='color: {dim}'>frozen</span> · trainable")
        self.legend.setToolTip("A row struck out is not exported; a dimmed one is frozen once loaded "
                               "(requires_grad_(False)), whatever the file saved")

    def _layout_widgets(self) -> None:
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        texts = QVBoxLayout()
        texts.addWidget(self.text)
        texts.addWidget(self.legend)
        row.addLayout(texts, 1)
        row.addWidget(self.preview_button)
        row.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 4, 2, 2)
        layout.addLayout(row)
        layout.addWidget(self.preview)


def make_preview_view(model: PreviewModel) -> QTableView:
    view = QTableView()
    view.setModel(model)
    view.setAlternatingRowColors(True)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setWordWrap(False)
    view.verticalHeader().setVisible(False)
    view.verticalHeader().setDefaultSectionSize(view.fontMetrics().height() + 6)
    header = view.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setStretchLastSection(False)
    header.setResizeContentsPrecision(PREVIEW_MEASURED_ROWS)
    model.modelReset.connect(lambda: _fit_columns(view))
    return view


def _fit_columns(view: QTableView) -> None:
    """Each column as wide as its text (keys in full, up to a limit), on every new preview."""
    view.resizeColumnsToContents()
    for column in range(view.model().columnCount()):
        if view.columnWidth(column) > PREVIEW_MAX_COLUMN_WIDTH:
            view.setColumnWidth(column, PREVIEW_MAX_COLUMN_WIDTH)


def _dropped_tooltip(resolved: ResolvedPlan, shown: int = 12) -> str:
    if not resolved.dropped:
        return "Nothing is left out"
    lines = [f"{key}: {reason}" for key, reason in resolved.dropped[:shown]]
    more = len(resolved.dropped) - shown
    return "Left out:\n" + "\n".join(lines) + (f"\n… and {more} more" if more > 0 else "")
