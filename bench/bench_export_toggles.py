"""Export mode on a 100k-tensor state dict: what a click on a box costs the GUI thread (the new
selection and redrawing the boxes that can be seen), against the 100 ms budget of a filter
keystroke, and what runs on a worker thread after it (the plan's globs, resolving the plan)
or once per opened tree (the rows of the state dict).

    python bench/bench_export_toggles.py [--tensors 100000]
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from bench_tree import REPEATS, best_of, synthetic_state_dict  # noqa: E402

from inspector.core.export_selection import ExportRows, ExportSelection  # noqa: E402
from inspector.core.model import Checkpoint  # noqa: E402
from inspector.core.tree import build_tree, iter_nodes  # noqa: E402

KEYSTROKE_BUDGET_S = 0.100


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tensors", type=int, default=100_000)
    count = parser.parse_args().tensors
    checkpoint = Checkpoint("big.safetensors", "safetensors", synthetic_state_dict(count))
    root = build_tree(checkpoint)
    rows_s = best_of(lambda: ExportRows.build(checkpoint, root, None))
    selection = ExportSelection.start(ExportRows.build(checkpoint, root, None))
    module = next(node for node in iter_nodes(root) if node.key == "model.layers.7")
    toggled = selection.with_included(selection.rows.span(module), False)
    plan_s = best_of(lambda: ExportSelection(toggled.rows, toggled.included, toggled.frozen).plan())
    resolve_s = best_of(lambda: toggled.plan().resolve_view(toggled.rows.view))
    click_s, whole_s, expanded_s = _gui_thread_costs(root, selection, module)
    print(f"{count} tensors: rows of the state dict {rows_s * 1000:.0f} ms (worker thread, once per tree)")
    print(f"  click on a module's box, GUI thread: {click_s * 1000:.1f} ms = "
          f"{click_s / KEYSTROKE_BUDGET_S:.2f}x the {KEYSTROKE_BUDGET_S * 1000:.0f} ms keystroke budget")
    print(f"  click on the whole state dict's box, GUI thread: {whole_s * 1000:.1f} ms = "
          f"{whole_s / KEYSTROKE_BUDGET_S:.2f}x the budget")
    print(f"  the same with model.layers expanded ({count // 40:,} rows shown): {expanded_s * 1000:.1f} ms = "
          f"{expanded_s / KEYSTROKE_BUDGET_S:.2f}x the budget")
    print(f"  then on a worker thread: the plan's globs {plan_s * 1000:.0f} ms, resolving it {resolve_s * 1000:.0f} ms "
          f"(best of {REPEATS})")


def _gui_thread_costs(root, selection, module) -> tuple[float, float, float]:
    from PySide6.QtWidgets import QApplication

    from inspector.gui.document.tree_filter import FilterIndex
    from inspector.gui.document.tree_panel import TreePanel
    from inspector.gui.export.export_columns import ExportColumns
    from inspector.gui.export.export_mode import visible_rows

    app = QApplication.instance() or QApplication([])
    panel = TreePanel(lambda node: "")
    panel.resize(900, 700)
    panel.show()
    panel.set_tree(root, FilterIndex(root))  # expands the first levels, as a document does
    columns = ExportColumns(lambda *args: None)
    columns.selection = selection
    panel.model.set_extra_columns(columns)
    panel.model.set_row_decorator("export", columns.decoration)  # rows struck out or dimmed, as export mode has them
    app.processEvents()

    def click(span) -> None:
        columns.selection = columns.selection.with_included(span, not columns.selection.included[span[0]])
        panel.model.refresh_extra_columns(visible_rows(columns.selection.rows, panel, span))
        panel.view.viewport().update()  # the rows' marks, as export mode repaints them
        app.processEvents()

    one = best_of(lambda: click(selection.rows.span(module)))
    whole = best_of(lambda: click((0, len(selection.rows))))
    layers = next(node for node in iter_nodes(root) if node.key == "model.layers")
    panel.view.expand(panel.proxy.mapFromSource(panel.model.index_of(layers)))
    app.processEvents()
    return one, whole, best_of(lambda: click((0, len(selection.rows))))


if __name__ == "__main__":
    main()
