"""The fewest module-path patterns that pick out a chosen set of state-dict keys.

The window's export toggles are sets of keys; an export plan holds globs, which should read
like the choice the user made (``exclude: ["fc"]``, ``freeze: ["conv1", "bn1", "layer1"]``)
and carry over to other files of the same model. A pattern here is a module path, escaped for
``fnmatch``, and matches every key at or below it (``key_globs``).

Along the module path of a key the patterns move it through a chain of states, one step per
pattern: include/exclude go "out" → "in" (an include) → "out" (an exclude: it always wins),
freeze goes "not frozen" → "frozen". A dynamic programme over the trie of keys finds, for
every module, the cheapest way to give each key the state wanted of it (keys wanted in no
particular state cost nothing), and a pattern is written where the state changes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from inspector.core.collector import collector_paused
from inspector.core.errors import CheckpointError

INCLUDE_STATES = (False, True, False)  # before any include, inside an include, inside an exclude
FREEZE_STATES = (False, True)
_IMPOSSIBLE = float("inf")


class _Module:
    """One node of the key trie: a module path, its children, and the wanted state of the key
    that is this very path (``own``; ``_NO_KEY`` when no key ends here)."""

    __slots__ = ("path", "children", "own", "costs", "entry_costs")

    def __init__(self, path: str) -> None:
        self.path = path
        self.children: dict[str, _Module] = {}
        self.own: object = _NO_KEY
        self.costs: list[float] = []  # per state of this module: the fewest patterns below it
        self.entry_costs: list[float] = []  # per state of its parent: the same, with the step into it


_NO_KEY = object()


def include_patterns(keys: Sequence[str], wanted: Callable[[int], bool]) -> tuple[list[str], list[str]]:
    """``(include, exclude)`` that keep exactly the keys whose position ``wanted`` says:
    kept = (no include, or one matches) and no exclude matches."""
    chosen = [wanted(position) for position in range(len(keys))]
    if all(chosen):
        return [], []
    if not any(chosen):
        return [], ["*"]
    with collector_paused():
        trie = _trie(keys, wanted)
        _fill_costs(trie, INCLUDE_STATES)
        start = 1 if trie.costs[1] <= trie.costs[0] else 0  # no include list at all, when that is as short
        patterns = _patterns(trie, start, len(INCLUDE_STATES))
    return patterns[0], patterns[1]


def freeze_patterns(keys: Sequence[str], wanted: Callable[[int], bool | None]) -> list[str]:
    """Patterns matching the keys wanted frozen and none of those wanted not frozen (None:
    either will do, e.g. a buffer, which is never frozen)."""
    if not any(wanted(position) for position in range(len(keys))):
        return []
    with collector_paused():
        trie = _trie(keys, wanted)
        _fill_costs(trie, FREEZE_STATES)
        return _patterns(trie, 0, len(FREEZE_STATES))[0]


def escape(path: str) -> str:
    """``path`` as an fnmatch pattern that matches only itself."""
    return "".join(f"[{character}]" if character in "[*?" else character for character in path)


def _trie(keys: Sequence[str], wanted: Callable[[int], bool | None]) -> _Module:
    root = _Module("")
    modules = {"": root}
    for position, key in enumerate(keys):
        prefix, dot, segment = key.rpartition(".")
        parent = modules.get(prefix) if dot else root
        if parent is None:
            parent = _module(modules, prefix)
        node = parent.children.get(segment)
        if node is None:
            node = parent.children[segment] = _Module(key)
        node.own = wanted(position)
    return root


def _module(modules: dict[str, _Module], path: str) -> _Module:
    """The trie node of module ``path``, made with its missing ancestors (top-down, no recursion)."""
    missing = [path]
    while True:
        prefix, dot, _ = missing[-1].rpartition(".")
        if not dot or prefix in modules:
            break
        missing.append(prefix)
    for current in reversed(missing):
        prefix, dot, segment = current.rpartition(".")
        parent = modules[prefix] if dot else modules[""]
        node = parent.children.get(segment)
        if node is None:
            node = parent.children[segment] = _Module(current)
        modules[current] = node
    return modules[path]


def _preorder(root: _Module) -> list[_Module]:
    order, stack = [], [root]
    while stack:
        node = stack.pop()
        order.append(node)
        stack.extend(reversed(node.children.values()))
    return order


def _fill_costs(root: _Module, values: tuple[bool, ...]) -> None:
    """``costs[state]``: the fewest patterns below a module in ``state`` (which means
    ``values[state]``). Children before parents, without recursion: keys may have thousands of dots."""
    count = len(values)
    for node in reversed(_preorder(root)):
        own = node.own
        if own is _NO_KEY or own is None:
            costs = [0.0] * count
        else:
            costs = [0.0 if own == value else _IMPOSSIBLE for value in values]
        for child in node.children.values():
            entry = child.entry_costs
            for state in range(count):
                costs[state] += entry[state]
        node.costs = costs
        if node.path:
            node.entry_costs = [min(costs[state], costs[state + 1] + 1) for state in range(count - 1)] + [costs[-1]]
        else:
            node.entry_costs = costs


def _conflict(root: _Module) -> str:
    """Why no patterns exist: a key that is also a module path of other keys was given another
    state than one of them, and a pattern that matches a key matches every key below it."""
    for node in reversed(_preorder(root)):  # the deepest such key first: the one really in the way
        if node.own is _NO_KEY or node.own is None:
            continue
        for below in _preorder(node)[1:]:
            if below.own is not _NO_KEY and below.own is not None and below.own != node.own:
                return (f"{node.path!r} and {below.path!r} cannot be told apart: "
                        f"a pattern that matches {node.path!r} also matches every key below it")
    return "these keys cannot be told apart by module-path patterns"


def _step_costs(node: _Module, state: int, count: int) -> list[float]:
    """What ``node``'s subtree costs under a parent in ``state``: staying in it, or one step
    on (a pattern naming ``node``; the empty path cannot be one)."""
    if state + 1 < count and node.path:
        return [node.costs[state], node.costs[state + 1] + 1]
    return [node.costs[state]]


def _patterns(root: _Module, start: int, count: int) -> list[list[str]]:
    if root.costs[start] == _IMPOSSIBLE:
        raise CheckpointError(_conflict(root))
    patterns: list[list[str]] = [[] for _ in range(count - 1)]
    stack = [(child, start) for child in reversed(root.children.values())]
    while stack:  # in key order, so the patterns list modules as the file does
        node, state = stack.pop()
        stay, *step = _step_costs(node, state, count)
        target = state + 1 if step and step[0] <= stay else state  # a tie: name the larger module
        if target != state:
            patterns[state].append(escape(node.path))
        if node.costs[target]:  # else nothing below needs a pattern
            stack.extend((child, target) for child in reversed(node.children.values()))
    return patterns
