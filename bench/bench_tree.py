"""Time to build the display tree of a 100k-tensor state dict, and to filter it (core only; the
window's filter adds the item model's work on top).

    python bench/bench_tree.py [--tensors 100000]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from inspector.core.model import Checkpoint, Storage, TensorRef  # noqa: E402
from inspector.core.tree import build_tree, iter_nodes  # noqa: E402

REPEATS = 5


def synthetic_state_dict(count: int) -> dict[str, TensorRef]:
    """``count`` tensors named like a deep transformer's, each over its own storage."""
    state = {}
    for index in range(count):
        layer, slot = divmod(index, 40)
        key = f"model.layers.{layer}.block{slot // 2}.{'weight' if slot % 2 == 0 else 'bias'}"
        storage = Storage("unused.safetensors", index * 256, 256, "float32", key=str(index))
        state[key] = TensorRef("float32", (8, 8), (8, 1), storage)
    return state


def best_of(action) -> float:
    best = float("inf")
    for _ in range(REPEATS):
        started = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tensors", type=int, default=100_000)
    count = parser.parse_args().tensors
    checkpoint = Checkpoint("big.safetensors", "safetensors", synthetic_state_dict(count))
    build = best_of(lambda: build_tree(checkpoint))
    root = build_tree(checkpoint)
    nodes = list(iter_nodes(root))
    scan = best_of(lambda: [node for node in nodes if "block7" in node.name.casefold() or "block7" in node.key])
    print(f"{count} tensors, {len(nodes)} rows: build_tree {build * 1000:.0f} ms (best of {REPEATS}), "
          f"one pass of a name filter over every row {scan * 1000:.0f} ms")


if __name__ == "__main__":
    main()
