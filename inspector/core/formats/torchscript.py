"""TorchScript archives (``torch.jit.save``): the module tree and its tensors, never its code.

``<p>/data.pkl`` pickles the module tree as ``__torch__.*`` objects whose tensors live in
``<p>/data/<key>``; ``<p>/constants.pkl`` holds tensor constants from ``<p>/constants/<key>``.
Which attributes are parameters and buffers is declared in ``<p>/code/**.py`` as
``__parameters__ = [...]`` / ``__buffers__ = [...]`` lines; those lines are read as text with a
regular expression. The code is never compiled or run.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from collections.abc import Callable, Iterator

from inspector.core.errors import CheckpointError
from inspector.core.formats.torch_zip import load_archive_pickle, read_byteorder, validate_tensors
from inspector.core.model import Checkpoint, ModuleObject, PickledObject, TensorRef
from inspector.core.progress import Job, Progress
from inspector.core.unpickler import LoadedPickle
from inspector.core.zipreader import ZipArchive

FORMAT = "torchscript"
MAX_CODE_FILE_BYTES = 8 << 20
MAX_CODE_BYTES = 128 << 20
MAX_MODULES = 200_000
MAX_ENTRIES = 1_000_000
MAX_DEPTH = 256

CLASS_LINE = re.compile(r"class\s+(\w+)\s*[(:]")
DECLARATION_LINE = re.compile(r"\s+(__parameters__|__buffers__)\s*=\s*\[([^\]]*)\]")
QUOTED_NAME = re.compile(r"\"([^\"]*)\"|'([^']*)'")
MANGLE = re.compile(r"\.___torch_mangle_\d+")


def _same(value: object, *_: object) -> object:
    return value


# torch.jit._pickle helpers only tag container types; the value itself is the data.
SCRIPT_GLOBALS: dict[str, Callable[..., object]] = {
    "torch.jit._pickle.build_intlist": _same,
    "torch.jit._pickle.build_tensorlist": _same,
    "torch.jit._pickle.build_doublelist": _same,
    "torch.jit._pickle.build_boollist": _same,
    "torch.jit._pickle.restore_type_tag": _same,
}


@dataclass
class Declaration:
    """What a class's code file declares: its parameter and buffer attribute names."""

    parameters: set[str] = field(default_factory=set)
    buffers: set[str] = field(default_factory=set)


def clean_class_name(raw: str) -> str:
    """``__torch__.a.___torch_mangle_3.Linear`` -> ``__torch__.a.Linear``."""
    return MANGLE.sub("", raw)


def read(path: str) -> Job[Checkpoint]:
    try:
        with ZipArchive(path) as archive:
            checkpoint = yield from _read_archive(path, archive)
    except CheckpointError as error:
        name = os.path.basename(path) or path
        raise CheckpointError(str(error) if name in str(error) else f"{name}: {error}") from None
    return checkpoint


def _read_archive(path: str, archive: ZipArchive) -> Job[Checkpoint]:
    names = set(archive.names())
    prefix = archive_prefix(names)
    warnings: list[str] = []
    yield Progress(0, 3, "Reading TorchScript declarations")
    declarations = read_declarations(archive, prefix, warnings)
    yield Progress(1, 3, "Reading TorchScript module tree")
    byteorder = read_byteorder(archive, prefix)
    loaded = [_load_entry(archive, prefix, "data", byteorder)]
    yield Progress(2, 3, "Reading TorchScript constants")
    # traced_inputs.pkl is not read: torch.jit.trace saves its tensors without their bytes.
    extras = {folder: _load_entry(archive, prefix, folder, byteorder)
              for folder in ("constants",) if f"{prefix}{folder}.pkl" in names}
    loaded.extend(extras.values())
    builder = ScriptModuleBuilder(declarations, warnings)
    root = builder.build(loaded[0].value)
    if isinstance(root, ModuleObject):
        _attach_extras(root, {folder: part.value for folder, part in extras.items()})
    for part in loaded:
        warnings.extend(part.warnings)
    # TorchScript deflates its code files on purpose; only data records must be stored.
    warnings.extend(w for w in archive.warnings if f"{prefix}code/" not in w)
    metadata = {"byteorder": byteorder, "raw_class_names": builder.raw_class_names,
                "code_files": declarations.files}
    yield Progress(3, 3, "")
    return Checkpoint(path=path, format=FORMAT, root=root,
                      globals=sorted({name for part in loaded for name in part.globals}),
                      warnings=list(dict.fromkeys(warnings)), metadata=metadata)


def archive_prefix(names: set[str]) -> str:
    """The folder that holds ``data.pkl`` and ``constants.pkl`` (``"model/"``)."""
    candidates = sorted(name[: -len("data.pkl")] for name in names
                        if name.endswith("/data.pkl") and name.count("/") == 1)
    for prefix in candidates:
        if f"{prefix}constants.pkl" in names:
            return prefix
    if candidates:
        return candidates[0]
    if any(name.endswith("model.json") for name in names):
        raise CheckpointError("an old TorchScript archive (model.json, torch < 1.4) is not supported")
    raise CheckpointError("a zip archive without data.pkl: not a TorchScript archive")


class Declarations(dict):
    """Qualified raw class name -> ``Declaration``; ``files`` lists the code files read."""

    def __init__(self) -> None:
        super().__init__()
        self.files: list[str] = []


