"""The key alignment on top of the compare view: every rule applied (or switched off) as a check
box, automatic alignment on or off, and the choices the rules cannot guess (state dict, a
forced prefix, tolerances) in a row that unfolds. Every change asks for a new run at once."""

from __future__ import annotations

from PySide6.QtCore import QLocale, Signal
from PySide6.QtGui import QDoubleValidator
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QLineEdit, QToolButton, QVBoxLayout, QWidget

from inspector.core.diff import DiffOptions
from inspector.gui.panels.plot_style import shrinkable_label

# option name -> (label, placeholder, tooltip)
FIELDS = {
    "subdict_a": ("State dict A", "automatic", "Dotted path of the state dict inside A (e.g. state_dict_ema)"),
    "subdict_b": ("B", "automatic", "Dotted path of the state dict inside B"),
    "strip_a": ("Strip prefix A", "none", "A key prefix to strip from A (replaces the automatic prefix rule)"),
    "strip_b": ("B", "none", "A key prefix to strip from B (replaces the automatic prefix rule)"),
    "rtol": ("rtol", "per dtype", "Relative tolerance (default: torch.testing.assert_close's per dtype)"),
    "atol": ("atol", "per dtype", "Absolute tolerance (default: torch.testing.assert_close's per dtype)"),
}
NUMBER_FIELDS = ("rtol", "atol")


class AlignmentBar(QWidget):
    ruleToggled = Signal(str, bool)  # rule name, enabled
    optionsEdited = Signal(dict)  # DiffOptions fields to change

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rule_boxes: list[QCheckBox] = []
        self.title = QLabel("<b>Keys</b>")
        self.rules_row = QHBoxLayout()
        self.rules_row.setSpacing(10)
        self.no_rules = QLabel("compared as they are")
        self.no_rules.setEnabled(False)
        self.align_box = QCheckBox("Align automatically")
        self.align_box.setChecked(True)
        self.align_box.setToolTip("Drop wrapper tokens, DataParallel's 'module.' and a dominant extra prefix")
        self.counts = shrinkable_label(align_right=True)
        self.options_button = QToolButton(text="Options", checkable=True)
        self.options_button.setToolTip("State dict inside each file, forced prefixes, tolerances")
        self.fields = {name: _field(placeholder, tip) for name, (_, placeholder, tip) in FIELDS.items()}
        self.options_row = self._build_options_row()
        self._build_layout()
        self._connect()

    # --- interface -----------------------------------------------------------------------
    def set_alignment(self, alignment: dict | None) -> None:
        """Show the rules of the latest run (None: not known yet, keep the last ones)."""
        if alignment is None:
            return
        for box in self._rule_boxes:
            self.rules_row.removeWidget(box)
            box.deleteLater()
        self._rule_boxes = [self._rule_box(rule["name"], True) for rule in alignment["rules"]]
        self._rule_boxes += [self._rule_box(rule["name"], False) for rule in alignment["disabled"]]
        for position, box in enumerate(self._rule_boxes):
            self.rules_row.insertWidget(position, box)
        self.no_rules.setVisible(not self._rule_boxes)
        self.counts.setText(f"{alignment['matched']:,} matched · {alignment['only_a']:,} only in A · "
                            f"{alignment['only_b']:,} only in B")

    def set_options(self, options: DiffOptions) -> None:
        """Show ``options`` in the fields (no signal)."""
        self.align_box.blockSignals(True)
        self.align_box.setChecked(not options.no_align)
        self.align_box.blockSignals(False)
        for name, edit in self.fields.items():
            value = getattr(options, name)
            edit.setText("" if value is None else (f"{value:g}" if name in NUMBER_FIELDS else str(value)))

    def show_options(self, shown: bool) -> None:
        self.options_button.setChecked(shown)

    def rule_names(self) -> dict[str, bool]:
        """The rules shown, and whether each is on."""
        return {box.text(): box.isChecked() for box in self._rule_boxes}

    def rule_box(self, name: str) -> QCheckBox | None:
        return next((box for box in self._rule_boxes if box.text() == name), None)

    # --- building ------------------------------------------------------------------------
    def _rule_box(self, name: str, applied: bool) -> QCheckBox:
        box = QCheckBox(name)
        box.setChecked(applied)
        box.setToolTip("Applied: untick to compare without it" if applied else "Switched off: tick to apply it again")
        box.toggled.connect(lambda checked, rule=name: self.ruleToggled.emit(rule, checked))
        return box

    def _build_options_row(self) -> QWidget:
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        for name, (label, _, _) in FIELDS.items():
            layout.addWidget(QLabel(label))
            layout.addWidget(self.fields[name], 2 if name not in NUMBER_FIELDS else 1)
        row.setVisible(False)
        return row

    def _build_layout(self) -> None:
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.title)
        top.addLayout(self.rules_row)
        self.rules_row.addWidget(self.no_rules)
        top.addSpacing(12)
        top.addWidget(self.align_box)
        top.addWidget(self.counts, 1)
        top.addWidget(self.options_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(top)
        layout.addWidget(self.options_row)

    def _connect(self) -> None:
        self.align_box.toggled.connect(lambda checked: self.optionsEdited.emit({"no_align": not checked}))
        self.options_button.toggled.connect(self.options_row.setVisible)
        for name, edit in self.fields.items():
            edit.editingFinished.connect(lambda field=name: self._on_field_edited(field))

    def _on_field_edited(self, name: str) -> None:
        text = self.fields[name].text().strip()
        if name in NUMBER_FIELDS:
            value = float(text) if text else None
        else:
            value = text or None
        self.optionsEdited.emit({name: value})


def _field(placeholder: str, tip: str) -> QLineEdit:
    edit = QLineEdit(placeholderText=placeholder, clearButtonEnabled=True)
    edit.setToolTip(tip)
    edit.setMinimumWidth(60)
    if placeholder == "per dtype":
        validator = QDoubleValidator(0.0, 1e300, 20)
        validator.setNotation(QDoubleValidator.Notation.ScientificNotation)
        validator.setLocale(QLocale.c())  # read back with float()
        edit.setValidator(validator)
    return edit
