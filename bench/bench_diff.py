"""Time `inspector diff --json A B` against torch.load of both + per-tensor float64 torch metrics.

    python bench/bench_diff.py [--gb 0.8] [--tensors 2000] [--folder /tmp/diff-bench] [--runs 3]

Writes A with make_checkpoint.py, B as A perturbed (three tensors in four get small noise, the
fourth stays bit-identical) and an identical copy of A, unless they are already in ``--folder``.
With a warm page cache, runs each side as a fresh process, imports included, alternating:

- the pair A, B: ours against torch.load(mmap=True, weights_only=True) of both plus, per
  tensor, max|Δ|, mean|Δ|, RMS, relative L2, cosine and the isclose count in float64 (torch's
  best of its default threads and one); target >= 3x faster, our peak RSS <= 300 MB;
- A against its identical copy: ours against ``cat A COPY > /dev/null`` (reading both files).

Ours is ``python -m inspector`` run from this source tree.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET_RATIO = 3.0
TARGET_RSS_MB = 300.0
PYCACHE_PREFIX = "/tmp/inspector-bench-pycache"

BASELINE = """
import sys
import torch
from torch.testing._comparison import default_tolerances
if sys.argv[3] != "0":
    torch.set_num_threads(int(sys.argv[3]))
a = torch.load(sys.argv[1], mmap=True, weights_only=True)
b = torch.load(sys.argv[2], mmap=True, weights_only=True)
results = {}
for key, x in a.items():
    y = b[key]
    rtol, atol = default_tolerances(x, y)
    x64, y64 = x.double(), y.double()
    delta = y64 - x64
    magnitude = delta.abs()
    norm_x, norm_y = x64.norm(), y64.norm()
    results[key] = (magnitude.max().item(), magnitude.mean().item(), delta.pow(2).mean().sqrt().item(),
                    (delta.norm() / norm_x).item(), ((x64 * y64).sum() / (norm_x * norm_y)).item(),
                    int((~torch.isclose(y64, x64, rtol=rtol, atol=atol)).sum()))
"""


def perturb(source: str, out: str, seed: int = 1) -> None:
    """Write B: A with noise on three tensors in four; memory stays small (see make_checkpoint)."""
    import torch

    torch.manual_seed(seed)
    state = torch.load(source, mmap=True, weights_only=True)
    with tempfile.TemporaryDirectory(dir=os.path.dirname(os.path.abspath(out))) as scratch:
        perturbed = {}
        for index, (key, tensor) in enumerate(state.items()):
            if index % 4 == 0:
                perturbed[key] = tensor
                continue
            raw = os.path.join(scratch, f"{index}.bin")
            (tensor + 1e-3 * torch.randn(tensor.shape)).numpy().tofile(raw)
            mapped = torch.from_file(raw, shared=True, size=tensor.numel(), dtype=tensor.dtype)
            perturbed[key] = mapped.view(tensor.shape)
        torch.save(perturbed, out)


def paths(folder: str) -> tuple[str, str, str]:
    return tuple(os.path.join(folder, name) for name in ("a.pt", "b.pt", "a_copy.pt"))


def prepare(folder: str, gigabytes: float, tensors: int) -> None:
    """Write the files that are missing (run in a child process: see ``main``)."""
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    from make_checkpoint import write_checkpoint

    os.makedirs(folder, exist_ok=True)
    path_a, path_b, copy = paths(folder)
    if not os.path.exists(path_a):
        write_checkpoint(path_a, gigabytes, tensors)
    if not os.path.exists(path_b):
        perturb(path_a, path_b)
    if not os.path.exists(copy):
        shutil.copyfile(path_a, copy)


def child_environment() -> dict[str, str]:
    """Bytecode cached outside the tree (as for an installed package); our source tree first."""
    environment = dict(os.environ)
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    environment.setdefault("PYTHONPYCACHEPREFIX", PYCACHE_PREFIX)
    environment["PYTHONPATH"] = ROOT + os.pathsep + environment.get("PYTHONPATH", "")
    return environment


def timed_run(command: list[str], allowed: tuple[int, ...] = (0,)) -> tuple[float, float]:
    """Wall seconds and peak RSS in MB of one child process (its own rusage, via wait4)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               env=child_environment(), cwd=ROOT)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code not in allowed:
        error = process.stderr.read().decode(errors="replace")
        raise SystemExit(f"{' '.join(command)} failed ({code}): {error.strip()}")
    process.stderr.close()
    return elapsed, usage.ru_maxrss / 1024  # Linux reports KiB


