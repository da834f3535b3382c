"""What a checkpoint is checked against: a torchvision architecture, or another checkpoint.

Both build a fresh ``nn.Module`` whose parameters and buffers live on the meta device (no
weights, no memory) each time ``build()`` is called, since a module's legacy-key handling may
change the model while it loads (mnasnet). A torchvision model is built on CPU with every
parameter and buffer re-created on meta as it registers (global registration hooks): plainly
under ``torch.device("meta")`` RegNet's width computation calls ``.tolist()`` on a meta tensor
and fails. Detection and segmentation builders get ``weights_backbone=None`` (no download).
torch is imported only inside these methods.
"""

from __future__ import annotations

import warnings

from inspector.core.check_catalog import close_names
from inspector.core.errors import CheckpointError, one_line
from inspector.core.state_dict_choice import StateDictView

CLASS_COUNT_PROBES = (7, 11)  # two head sizes: the tensors whose shape follows them are the head


class ArchTarget:
    """``arch`` from torchvision, with ``num_classes`` (None: the builder's default) and other
    builder ``options`` (plain values)."""

    def __init__(self, arch: str, num_classes: int | None = None, options: dict | None = None) -> None:
        self.arch = arch
        self.num_classes = num_classes
        self.options = dict(options or {})
        self._head_keys: set[str] | None = None
        self._probe_shapes: dict[int, dict[str, tuple[int, ...]]] = {}

    def describe(self) -> dict:
        """The report's ``target`` object."""
        described = {"arch": self.arch, "num_classes": self.num_classes}
        if self.options:
            described["options"] = dict(self.options)
        return described

    @property
    def label(self) -> str:
        settings = [f"num_classes={self.num_classes}"] if self.num_classes is not None else []
        settings += [f"{name}={value!r}" for name, value in self.options.items()]
        return f"{self.arch} ({', '.join(settings)})" if settings else self.arch

    def check_name(self) -> None:
        """``CheckpointError`` naming close architectures when torchvision has no ``arch``."""
        from torchvision.models import list_models

        known = list_models()
        if self.arch not in known:
            close = close_names(self.arch, known)
            hint = f"; did you mean {', '.join(close)}?" if close else " (torchvision.models.list_models() lists them)"
            raise CheckpointError(f"torchvision has no architecture {self.arch!r}{hint}")

    def with_num_classes(self, num_classes: int) -> ArchTarget:
        return ArchTarget(self.arch, num_classes, self.options)

    def build(self, num_classes: int | None = None):
        """A fresh model on the meta device (``num_classes`` overrides the target's)."""
        from torchvision.models import get_model

        arguments = {**self.options, **_backbone_argument(self.arch), "weights": None}
        count = self.num_classes if num_classes is None else num_classes
        if count is not None:
            arguments["num_classes"] = count
        try:
            return build_on_meta(lambda: get_model(self.arch, **arguments))
        except Exception as error:
            raise CheckpointError(f"cannot build {self.label}: {one_line(error)}") from None

    def head_keys(self) -> set[str]:
        """Target keys whose shape follows num_classes (empty when the builder takes none)."""
        if self._head_keys is None:
            small, large = (self._shapes_with(count) for count in CLASS_COUNT_PROBES)
            self._head_keys = {key for key, shape in small.items() if large.get(key) != shape} if small else set()
        return self._head_keys

    def class_count_of(self, mismatched: list[tuple[str, tuple[int, ...]]]) -> int | None:
        """The num_classes that gives these head tensors the file's shapes, or None.

        A head dimension is ``a·num_classes + b``; the two probe builds give ``a`` and ``b``.
        """
        if not mismatched or not self.head_keys():
            return None
        (small_count, small), (large_count, large) = ((count, self._shapes_with(count)) for count in CLASS_COUNT_PROBES)
        found: set[int] = set()
        for key, file_shape in mismatched:
            counts = _counts_for(file_shape, small.get(key), large.get(key), small_count, large_count)
            if counts is None:
                return None
            found |= counts
        return found.pop() if len(found) == 1 else None

    def _shapes_with(self, count: int) -> dict[str, tuple[int, ...]]:
        if count not in self._probe_shapes:
            try:
                model = self.build(num_classes=count)
            except CheckpointError:  # the builder takes no num_classes
                self._probe_shapes[count] = {}
            else:
                self._probe_shapes[count] = {key: tuple(value.shape) for key, value in model.state_dict().items()}
        return self._probe_shapes[count]


