"""``export_checkpoint``: read a checkpoint, apply an export plan, write the state dict and
its sidecar. The job the CLI, the window's worker and the tests drive.

The sidecar ``OUT.json`` sits beside ``OUT.pt`` / ``OUT.safetensors`` (same name, ``.json``):
``{"source", "plan", "keys", "frozen", "trainable", "dropped", "snippet"}`` (DESIGN.md).
Both files are written to temporary names and renamed; neither may be a file of the source.
"""

from __future__ import annotations

import json
import os

from inspector.core.errors import CheckpointError
from inspector.core.export_snippet import loading_snippet
from inspector.core.loader import load_checkpoint
from inspector.core.model import Checkpoint
from inspector.core.plan import ExportPlan, ResolvedPlan
from inspector.core.progress import Job, sub_job
from inspector.core.writers import output_format
from inspector.core.writers.destination import check_destination, input_files, replacing

READ_SHARE = 0.02  # of the progress bar: reading the file is quick next to writing it


class ExportResult:
    """What an export wrote, as plain data (it crosses from the worker process to the window):
    the output and its sidecar paths, the output's size, the sidecar's document, the names
    of the rename rules, and ``(field, glob)`` for globs that matched no key."""

    __slots__ = ("destination", "sidecar", "size", "document", "rules", "unmatched")

    def __init__(self, destination: str, sidecar: str, size: int, document: dict,
                 rules: list[str], unmatched: list[tuple[str, str]]) -> None:
        self.destination = destination
        self.sidecar = sidecar
        self.size = size
        self.document = document
        self.rules = rules
        self.unmatched = unmatched

    def to_json(self) -> dict:
        return {"destination": self.destination, "sidecar": self.sidecar, "size": self.size,
                "document": self.document, "rules": list(self.rules),
                "unmatched": [list(entry) for entry in self.unmatched]}

    def __repr__(self) -> str:
        return f"ExportResult({self.destination!r}, size={self.size})"


def sidecar_path(destination: str) -> str:
    return os.path.splitext(destination)[0] + ".json"


def export_checkpoint(source: str, destination: str, plan: ExportPlan) -> Job[ExportResult]:
    """Export ``source`` through ``plan`` to ``destination`` (raises ``CheckpointError``)."""
    destination = os.path.abspath(destination)
    output = output_format(destination)
    sidecar = sidecar_path(destination)
    checkpoint = yield from sub_job(load_checkpoint(source), 0.0, READ_SHARE)
    protected = source_files(checkpoint)
    for path in (destination, sidecar):
        check_destination(path, protected)
    resolved = plan.resolve(checkpoint, output.cannot_hold)
    if not resolved.tensors:
        key, reason = resolved.dropped[0]
        raise CheckpointError(f"nothing to export: all {len(resolved.dropped)} tensors were left out "
                              f"({key}: {reason})")
    document = sidecar_document(checkpoint, resolved, destination, sidecar, output.name)
    metadata = {"format": "pt", "frozen": json.dumps(resolved.frozen)}
    # Both files are complete before either takes its name, and nothing yields between the two
    # renames: a cancel or a failure leaves the old pair (or none), never a new output with an old sidecar.
    with replacing(destination, protected) as out, replacing(sidecar, protected) as side:
        size = yield from sub_job(output.write(resolved.tensors, destination, metadata, into=out),
                                  READ_SHARE, 1.0)
        side.write((json.dumps(document, indent=1) + "\n").encode())
    rules = [rule.name for rule in plan.rules()]
    return ExportResult(destination, sidecar, size, document, rules, resolved.unmatched)


def export_job(source: str, destination: str, plan: dict) -> Job[dict]:
    """``export_checkpoint`` with plain arguments (the plan's JSON document) and a plain result
    (``ExportResult.to_json``): the "export" job a worker process runs."""
    result = yield from export_checkpoint(source, destination, ExportPlan.from_json(plan))
    return result.to_json()


def sidecar_document(checkpoint: Checkpoint, resolved: ResolvedPlan, destination: str,
                     sidecar: str, format_name: str) -> dict:
    return {
        "source": {"path": os.path.abspath(checkpoint.path), "format": checkpoint.format,
                   "state_dict": list(resolved.state_dict.path)},
        "plan": resolved.plan.to_json(),
        "keys": resolved.keys,
        "frozen": resolved.frozen,
        "trainable": resolved.trainable,
        "dropped": [{"key": key, "reason": reason} for key, reason in resolved.dropped],
        "snippet": loading_snippet(destination, sidecar, format_name),
    }


def source_files(checkpoint: Checkpoint) -> set[str]:
    """Every file the checkpoint was read from: an export must not overwrite any of them."""
    files = {tensor.storage.path for _, tensor in checkpoint.iter_tensors() if tensor.storage is not None}
    return files | input_files(checkpoint.path)