def ours(path_a: str, path_b: str) -> list[str]:
    return [sys.executable, "-m", "inspector", "diff", "--json", path_a, path_b]


def baseline(path_a: str, path_b: str, threads: int) -> list[str]:
    return [sys.executable, "-c", BASELINE, path_a, path_b, str(threads)]


def cat(path_a: str, path_b: str) -> list[str]:
    return ["sh", "-c", 'cat "$0" "$1" > /dev/null', path_a, path_b]


def warm(*paths: str) -> None:
    for path in paths:
        with open(path, "rb") as file:
            while file.read(1 << 24):
                pass


def compare_pair(path_a: str, path_b: str, runs: int) -> None:
    timed_run(ours(path_a, path_b), (0, 1))  # warm the bytecode cache
    mine, mine_rss, theirs, their_rss = [], [], [], []
    for _ in range(runs):
        elapsed, peak = timed_run(ours(path_a, path_b), (0, 1))
        mine.append(elapsed)
        mine_rss.append(peak)
        best = min((timed_run(baseline(path_a, path_b, threads)) for threads in (0, 1)), key=lambda run: run[0])
        theirs.append(best[0])
        their_rss.append(best[1])
    ours_s, base_s = statistics.median(mine), statistics.median(theirs)
    print(f"inspector diff --json A B          : median {ours_s:.2f} s, peak RSS {max(mine_rss):.0f} MB")
    print(f"torch.load both + float64 metrics : median {base_s:.2f} s, peak RSS {max(their_rss):.0f} MB "
          "(best of default threads and one)")
    pairs = sorted(base / our for base, our in zip(theirs, mine))
    print(f"ratio: {base_s / ours_s:.1f}x faster (target >= {TARGET_RATIO:.0f}x); pair by pair "
          f"{pairs[0]:.1f}x to {pairs[-1]:.1f}x; peak RSS {max(mine_rss):.0f} MB (target <= {TARGET_RSS_MB:.0f} MB)")


def compare_identical(path_a: str, copy: str, runs: int) -> None:
    mine, reads = [], []
    for _ in range(runs):
        mine.append(timed_run(ours(path_a, copy))[0])
        reads.append(timed_run(cat(path_a, copy))[0])
    ours_s, cat_s = statistics.median(mine), statistics.median(reads)
    print(f"inspector diff --json A COPY       : median {ours_s:.2f} s")
    print(f"cat A COPY > /dev/null             : median {cat_s:.2f} s")
    print(f"identical copy: {ours_s / cat_s:.2f}x the time of reading both files")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", type=float, default=0.8, help="size of each file in GB")
    parser.add_argument("--tensors", type=int, default=2000)
    parser.add_argument("--folder", default="/tmp/diff-bench", help="where the files are (kept)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each command")
    parser.add_argument("--prepare-only", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.prepare_only:
        prepare(options.folder, options.gb, options.tensors)
        return 0
    # A child's peak RSS starts from its parent's at fork: torch stays out of this process.
    subprocess.run([sys.executable, __file__, "--prepare-only", "--gb", str(options.gb),
                    "--tensors", str(options.tensors), "--folder", options.folder], check=True)
    path_a, path_b, copy = paths(options.folder)
    sizes = ", ".join(f"{os.path.basename(path)} {os.path.getsize(path) / 1e9:.2f} GB" for path in (path_a, path_b, copy))
    print(f"files in {options.folder}: {sizes}; {options.tensors} tensors each; {options.runs} runs")
    warm(path_a, path_b, copy)
    compare_pair(path_a, path_b, options.runs)
    compare_identical(path_a, copy, options.runs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
