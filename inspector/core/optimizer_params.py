"""Which parameter each optimizer state belongs to, when the file says so without guessing.

``optimizer.state_dict()`` numbers parameters by their position in ``param_groups``; a model
state dict saved beside it lists them in the same order (``model.parameters()`` order, tied
parameters once). The mapping is claimed only when exactly one state dict beside the optimizer
has as many parameters as the groups list (or as many trainable ones, where the file records
``requires_grad``) and every state tensor has its parameter's shape; otherwise nothing is claimed. Optimizer states keyed by parameter names (what
``torch.distributed.checkpoint`` saves) name their parameters themselves.
"""

from __future__ import annotations

from collections.abc import Iterator

from inspector.core.model import MAX_WALK_NODES, ModuleObject, TensorRef
from inspector.core.roles import is_optimizer_state, is_state_dict
from inspector.core.sharing import view_key


def map_optimizer_params(root: object) -> None:
    """Set ``extra["param"]`` on optimizer-state tensors whose parameter is known, in place."""
    for optimizer, neighbours in _optimizers_with_neighbours(root):
        state = optimizer["state"]
        if isinstance(state, dict) and state and all(isinstance(key, str) for key in state):
            _label(state, {key: key for key in state})
            continue
        fitting = [names for names in (_fit_any(optimizer, other) for other in neighbours) if names]
        if len(fitting) == 1:  # one state dict beside it fits: two that fit would be a guess
            _label(state, fitting[0])


def _optimizers_with_neighbours(root: object) -> Iterator[tuple[dict, list[object]]]:
    """Each optimizer state dict with the state dicts beside it (and beside the list holding
    it, as Lightning's ``optimizer_states`` list sits beside ``state_dict``)."""
    stack: list[tuple[object, list[object]]] = [(root, [])]
    seen: set[int] = set()
    while stack and len(seen) < MAX_WALK_NODES:
        value, outer = stack.pop()
        if id(value) in seen or not isinstance(value, (dict, list, tuple)):
            continue
        seen.add(id(value))
        children = list(value.values()) if isinstance(value, dict) else list(value)
        beside = [child for child in children if _is_candidate(child)]
        inherited = beside if isinstance(value, dict) else outer + beside  # one list per container
        for child in children:
            if is_optimizer_state(child):
                yield child, beside + outer
            elif isinstance(child, (dict, list, tuple)):
                stack.append((child, inherited))


def _is_candidate(value: object) -> bool:
    return isinstance(value, ModuleObject) or is_state_dict(value)


def _parameters(candidate: object) -> list[tuple[str, TensorRef]]:
    """The state dict's parameters in order, tied ones once (as ``model.parameters()`` gives them)."""
    entries = candidate.state_dict if isinstance(candidate, ModuleObject) else candidate
    found, seen = [], set()
    for key, tensor in entries.items():
        if tensor.role != "parameter":
            continue
        identity = view_key(tensor)
        if identity not in seen:
            seen.add(identity)
            found.append((key, tensor))
    return found


def _parameter_lists(candidate: object) -> list[list[tuple[str, TensorRef]]]:
    """The parameters an optimizer of this model may hold: all of them, and — when the file
    records ``requires_grad`` (saved Parameters) — the trainable ones, as optimizers built
    from ``filter(lambda p: p.requires_grad, model.parameters())`` hold."""
    parameters = _parameters(candidate)
    recorded = all(tensor.extra.get("parameter") for _, tensor in parameters)
    trainable = [(key, tensor) for key, tensor in parameters if tensor.requires_grad]
    return [parameters, trainable] if recorded and len(trainable) < len(parameters) else [parameters]


def _fit_any(optimizer: dict, candidate: object) -> dict[object, str] | None:
    for parameters in _parameter_lists(candidate):
        names = _fit(optimizer, parameters)
        if names is not None:
            return names
    return None


def _fit(optimizer: dict, parameters: list[tuple[str, TensorRef]]) -> dict[object, str] | None:
    """Parameter id -> name when ``parameters`` match the optimizer's groups, else None."""
    ids = [pid for group in optimizer.get("param_groups") or () if isinstance(group, dict)
           for pid in (group.get("params") or ())]
    if len(ids) != len(parameters) or len(set(map(repr, ids))) != len(ids):
        return None
    names = {}
    for pid, (name, parameter) in zip(ids, parameters):
        entry = optimizer["state"].get(pid) if isinstance(optimizer["state"], dict) else None
        for value in (entry.values() if isinstance(entry, dict) else ()):
            if isinstance(value, TensorRef) and value.shape and value.shape != parameter.shape:
                return None
        names[pid] = name
    return names


def _label(state: dict, names: dict[object, str]) -> None:
    for pid, entry in state.items():
        if pid in names and isinstance(entry, dict):
            for value in entry.values():
                if isinstance(value, TensorRef):
                    value.extra["param"] = names[pid]