def _counts_for(file_shape, small, large, small_count: int, large_count: int) -> set[int] | None:
    if small is None or large is None or len(file_shape) != len(small):
        return None
    counts = set()
    for file_size, small_size, large_size in zip(file_shape, small, large):
        if small_size == large_size:
            if file_size != small_size:
                return None
            continue
        step, remainder = divmod(large_size - small_size, large_count - small_count)
        offset = small_size - step * small_count
        if remainder or step <= 0 or (file_size - offset) % step or file_size <= offset:
            return None
        counts.add((file_size - offset) // step)
    return counts


def _backbone_argument(arch: str) -> dict:
    """``weights_backbone=None`` for builders that would otherwise download a backbone."""
    import inspect

    from torchvision.models import get_model_builder

    parameters = inspect.signature(get_model_builder(arch)).parameters
    return {"weights_backbone": None} if "weights_backbone" in parameters else {}


class CheckpointTarget:
    """The keys and shapes of another checkpoint's state dict, as a module tree of meta tensors:
    parameters where the file has parameters (or plain tensors), buffers where it has buffers."""

    def __init__(self, path: str, view: StateDictView, class_name: str = "") -> None:
        self.path = path
        self.view = view
        self.class_name = _identifier(class_name.rpartition(".")[2]) or "Module"

    def describe(self) -> dict:
        return {"path": self.path}

    @property
    def label(self) -> str:
        return self.path

    def build(self):
        import torch

        from inspector.core.check_trial import MetaTensors

        tensors = MetaTensors({key: (tensor.shape, tensor.dtype) for key, tensor in self.view.tensors.items()})
        root = type(self.class_name, (torch.nn.Module,), {})()
        fed = tensors.state_dict({key: key for key in self.view.tensors}, None)
        for key, tensor in fed.items():
            *path, name = key.split(".")
            module = _child_at(root, path, torch)
            if self.view.tensors[key].role == "buffer":
                module._buffers[name] = tensor
            else:
                module._parameters[name] = torch.nn.Parameter(tensor, requires_grad=False)
        return root

    def head_keys(self) -> set[str]:
        """The entries of the last module in the file: where a classifier usually is."""
        keys = list(self.view.tensors)
        module = keys[-1].rpartition(".")[0] if keys else ""
        return {key for key in keys if key.rpartition(".")[0] == module}

    def class_count_of(self, mismatched) -> int | None:
        return None


def _child_at(root, path: list[str], torch):
    """The submodule at ``path``, made on the way. Entries go straight into the module's
    dicts, so any key works (``training``, ``forward``, a name that is also a tensor)."""
    module = root
    for part in path:
        child = module._modules.get(part)
        if child is None:
            child = torch.nn.Module()
            module._modules[part] = child
        module = child
    return module


def _identifier(name: str) -> str:
    return name if name.isidentifier() else ""


def build_on_meta(factory):
    """``factory()`` with every parameter and buffer re-created on the meta device as it
    registers: code that computes with plain tensors (RegNet's widths) still runs on CPU."""
    from torch.nn.modules.module import (
        register_module_buffer_registration_hook, register_module_parameter_registration_hook,
    )

    handles = [register_module_parameter_registration_hook(_meta_parameter),
               register_module_buffer_registration_hook(_meta_buffer)]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return factory()
    finally:
        for handle in handles:
            handle.remove()


def _meta_parameter(_module, _name, parameter):
    if parameter is None or parameter.is_meta:
        return None
    import torch

    return torch.nn.Parameter(torch.empty_like(parameter, device="meta"), requires_grad=parameter.requires_grad)


def _meta_buffer(_module, _name, buffer):
    if buffer is None or buffer.is_meta:
        return None
    import torch

    return torch.empty_like(buffer, device="meta")
