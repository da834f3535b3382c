"""Time `inspector check --json VIT.pt --arch vit_b_16` against building the model on CPU.

    python bench/bench_check.py [--folder /tmp/check-bench] [--runs 5]

Writes the state dict of torchvision's vit_b_16 (weights=None, 330 MB) with torch.save, unless
it is already in ``--folder``. With a warm page cache, runs each side as a fresh process,
imports included, alternating:

- ours: ``python -m inspector check --json VIT.pt --arch vit_b_16`` (from this source tree);
- baseline: ``import torch, torchvision; get_model('vit_b_16', weights=None)`` on CPU;

target: ours <= 1.2x the baseline's time. Then, in one process that has imported torch
already (as the window's check worker after its first job), the median time of a check, which
is what a remap's re-run costs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from bench_diff import child_environment, timed_run, warm  # noqa: E402

TARGET_RATIO = 1.2
ARCH = "vit_b_16"
BASELINE = "import torch, torchvision\nfrom torchvision.models import get_model\nget_model('vit_b_16', weights=None)\n"
WARM_CHECKS = """
import statistics, sys, time
import torch, torchvision
from inspector.core.check import check_checkpoint
check_checkpoint(sys.argv[1], {"arch": "vit_b_16"})
times = []
for _ in range(int(sys.argv[2])):
    started = time.perf_counter()
    report = check_checkpoint(sys.argv[1], {"arch": "vit_b_16"})
    times.append(time.perf_counter() - started)
assert report.loads_strict
print(statistics.median(times))
"""


def prepare(folder: str) -> str:
    """The vit_b_16 state dict, written once (run in a child process: see ``main``)."""
    path = os.path.join(folder, "vit_b_16.pt")
    if not os.path.exists(path):
        import torch
        from torchvision.models import get_model

        os.makedirs(folder, exist_ok=True)
        torch.save(get_model(ARCH, weights=None).state_dict(), path)
    return path


def ours(path: str) -> list[str]:
    return [sys.executable, "-m", "inspector", "check", "--json", path, "--arch", ARCH]


def baseline() -> list[str]:
    return [sys.executable, "-c", BASELINE]


def compare(path: str, runs: int) -> None:
    timed_run(ours(path))  # warm the bytecode cache
    timed_run(baseline())
    mine, theirs, mine_rss = [], [], []
    for _ in range(runs):
        elapsed, peak = timed_run(ours(path))
        mine.append(elapsed)
        mine_rss.append(peak)
        theirs.append(timed_run(baseline())[0])
    ours_s, base_s = statistics.median(mine), statistics.median(theirs)
    print(f"inspector check --json --arch {ARCH}    : median {ours_s:.2f} s, peak RSS {max(mine_rss):.0f} MB")
    print(f"import torch, torchvision; get_model(...) : median {base_s:.2f} s")
    pairs = sorted(our / base for base, our in zip(theirs, mine))
    print(f"ratio: {ours_s / base_s:.2f}x the baseline's time (target <= {TARGET_RATIO}x); "
          f"run by run {pairs[0]:.2f}x to {pairs[-1]:.2f}x")


def warm_checks(path: str, runs: int) -> None:
    result = subprocess.run([sys.executable, "-c", WARM_CHECKS, path, str(runs)], capture_output=True, text=True,
                            env=child_environment(), cwd=ROOT, check=True)
    print(f"a check with torch already imported (a remap's re-run): median {float(result.stdout):.3f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", default="/tmp/check-bench", help="where the file is (kept)")
    parser.add_argument("--runs", type=int, default=5, help="runs of each command")
    parser.add_argument("--prepare-only", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.prepare_only:
        prepare(options.folder)
        return 0
    subprocess.run([sys.executable, __file__, "--prepare-only", "--folder", options.folder], check=True)
    path = os.path.join(options.folder, "vit_b_16.pt")
    print(f"{path}: {os.path.getsize(path) / 1e6:.0f} MB; {options.runs} runs of each")
    warm(path)
    compare(path, options.runs)
    warm_checks(path, options.runs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
