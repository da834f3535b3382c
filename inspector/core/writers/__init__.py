"""Writers of exported state dicts, chosen by the destination's extension.

Each format has a job ``write(tensors, destination, metadata) -> Job[int]`` that streams the
``OutputTensor``s to a temporary file beside ``destination``, renames it at the end, and
returns the size written, and ``cannot_hold(dtype)``: why it cannot store a dtype, or None.
None of them imports torch.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from inspector.core.errors import CheckpointError
from inspector.core.writers import pt_file, safetensors_file


class OutputFormat:
    __slots__ = ("name", "write", "cannot_hold")

    def __init__(self, name: str, write: Callable, cannot_hold: Callable[[str], str | None]) -> None:
        self.name = name
        self.write = write
        self.cannot_hold = cannot_hold

    def __repr__(self) -> str:
        return f"OutputFormat({self.name!r})"


PT = OutputFormat("pt", pt_file.write_pt, pt_file.cannot_hold)
SAFETENSORS = OutputFormat("safetensors", safetensors_file.write_safetensors, safetensors_file.cannot_hold)
FORMATS: dict[str, OutputFormat] = {".pt": PT, ".pth": PT, ".safetensors": SAFETENSORS}


def output_format(destination: str) -> OutputFormat:
    """The format ``destination``'s extension asks for; ``CheckpointError`` for an unknown one."""
    suffix = os.path.splitext(destination)[1].lower()
    if suffix not in FORMATS:
        raise CheckpointError(f"cannot write {destination}: the output must end in {', '.join(FORMATS)}")
    return FORMATS[suffix]
