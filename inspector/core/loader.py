"""Open any checkpoint: sniff the format, run its reader, then tidy the result.

After the reader, the root goes through ``sanitize`` (depth and node caps),
``flatten_modules`` (pickled nn.Modules become state-dict-shaped ``ModuleObject``s) and
``assign_roles``; safety warnings for code-running globals are added. Whatever goes wrong
inside, the caller sees a ``CheckpointError`` with one line, never a traceback.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable

from inspector.core.errors import Cancelled, CheckpointError, one_line
from inspector.core.model import Checkpoint
from inspector.core.progress import Job, Progress, run_job
from inspector.core.sniff import sniff

READER_MODULES: dict[str, str] = {
    "torch-zip": "torch_zip",
    "torch-legacy": "torch_legacy",
    "pickle": "plain_pickle",
    "torchscript": "torchscript",
    "safetensors": "safetensors_file",
    "hf-sharded": "hf_sharded",
    "dcp": "dcp",
}


def load_checkpoint(path: str | os.PathLike) -> Job[Checkpoint]:
    """A job that reads ``path`` into a ``Checkpoint`` (raises ``CheckpointError``)."""
    path = os.fspath(path)
    try:
        format_name = sniff(path)
        yield Progress(0, 0, f"Reading {os.path.basename(path) or path} ({format_name})")
        checkpoint = yield from _read(format_name, path)
        _finish(checkpoint)
    except (CheckpointError, Cancelled):
        raise
    except Exception as error:  # MemoryError and RecursionError included: never a traceback
        raise CheckpointError(f"{path}: cannot be read as a checkpoint ({one_line(error)})") from error
    return checkpoint


def open_checkpoint(path: str | os.PathLike,
                    on_progress: Callable[[Progress], object] | None = None) -> Checkpoint:
    """Read ``path`` to the end; ``on_progress`` may raise ``Cancelled``."""
    return run_job(load_checkpoint(path), on_progress)


def _read(format_name: str, path: str) -> Job[Checkpoint]:
    reader = importlib.import_module(f"inspector.core.formats.{READER_MODULES[format_name]}")
    checkpoint = yield from reader.read(path)
    if not isinstance(checkpoint, Checkpoint):
        raise TypeError(f"the {format_name} reader returned {type(checkpoint).__name__}")
    return checkpoint


def _finish(checkpoint: Checkpoint) -> None:
    from inspector.core.module_flatten import flatten_modules
    from inspector.core.optimizer_params import map_optimizer_params
    from inspector.core.roles import assign_roles
    from inspector.core.safety import safety_warnings
    from inspector.core.sanitize import sanitize

    root, sanitize_warnings = sanitize(checkpoint.root)
    root = flatten_modules(root)
    assign_roles(root)
    map_optimizer_params(root)
    checkpoint.root = root
    warnings = [*checkpoint.warnings, *sanitize_warnings, *safety_warnings(checkpoint.globals)]
    checkpoint.warnings = list(dict.fromkeys(warnings))