def read_declarations(archive: ZipArchive, prefix: str, warnings: list[str]) -> Declarations:
    declarations = Declarations()
    budget = MAX_CODE_BYTES
    code_folder = f"{prefix}code/"
    for name in archive.names():
        if not (name.startswith(code_folder) and name.endswith(".py")):
            continue
        try:
            data = archive.read(name, min(MAX_CODE_FILE_BYTES, budget))
        except CheckpointError:
            warnings.append(f"code file {name} is too large to scan for declarations")
            continue
        budget -= len(data)
        module = name[len(code_folder):-len(".py")].replace("/", ".")
        declarations.update(parse_declarations(module, data.decode("utf-8", "replace")))
        declarations.files.append(name)
    return declarations


def parse_declarations(module: str, text: str) -> dict[str, Declaration]:
    """Scan code text line by line for class headers and their declaration lines."""
    found: dict[str, Declaration] = {}
    current: Declaration | None = None
    for line in text.splitlines():
        header = CLASS_LINE.match(line)
        if header:
            current = found.setdefault(f"{module}.{header.group(1)}", Declaration())
            continue
        if line[:1] not in (" ", "\t"):
            current = None
        declared = DECLARATION_LINE.match(line) if current is not None else None
        if declared:
            names = {a or b for a, b in QUOTED_NAME.findall(declared.group(2))}
            target = current.parameters if declared.group(1) == "__parameters__" else current.buffers
            target.update(names)
    return found


class ScriptModuleBuilder:
    """Flattens the scripted module tree like ``ScriptModule.state_dict()``."""

    def __init__(self, declarations: dict[str, Declaration], warnings: list[str]) -> None:
        self.declarations = declarations
        self.warnings = warnings
        self.raw_class_names: dict[str, str] = {}
        self.undeclared: set[str] = set()

    def build(self, root: object) -> object:
        if not self.is_module(root):
            self.warnings.append("data.pkl does not hold a scripted module; shown as it is")
            return root
        state_dict: dict[str, TensorRef] = {}
        classes: dict[str, str] = {}
        extra: dict[str, object] = {}
        for prefix, module in self._modules_in_order(root):
            if len(state_dict) + len(extra) >= MAX_ENTRIES:
                self.warnings.append(f"more than {MAX_ENTRIES} tensors: the rest are not shown")
                break
            self.raw_class_names[prefix.rstrip(".")] = module.class_name
            classes[prefix.rstrip(".")] = clean_class_name(module.class_name)
            self._add_tensors(prefix, module, state_dict, extra)
        if self.undeclared:
            listed = ", ".join(sorted(self.undeclared)[:5])
            self.warnings.append(f"no parameter/buffer declarations for {listed}: roles guessed from requires_grad")
        attributes = {name: value for name, value in root.state.items()
                      if isinstance(name, str) and not name.startswith("_") and _is_simple(value)}
        attributes.update(extra)
        return ModuleObject(clean_class_name(root.class_name), state_dict, classes, attributes)

    def is_module(self, value: object) -> bool:
        if not isinstance(value, PickledObject) or not isinstance(value.state, dict):
            return False
        if not value.class_name.startswith("__torch__."):
            return False
        return value.class_name in self.declarations or "training" in value.state

    def _modules_in_order(self, root: PickledObject) -> Iterator[tuple[str, PickledObject]]:
        stack: list[tuple[str, PickledObject, int]] = [("", root, 0)]
        count = 0
        while stack and count < MAX_MODULES:
            prefix, module, depth = stack.pop()
            count += 1
            yield prefix, module
            children = [(f"{prefix}{name}.", child, depth + 1) for name, child in module.state.items()
                        if isinstance(name, str) and self.is_module(child)]
            if depth < MAX_DEPTH:
                stack.extend(reversed(children))
            elif children:
                self.warnings.append(f"modules nested deeper than {MAX_DEPTH} levels are not shown")
        if stack:
            self.warnings.append(f"more than {MAX_MODULES} modules: the rest are not shown")

    def _add_tensors(self, prefix: str, module: PickledObject, state_dict: dict, extra: dict) -> None:
        declaration = self.declarations.get(module.class_name)
        if declaration is None:
            self.undeclared.add(clean_class_name(module.class_name))
        tensors = [(name, value) for name, value in module.state.items() if isinstance(value, TensorRef)]
        for role in ("parameter", "buffer"):
            for name, tensor in tensors:
                if _declared_role(declaration, name, tensor) == role:
                    tensor.role = role
                    state_dict[f"{prefix}{name}"] = tensor
        for name, tensor in tensors:
            if _declared_role(declaration, name, tensor) is None:
                extra[f"{prefix}{name}"] = tensor


def _declared_role(declaration: Declaration | None, name: str, tensor: TensorRef) -> str | None:
    if declaration is None:
        return "parameter" if tensor.requires_grad else "buffer"
    if name in declaration.parameters:
        return "parameter"
    if name in declaration.buffers:
        return "buffer"
    return None


def _is_simple(value: object) -> bool:
    return isinstance(value, (str, int, float, bool, type(None)))


def _attach_extras(root: ModuleObject, extras: dict[str, object]) -> None:
    """Constants, under the names the code files use for them (``CONSTANTS.c0``)."""
    constants = extras.get("constants")
    for index, value in enumerate(constants if isinstance(constants, (tuple, list)) else ()):
        root.attributes[f"CONSTANTS.c{index}"] = value


def _load_entry(archive: ZipArchive, prefix: str, folder: str, byteorder: str) -> LoadedPickle:
    """Unpickle ``<prefix><folder>.pkl`` with storages from ``<prefix><folder>/<key>``."""
    loaded = load_archive_pickle(archive, f"{prefix}{folder}.pkl", f"{prefix}{folder}/", byteorder,
                                 extra_globals=SCRIPT_GLOBALS)
    loaded.warnings.extend(validate_tensors(loaded.tensors))
    return loaded
