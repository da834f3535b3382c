"""The text view of ``inspector check``: the verdict and coverage on top, loud warnings, the
size mismatches with both shapes, missing and unexpected keys grouped by module, torch's own
error text, then the suggested fixes, each with the ``inspector export`` line that applies it."""

from __future__ import annotations

from collections.abc import Iterator

from inspector.core.check_groups import group_keys, group_line
from inspector.core.check_plan import export_command
from inspector.core.check_report import CheckReport
from inspector.core.plan import ExportPlan

LISTED_MISMATCHES = 20
INDENT = "  "


def render_check(report: CheckReport) -> Iterator[str]:
    source = report.source
    where = ".".join(str(part) for part in source["state_dict"])
    yield f"{source['path']}{f' [{where}]' if where else ''} against {report.label}"
    if report.alignment["rules"]:
        yield f"alignment: {'; '.join(report.alignment['rules'])}"
    if report.applied:
        yield f"remaps: {'; '.join(report.applied)}"
    yield coverage_line(report)
    yield "strict=True: loads" if report.loads_strict else "strict=True: does not load"
    for warning in report.warnings:
        yield f"WARNING: {warning}"
    yield from _mismatches(report)
    yield from _grouped(f"missing ({len(report.missing)})", report.groups["missing"])
    yield from _grouped(f"unexpected ({len(report.unexpected)})", report.groups["unexpected"])
    if report.self_filled:
        title = f"filled in by the model itself ({len(report.self_filled)})"
        yield from _grouped(title, group_keys(report.self_filled))
    if report.strict_error:
        yield "torch says:"
        yield from (INDENT + line for line in report.strict_error.splitlines())
    yield from _fixes(report)


def coverage_line(report: CheckReport) -> str:
    return (f"{report.loaded} of {report.target_tensors} target tensors would load "
            f"({_percent(report.coverage)})")


def _mismatches(report: CheckReport) -> Iterator[str]:
    entries = report.mismatched
    if not entries:
        return
    kind = ("the head only: num_classes differs" if report.head_only
            else "not only the head: the backbone differs")
    yield f"size mismatches ({len(entries)}), {kind}:"
    for entry in entries[:LISTED_MISMATCHES]:
        yield (f"{INDENT}{entry['key']}: {_shape(entry['checkpoint'])} in the file, "
               f"{_shape(entry['model'])} in the model")
    rest = entries[LISTED_MISMATCHES:]
    if rest:
        yield f"{INDENT}… and {len(rest)} more:"
        yield from (2 * INDENT + group_line(group) for group in group_keys([entry["key"] for entry in rest]))


def _grouped(title: str, groups: list[dict]) -> Iterator[str]:
    yield f"{title}{':' if groups else ''}"
    yield from (INDENT + group_line(group) for group in groups)


def _fixes(report: CheckReport) -> Iterator[str]:
    source = report.source["path"]
    hint = report.class_count_hint
    if hint:
        verdict = "; strict=True passes" if hint["strict"] else ""
        yield (f"hint: the file's head is for {hint['num_classes']} classes: --num-classes {hint['num_classes']} "
               f"would load {hint['loaded']} of {hint['target_tensors']}{verdict}")
    if report.remaps:
        yield "suggested remaps:"
        for remap in report.remaps:
            verdict = ", then strict=True passes" if remap["strict"] else ""
            yield (f"{INDENT}{remap['rule']}: {remap['loaded']} of {remap['target_tensors']} "
                   f"({_percent(remap['coverage'])}){verdict}")
            yield 2 * INDENT + export_command(source, ExportPlan.from_json(remap["plan"]))
    elif report.loads_strict and (report.alignment["rules"] or report.applied):
        yield "a file that loads as it is, without the alignment:"
        yield INDENT + export_command(source, ExportPlan.from_json(report.plan))


def _shape(shape: list[int]) -> str:
    return "[" + ", ".join(str(size) for size in shape) + "]"


def _percent(fraction: float) -> str:
    if fraction >= 1:
        return "100%"
    return f"{min(100 * fraction, 99.9):.1f}%"  # never rounded up to a full load
