"""Text the context menu copies: a row's key, its path, and Python that loads it.

The loading snippets use the usual libraries (safetensors, torch). Where that library would
run code from the file (a pickled model needs ``weights_only=False``; a plain pickle needs
``pickle.load``) the snippet says so in a comment.
"""

from __future__ import annotations

import json
from typing import Any

from inspector.core.model import Checkpoint, ModuleObject, PickledObject
from inspector.core.pickled_values import Namespace
from inspector.core.weights_only import PLAIN_DATA, code_running_globals, safe_globals_lines

UNSAFE_NOTE = "# runs code from the file: only for files you trust"


def copy_key(node: Any) -> str:
    if node.key:
        return node.key
    return str(node.path[-1]) if node.path else str(node.name)


def copy_path(node: Any) -> str:
    """The row's path as in ``inspector info --json`` (a JSON list)."""
    return json.dumps(_full_path(node))


def loading_snippet(checkpoint: Checkpoint, node: Any) -> str:
    fmt = checkpoint.format
    if fmt in ("safetensors", "hf-sharded") and node.tensor is not None and node.tensor.storage is not None:
        return _safetensors_snippet(node.tensor.storage.path, str(node.path[-1]))
    if fmt == "safetensors":
        return _safetensors_listing(checkpoint.path)
    if fmt == "hf-sharded":
        return _sharded_listing(checkpoint.path)
    if fmt == "torchscript":
        return _torchscript_snippet(checkpoint.path, node)
    steps, needs_code, value = _accessors(checkpoint.root, list(node.path))
    prefix = _prefix_in_state_dict(node)
    if prefix and isinstance(value, ModuleObject):
        steps.append(".state_dict()")
    selection = _selection("checkpoint" + "".join(steps), prefix, node)
    opener = _opener(checkpoint, needs_code)
    return "\n".join(opener + selection)


def _opener(checkpoint: Checkpoint, needs_code: bool) -> list[str]:
    path = _quote(checkpoint.path)
    if checkpoint.format == "pickle":
        return ["import pickle", "", f"with open({path}, \"rb\") as file:",
                f"    checkpoint = pickle.load(file)  {UNSAFE_NOTE}"]
    if checkpoint.format == "dcp":
        return ["import torch", "from torch.distributed.checkpoint.format_utils import dcp_to_torch_save", "",
                f"dcp_to_torch_save({path}, \"converted.pt\")  # one torch.save file from the folder",
                "checkpoint = torch.load(\"converted.pt\", map_location=\"cpu\", weights_only=True)"]
    foreign = code_running_globals(checkpoint)
    if needs_code or foreign:
        named = ", ".join(foreign[:4]) + (", …" if len(foreign) > 4 else "")
        return ["import torch", "", f"# weights_only=True cannot load it: it holds {named or 'pickled classes'},",
                "# which torch.load would import and run.", f"{UNSAFE_NOTE}:",
                f"checkpoint = torch.load({path}, map_location=\"cpu\", weights_only=False)"]
    imports, allowed = safe_globals_lines(checkpoint)
    if allowed:
        return [*(f"import {module}" for module in imports), "import torch", "",
                "# weights_only=True loads tensors and plain data only; these plain-data classes",
                "# from the file are allowed by name, nothing else:",
                f"with torch.serialization.safe_globals({allowed}):",
                f"    checkpoint = torch.load({path}, map_location=\"cpu\", weights_only=True)"]
    return ["import torch", "", "# weights_only=True: torch.load still unpickles, but only tensors and plain data",
            f"checkpoint = torch.load({path}, map_location=\"cpu\", weights_only=True)"]


def _selection(expression: str, prefix: str, node: Any) -> list[str]:
    if prefix:  # a module inside a state dict: its entries share the dotted prefix
        return [f"{_variable(node)} = {{key: value for key, value in {expression}.items()",
                f"    if key.startswith({_quote(prefix + '.')})}}"]
    return [f"{_variable(node)} = {expression}"]


def _variable(node: Any) -> str:
    return {"tensor": "tensor", "module": "entries", "value": "value"}.get(node.kind, "item")


def _accessors(root: Any, path: list) -> tuple[list[str], bool, Any]:
    """Python subscriptions that walk ``path`` from the loaded object, whether loading it
    needs the full unpickler (a pickled model or class instance on the way), and the value
    reached."""
    steps: list[str] = []
    needs_code = False
    value = root
    for element in path:
        if isinstance(value, ModuleObject):
            needs_code = True
            steps.append(f".state_dict()[{_quote(element)}]")
            value = value.state_dict.get(element, value.attributes.get(element))
        elif isinstance(value, Namespace):  # argparse.Namespace: fields are attributes
            steps.append(f".{element}" if str(element).isidentifier() else f"[{_quote(element)}]")
            value = value.get(element)
        elif isinstance(value, PickledObject):
            needs_code = needs_code or value.class_name not in PLAIN_DATA
            steps.append(f".{element}" if str(element).isidentifier() else f"[{_quote(element)}]")
            value = None
        else:
            steps.append(f"[{_quote(element)}]")
            value = _child(value, element)
    root_is_code = isinstance(root, ModuleObject) or (isinstance(root, PickledObject) and root.class_name not in PLAIN_DATA)
    return steps, needs_code or root_is_code, value


def _child(value: Any, element: Any) -> Any:
    try:
        return value[element]
    except (KeyError, IndexError, TypeError):
        return None


def _prefix_in_state_dict(node: Any) -> str:
    return node.key if node.kind == "module" and node.key and not _path_ends_with_key(node) else ""


def _torchscript_snippet(path: str, node: Any) -> str:
    lines = ["import torch", "", "# torch.jit.load reads the archive's TorchScript code; only for files you trust",
             f"module = torch.jit.load({_quote(path)}, map_location=\"cpu\")", "state = module.state_dict()"]
    if node.tensor is not None:
        return "\n".join(lines + [f"tensor = state[{_quote(copy_key(node))}]"])
    prefix = node.key if node.kind == "module" else ""
    return "\n".join(lines + (_selection("state", prefix, node) if prefix else []))


def _path_ends_with_key(node: Any) -> bool:
    return bool(node.path) and node.path[-1] == node.key


def _full_path(node: Any) -> list:
    path = list(node.path)
    prefix = _prefix_in_state_dict(node)
    return path + [prefix] if prefix else path


def _safetensors_snippet(file_path: str, key: str) -> str:
    return "\n".join(["from safetensors import safe_open", "",
                      f"with safe_open({_quote(file_path)}, framework=\"pt\", device=\"cpu\") as file:",
                      f"    tensor = file.get_tensor({_quote(key)})"])


def _safetensors_listing(path: str) -> str:
    return "\n".join(["from safetensors import safe_open", "",
                      f"with safe_open({_quote(path)}, framework=\"pt\", device=\"cpu\") as file:",
                      "    keys = list(file.keys())"])


def _sharded_listing(folder: str) -> str:
    return "\n".join(["import glob", "import json", "",
                      f"index_file = glob.glob({_quote(folder + '/*.index.json')})[0]",
                      "with open(index_file) as file:",
                      "    shard_of_key = json.load(file)[\"weight_map\"]"])


def _quote(element: Any) -> str:
    return json.dumps(element) if isinstance(element, str) else repr(element)
