"""Writers of exported state dicts, chosen by the destination's extension.

Each writer is a job ``write(tensors, destination, metadata) -> Job[int]`` that streams the
``OutputTensor``s to a temporary file beside ``destination``, renames it at the end, and
returns the size written. None of them imports torch.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from inspector.core.errors import CheckpointError
from inspector.core.writers.pt_file import write_pt
from inspector.core.writers.safetensors_file import write_safetensors

WRITERS: dict[str, Callable] = {".pt": write_pt, ".pth": write_pt, ".safetensors": write_safetensors}


def writer_for(destination: str) -> Callable:
    """The writer for ``destination``'s extension; ``CheckpointError`` for an unknown one."""
    suffix = os.path.splitext(destination)[1].lower()
    if suffix not in WRITERS:
        raise CheckpointError(f"cannot write {destination}: the output must end in "
                              f"{', '.join(WRITERS)}")
    return WRITERS[suffix]
