"""Choose what to check a document against: a torchvision architecture (searchable, with
num_classes and the auxiliary-head options it takes) or another open document.

The architecture list is the core's shipped catalog: nothing here imports torch. Nothing is
chosen at first (no architecture is a better guess than another without reading the file
against each), except the target the document was checked against last; typing chooses the
best match: the name itself, then names that start with the text, then the rest.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QButtonGroup, QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLineEdit, QListView,
    QRadioButton, QSpinBox, QVBoxLayout, QWidget,
)

from inspector.core.check_catalog import CATALOG, builder_options

MAX_CLASSES = 1_000_000
OPTION_CHOICES = (("builder default", None), ("True", True), ("False", False))
NameRole = Qt.ItemDataRole.UserRole + 1


class CheckDialog(QDialog):
    """``target()`` is the job's target once accepted: ``{"arch", "num_classes", "options"}``
    or ``{"path"}``. ``others`` are (title, path) of the other open documents; ``current`` is
    the target the document was checked against last, chosen at first."""

    def __init__(self, others: list[tuple[str, str]], parent: QWidget | None = None,
                 current: dict | None = None):
        super().__init__(parent)
        self.setWindowTitle("Check Against Model")
        self.arch_choice = QRadioButton("A torchvision architecture", checked=True)
        self.document_choice = QRadioButton("Another open checkpoint", enabled=bool(others))
        self.search = QLineEdit(placeholderText="Search architectures", clearButtonEnabled=True)
        self.architectures = _architecture_model(self)
        self.proxy = ArchitectureProxy(self)
        self.proxy.setSourceModel(self.architectures)
        self.list = QListView()
        self.list.setModel(self.proxy)
        self.num_classes_set = QCheckBox("num_classes")
        self.num_classes = QSpinBox(minimum=1, maximum=MAX_CLASSES, value=10, enabled=False)
        self.options = {name: _option_box() for name in ("aux_logits", "aux_loss")}
        self.documents = QComboBox(enabled=False)
        for title, path in others:
            self.documents.addItem(title, path)
            self.documents.setItemData(self.documents.count() - 1, path, Qt.ItemDataRole.ToolTipRole)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self._layout()
        self._connect()
        self._choose(current)
        self.search.setFocus()  # type a name, Enter takes the best match

    def select_architecture(self, arch: str) -> bool:
        for row in range(self.proxy.rowCount()):
            index = self.proxy.index(row, 0)
            if index.data(NameRole) == arch:
                self.list.setCurrentIndex(index)
                self.list.scrollTo(index)
                return True
        return False

    def chosen_architecture(self) -> str | None:
        index = self.list.currentIndex()
        return index.data(NameRole) if index.isValid() else None

    def target(self) -> dict | None:
        if self.document_choice.isChecked():
            path = self.documents.currentData()
            return {"path": path} if path else None
        arch = self.chosen_architecture()
        if arch is None:
            return None
        offered = builder_options(arch)
        asked = self.num_classes_set.isChecked() and "num_classes" in offered
        num_classes = self.num_classes.value() if asked else None
        options = {name: box.currentData() for name, box in self.options.items()
                   if name in offered and box.currentData() is not None}
        return {"arch": arch, "num_classes": num_classes, "options": options}

    def accept(self) -> None:
        if self.target() is not None:
            super().accept()

    def _choose(self, target: dict | None) -> None:
        """``target`` chosen, with its options; nothing chosen when it is None."""
        if target and "path" in target:
            index = self.documents.findData(target["path"])
            if index >= 0:
                self.documents.setCurrentIndex(index)
                self.document_choice.setChecked(True)
        elif target and self.select_architecture(target["arch"]):
            if target.get("num_classes") is not None:
                self.num_classes_set.setChecked(True)
                self.num_classes.setValue(target["num_classes"])
            for name, value in (target.get("options") or {}).items():
                if name in self.options:
                    self.options[name].setCurrentIndex(self.options[name].findData(value))
        self._update_options()

    def _layout(self) -> None:
        arch_page = QWidget()
        form = self._form = QFormLayout()
        form.addRow(self.num_classes_set, self.num_classes)
        for name, box in self.options.items():
            form.addRow(name, box)
        arch_layout = QVBoxLayout(arch_page)
        arch_layout.setContentsMargins(20, 0, 0, 0)
        for widget in (self.search, self.list):
            arch_layout.addWidget(widget)
        arch_layout.addLayout(form)
        self.list.setMinimumWidth(self.list.sizeHintForColumn(0) + self.list.verticalScrollBar().sizeHint().width()
                                  + 2 * self.list.frameWidth())
        self.arch_page = arch_page
        layout = QVBoxLayout(self)
        for widget in (self.arch_choice, arch_page, self.document_choice, self.documents, self.buttons):
            layout.addWidget(widget)
        group = QButtonGroup(self)
        group.addButton(self.arch_choice)
        group.addButton(self.document_choice)

    def _connect(self) -> None:
        self.search.textChanged.connect(self._on_search_text_changed)
        self.list.selectionModel().currentChanged.connect(lambda *_: self._update_options())
        self.list.doubleClicked.connect(lambda _index: self.accept())
        self.num_classes_set.toggled.connect(self.num_classes.setEnabled)
        self.arch_choice.toggled.connect(self._on_choice_toggled)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

    def _on_search_text_changed(self, text: str) -> None:
        self.proxy.set_search(text)
        best = self.proxy.index(0, 0) if text.strip() else QModelIndex()
        self.list.setCurrentIndex(best)  # Enter takes the best match
        if best.isValid():
            self.list.scrollTo(best)
        self._update_options()

    def _on_choice_toggled(self, arch_chosen: bool) -> None:
        self.arch_page.setEnabled(arch_chosen)
        self.documents.setEnabled(not arch_chosen)
        self._update_options()

    def _update_options(self) -> None:
        arch = self.chosen_architecture()
        offered = builder_options(arch) if arch else ()
        self._form.setRowVisible(self.num_classes, "num_classes" in offered)
        for name, box in self.options.items():
            self._form.setRowVisible(box, name in offered)
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(self.target() is not None)


class ArchitectureProxy(QSortFilterProxyModel):
    """The architectures whose row holds the search text (name or family), the best matches
    first: the name itself, names starting with it, names with a part starting with it
    (``resnet18`` in ``quantized_resnet18``), the rest; alphabetical within each."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent, filterCaseSensitivity=Qt.CaseSensitivity.CaseInsensitive)
        self._needle = ""
        self.sort(0)

    def set_search(self, text: str) -> None:
        self._needle = text.strip().lower()
        self.setFilterFixedString(self._needle)
        self.invalidate()  # the ranks changed with the text

    def rank(self, name: str) -> int:
        needle = self._needle
        if not needle or name == needle:
            return 0
        if name.startswith(needle):
            return 1
        return 2 if any(part.startswith(needle) for part in name.split("_")[1:]) else 3

    def lessThan(self, left: QModelIndex, right: QModelIndex) -> bool:
        names = left.data(NameRole), right.data(NameRole)
        return (self.rank(names[0]), names[0]) < (self.rank(names[1]), names[1])


def _architecture_model(parent) -> QStandardItemModel:
    model = QStandardItemModel(parent)
    for family, names in CATALOG.items():
        for name in names:
            item = QStandardItem(f"{name}    ({family.replace('_', ' ')})")
            item.setData(name, NameRole)
            item.setEditable(False)
            model.appendRow(item)
    return model


def _option_box() -> QComboBox:
    box = QComboBox()
    for text, value in OPTION_CHOICES:
        box.addItem(text, value)
    return box
