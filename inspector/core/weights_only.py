"""What ``torch.load(weights_only=True)`` accepts, judged from a file's globals (no torch here).

torch allows its own tensor rebuilders, storages, dtypes and a few containers by default. Some
other classes are plain data that many checkpoints hold (``argparse.Namespace`` from training
scripts, numpy scalars and arrays, paths); a loading snippet may allow exactly those by name
with ``torch.serialization.safe_globals``. Anything else would run code from the file.
"""

from __future__ import annotations

from collections.abc import Iterator

from inspector.core.model import MAX_WALK_NODES, Checkpoint, PickledObject
from inspector.core.pickled_values import NumpyArray, NumpyScalar

TORCH_ALLOWS = frozenset({
    "collections.OrderedDict", "collections.Counter", "_codecs.encode", "builtins.set", "builtins.frozenset",
    "builtins.bytearray", "torch.Size", "torch.device", "torch.nn.parameter.Parameter",
})
TORCH_ALLOWS_PREFIXES = ("torch._utils._rebuild_", "torch._tensor._rebuild_", "torch.storage.")
NUMPY_CORE = ("numpy.core.multiarray", "numpy._core.multiarray")
# plain-data globals -> (module to import, expression naming the object in the snippet)
PLAIN_DATA = {
    "argparse.Namespace": ("argparse", "argparse.Namespace"),
    "numpy.dtype": ("numpy", "numpy.dtype"),
    "numpy.ndarray": ("numpy", "numpy.ndarray"),
    "pathlib.PosixPath": ("pathlib", "pathlib.PosixPath"),
    "pathlib.WindowsPath": ("pathlib", "pathlib.WindowsPath"),
    **{f"{module}.{name}": ("numpy", f"({module}.{name}, {module + '.' + name!r})")
       for module in NUMPY_CORE for name in ("scalar", "_reconstruct")},
}


def torch_allows(name: str) -> bool:
    if name in TORCH_ALLOWS or name.startswith(TORCH_ALLOWS_PREFIXES):
        return True
    module, _, attribute = name.rpartition(".")
    return module == "torch" and (attribute.endswith("Storage") or attribute[:1].islower())  # storages, dtypes


def code_running_globals(checkpoint: Checkpoint) -> list[str]:
    """Globals that neither torch allows nor are known plain data: weights_only=True fails."""
    return [name for name in checkpoint.globals if not torch_allows(name) and name not in PLAIN_DATA]


def safe_globals_lines(checkpoint: Checkpoint) -> tuple[list[str], str]:
    """(imports, the list expression) allowing exactly the plain-data globals the file needs,
    or ([], "") when torch's defaults suffice."""
    needed = [name for name in checkpoint.globals if name in PLAIN_DATA]
    if not needed:
        return [], ""
    imports = sorted({PLAIN_DATA[name][0] for name in needed})
    entries = [PLAIN_DATA[name][1] for name in needed]
    if "numpy.dtype" in needed:  # numpy rebuilds a dtype by setting its state: its class must be allowed too
        entries += [f"type(numpy.dtype({code!r}))" for code in _dtype_codes(checkpoint.root)]
    return imports, "[" + ", ".join(entries) + "]"


def _dtype_codes(root: object) -> list[str]:
    """numpy's type codes of the scalars and arrays the file holds (each needs its dtype class)."""
    codes: dict[str, None] = {}
    for value in _walk(root):
        code = getattr(value, "dtype_code", "") if isinstance(value, (NumpyScalar, NumpyArray)) else ""
        if code:
            codes[code] = None
    return list(codes)


def _walk(root: object) -> Iterator[object]:
    stack, seen = [root], 0
    while stack and seen < MAX_WALK_NODES:
        value = stack.pop()
        seen += 1
        yield value
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, (list, tuple)):
            stack.extend(value)
        elif isinstance(value, PickledObject):
            stack.extend((value.args, value.state, value.items, value.dict_items))
