"""Infer the role of tensors that no module declared: optimizer state, parameter or buffer.

Pickled modules already mark their tensors exactly (``module_flatten``). Everywhere else the
role is guessed from where a tensor sits: under an optimizer state dict (a dict with
``state`` and ``param_groups``, as ``optimizer.state_dict()`` and Lightning's
``optimizer_states`` hold) it is optimizer state; as a value of a state dict (str keys, all
tensors) it is a buffer when its name is a well-known buffer name, else a parameter. A tensor
pickled as an ``nn.Parameter`` (e.g. in a pickled optimizer's param groups) is a parameter.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from inspector.core.dtypes import COMPLEX, FLOATING
from inspector.core.model import MAX_WALK_NODES, ModuleObject, PickledObject, TensorRef

# Last dotted name component of state_dict entries that modules register as buffers.
WELL_KNOWN_BUFFERS = frozenset({
    "running_mean", "running_var", "num_batches_tracked",  # batch norm
    "position_ids", "token_type_ids",  # Hugging Face embeddings
    "inv_freq", "cos_cached", "sin_cached",  # rotary embeddings
    "masked_bias",  # GPT-2 attention
    "relative_position_index",  # Swin / BEiT
    "_float_tensor",  # fairseq sinusoidal positions
})

TRAINABLE_DTYPES = FLOATING | COMPLEX

# state_dict keys are dotted names ("layer1.0.conv1.weight"; converted files may use "a/b/c"),
# not file paths or labels (Lightning's best_k_models maps "/runs/epoch=3.ckpt" to a score).
STATE_DICT_KEY = re.compile(r"(?!/)[\w.\-/]+")

# Walk contexts: what an enclosing container says about the tensors below it.
PLAIN = "plain"
OBJECT_STATE = "object-state"  # the attribute dict of a pickled object: not a state dict
OPTIMIZER = "optimizer-state"


def assign_roles(root: object) -> None:
    """Set ``role`` on tensors still marked "tensor", outside ``ModuleObject``s, in place."""
    seen: set[int] = set()
    stack: list[tuple[object, str]] = [(root, PLAIN)]
    while stack and len(seen) < MAX_WALK_NODES:
        value, context = stack.pop()
        if isinstance(value, TensorRef):
            _set_role(value, _tensor_role(value, context))
            continue
        if isinstance(value, ModuleObject) or id(value) in seen:
            continue
        if not isinstance(value, (dict, list, tuple, PickledObject)):
            continue
        seen.add(id(value))
        stack.extend(_children_with_context(value, context))


def is_optimizer_state(value: object) -> bool:
    return isinstance(value, dict) and "state" in value and "param_groups" in value


def is_state_dict(value: object) -> bool:
    """A non-empty mapping of dotted names to tensors, like ``model.state_dict()``."""
    if not isinstance(value, dict) or not value:
        return False
    return all(isinstance(key, str) and STATE_DICT_KEY.fullmatch(key) and isinstance(tensor, TensorRef)
               for key, tensor in value.items())


def state_dict_role(key: str, tensor: TensorRef) -> str:
    """A parameter unless the name is a well-known buffer's or the dtype cannot hold a gradient
    (integer and bool tensors are never trainable: masks, counters, index tables)."""
    if key.rsplit(".", 1)[-1] in WELL_KNOWN_BUFFERS or tensor.dtype not in TRAINABLE_DTYPES:
        return "buffer"
    return "parameter"


def _tensor_role(tensor: TensorRef, context: str) -> str | None:
    if tensor.extra.get("parameter"):  # pickled as an nn.Parameter
        return "parameter"
    return "optimizer-state" if context == OPTIMIZER else None


def _set_role(tensor: TensorRef, role: str | None) -> None:
    if role is not None and tensor.role == "tensor":
        tensor.role = role


def _children_with_context(value: object, context: str) -> Iterator[tuple[object, str]]:
    if isinstance(value, PickledObject):
        yield value.state, OBJECT_STATE if context == PLAIN else context
        for child in (value.args, value.items, value.dict_items):
            yield child, context
        return
    if context in (PLAIN, OBJECT_STATE) and is_optimizer_state(value):
        yield from ((child, OPTIMIZER) for child in value.values())
        return
    if context == PLAIN and is_state_dict(value):
        for key, tensor in value.items():
            _set_role(tensor, state_dict_role(key, tensor))
        return
    children = value.values() if isinstance(value, dict) else value
    inherited = PLAIN if context == OBJECT_STATE else context
    yield from ((child, inherited) for child in children)

