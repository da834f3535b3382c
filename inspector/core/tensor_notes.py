"""Short facts about a tensor row that its role alone does not say: a frozen parameter, the
parameter an optimizer state belongs to, another tensor over the same stored bytes.

Shared by the CLI's text tree and the window's tree and panel header.
"""

from __future__ import annotations

from inspector.core.model import TensorRef


def is_frozen(tensor: TensorRef) -> bool:
    """A Parameter saved with ``requires_grad=False`` (``keep_vars=True`` saves, pickled modules)."""
    return bool(tensor.extra.get("parameter")) and not tensor.requires_grad


def tensor_notes(tensor: TensorRef, shared_with: str = "") -> list[str]:
    notes = []
    if is_frozen(tensor):
        notes.append("frozen")
    if "param" in tensor.extra:
        notes.append(f"of {tensor.extra['param']}")
    if shared_with:
        notes.append(f"shares storage with {shared_with}")
    return notes


def role_text(tensor: TensorRef, shared_with: str = "") -> str:
    """``parameter · frozen``, ``optimizer-state · of layer1.0.conv1.weight``, ``parameter``."""
    return " · ".join([tensor.role, *tensor_notes(tensor, shared_with)])


def optimizer_entry_param(children) -> str:
    """The parameter an optimizer's per-parameter entry (``state › 12``) belongs to, when its
    tensors name one and agree."""
    params = {child.tensor.extra.get("param") for child in children if getattr(child, "tensor", None) is not None}
    return next(iter(params)) if len(params) == 1 and None not in params else ""
