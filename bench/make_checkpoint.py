"""Write a torch.save checkpoint of a given size for the benchmarks.

    python bench/make_checkpoint.py /tmp/bench.pt --gb 0.8 --tensors 2000

Two thirds of the tensors are 2-D "weights" holding almost all the bytes, the rest small
1-D "biases"/norms, named like a transformer's state dict. Each tensor's float32 values
are written to its own scratch file and mapped back with ``torch.from_file(shared=True)``,
so memory stays small however big the checkpoint is.
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
import time


def tensor_plan(total_bytes: int, count: int) -> list[tuple[str, tuple[int, ...]]]:
    """(key, shape) for ``count`` float32 tensors adding up to about ``total_bytes``."""
    width = 256
    is_weight = [index % 3 < 2 for index in range(count)]  # per layer: fc1, fc2 weights, a norm
    weights = max(1, sum(is_weight))
    rows = max(1, (total_bytes // 4 - (count - weights) * width) // (weights * width))
    plan = []
    for index in range(count):
        layer, slot = divmod(index, 3)
        if is_weight[index]:
            plan.append((f"model.layers.{layer}.mlp.fc{slot + 1}.weight", (rows, width)))
        else:
            plan.append((f"model.layers.{layer}.norm.weight", (width,)))
    return plan


def write_checkpoint(out: str, gigabytes: float, count: int, seed: int = 0) -> int:
    import torch

    torch.manual_seed(seed)
    plan = tensor_plan(int(gigabytes * 1e9), count)
    with tempfile.TemporaryDirectory(dir=os.path.dirname(os.path.abspath(out))) as scratch:
        state = {}
        for index, (key, shape) in enumerate(plan):
            numel = math.prod(shape)
            raw = os.path.join(scratch, f"{index}.bin")
            (torch.randn(numel) * 0.02).numpy().tofile(raw)
            state[key] = torch.from_file(raw, shared=True, size=numel, dtype=torch.float32).view(shape)
        torch.save(state, out)
    return os.path.getsize(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="where to write the checkpoint (put it under /tmp)")
    parser.add_argument("--gb", type=float, default=0.8, help="approximate size in GB (1e9 bytes)")
    parser.add_argument("--tensors", type=int, default=2000, help="number of tensors")
    options = parser.parse_args()
    started = time.perf_counter()
    size = write_checkpoint(options.out, options.gb, options.tensors)
    print(f"wrote {options.out}: {size / 1e9:.2f} GB, {options.tensors} tensors "
          f"in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
