"""Time `inspector series --json FOLDER` against `cat` of the same files.

    python bench/bench_series.py [--checkpoints 20] [--mb 100] [--tensors 300] [--folder /tmp/series-bench] [--runs 3]

Writes a series of checkpoints with make_checkpoint.py (each one a different random draw of the
same model, so every layer moves at every step) unless they are already in ``--folder``. Runs each command as a fresh process, imports included, alternating:

- ours: ``python -m inspector series --json FOLDER`` run from this source tree;
- the baseline: ``cat FILES > /dev/null``, reading every file once;

first with the files in the page cache (warm), then with their pages dropped from it before
each run (cold: ``posix_fadvise(DONTNEED)``, which needs no privileges; a virtual machine's
host may still cache them).

Target: close to the time of reading the files once; our peak RSS <= 300 MB.
"""

from __future__ import annotations

import argparse
import glob
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_diff import ROOT, child_environment, timed_run, warm  # noqa: E402

TARGET_RSS_MB = 300.0


def paths(folder: str, count: int) -> list[str]:
    return [os.path.join(folder, f"epoch={epoch}-step={(epoch + 1) * 1000}.ckpt") for epoch in range(count)]


def prepare(folder: str, count: int, megabytes: float, tensors: int) -> None:
    """Write the checkpoints that are missing (run in a child process: see ``main``)."""
    from make_checkpoint import write_checkpoint

    os.makedirs(folder, exist_ok=True)
    for epoch, path in enumerate(paths(folder, count)):
        if not os.path.exists(path):
            write_checkpoint(path, megabytes / 1000, tensors, seed=epoch)


def ours(folder: str) -> list[str]:
    return [sys.executable, "-m", "inspector", "series", "--json", folder]


def cat(files: list[str]) -> list[str]:
    return ["sh", "-c", 'cat "$@" > /dev/null', "cat", *files]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoints", type=int, default=20)
    parser.add_argument("--mb", type=float, default=100.0, help="size of each checkpoint in MB (1e6 bytes)")
    parser.add_argument("--tensors", type=int, default=300, help="tensors per checkpoint")
    parser.add_argument("--folder", default="/tmp/series-bench", help="where the files are (kept)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each command")
    parser.add_argument("--prepare-only", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.prepare_only:
        prepare(options.folder, options.checkpoints, options.mb, options.tensors)
        return 0
    # A child's peak RSS starts from its parent's at fork: torch stays out of this process.
    subprocess.run([sys.executable, __file__, "--prepare-only", "--checkpoints", str(options.checkpoints),
                    "--mb", str(options.mb), "--tensors", str(options.tensors), "--folder", options.folder],
                   check=True, cwd=ROOT)
    files = paths(options.folder, options.checkpoints)
    extra = sorted(set(glob.glob(os.path.join(options.folder, "*"))) - set(files))
    if extra:
        raise SystemExit(f"{options.folder} holds other files too: {extra[:3]}")
    total = sum(os.path.getsize(path) for path in files)
    print(f"{len(files)} checkpoints in {options.folder}: {total / 1e9:.2f} GB, {options.tensors} tensors each; "
          f"{options.runs} runs")
    warm(*files)
    timed_run(ours(options.folder))  # warm the bytecode cache
    for label, before in (("warm page cache", lambda: warm(*files)), ("pages dropped before each run",
                                                                     lambda: evict(files))):
        compare(label, options, files, total, before)
    return 0


def compare(label: str, options: argparse.Namespace, files: list[str], total: int, before) -> None:
    mine, rss, reads = [], [], []
    for _ in range(options.runs):
        before()
        elapsed, peak = timed_tree_run(ours(options.folder))
        mine.append(elapsed)
        rss.append(peak)
        before()
        reads.append(timed_run(cat(files))[0])
    ours_s, cat_s = statistics.median(mine), statistics.median(reads)
    print(f"{label}:")
    print(f"  inspector series --json FOLDER : median {ours_s:.2f} s ({total / 1e9 / ours_s:.2f} GB/s), "
          f"peak RSS {max(rss):.0f} MB (summed over the process and its workers)")
    print(f"  cat FILES > /dev/null          : median {cat_s:.2f} s ({total / 1e9 / cat_s:.2f} GB/s)")
    pairs = sorted(our / theirs for our, theirs in zip(mine, reads))
    print(f"  ratio: {ours_s / cat_s:.2f}x the time of reading the files once (run by run {pairs[0]:.2f}x to "
          f"{pairs[-1]:.2f}x); peak RSS {max(rss):.0f} MB (target <= {TARGET_RSS_MB:.0f} MB)")


def timed_tree_run(command: list[str]) -> tuple[float, float]:
    """Wall seconds, and the peak of the RSS summed over the process and its children (the
    forked workers), sampled every few milliseconds from /proc."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env=child_environment(), cwd=ROOT)
    peak = 0
    while process.poll() is None:
        peak = max(peak, _tree_rss_kib(process.pid))
        time.sleep(0.005)
    elapsed = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({process.returncode})")
    return elapsed, peak / 1024


def _tree_rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as children:
            pids = [pid, *map(int, children.read().split())]
    except OSError:
        return 0
    total = 0
    for member in pids:
        try:
            with open(f"/proc/{member}/status") as status:
                total += next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
        except (OSError, StopIteration):
            pass
    return total


def evict(files: list[str]) -> None:
    """Drop the files' pages from the page cache (clean pages: no privileges needed)."""
    for path in files:
        descriptor = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(descriptor)


if __name__ == "__main__":
    raise SystemExit(main())
