"""Time `inspector info --json FILE` against `torch.load(FILE, mmap=True, weights_only=True)`.

    python bench/make_checkpoint.py /tmp/bench.pt --gb 0.8 --tensors 2000
    python bench/bench_info.py /tmp/bench.pt --runs 9

Run it with the interpreter of an environment where the project is installed (not editable:
an editable install adds an import hook to every start) and torch is importable. Ours is the
installed ``inspector`` command beside that interpreter (``python -m inspector`` if there is
none). Both run as fresh processes (imports included), alternating, with a warm page cache.
Prints median wall times, the speed ratio of the medians and its range pair by pair
(target >= 20x) and our peak RSS (target <= 200 MB),
our median when run back to back (the baseline's 600 MB run in between evicts our files'
pages on a busy machine), then the slowest imports of our command (`python -X importtime`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

TARGET_RATIO = 20.0
TARGET_RSS_MB = 200.0
PYCACHE_PREFIX = "/tmp/inspector-bench-pycache"


def ours(path: str) -> list[str]:
    """The installed ``inspector`` command beside this interpreter, as a user runs it."""
    script = os.path.join(os.path.dirname(sys.executable), "inspector")
    command = [script] if os.access(script, os.X_OK) else [sys.executable, "-m", "inspector"]
    return [*command, "info", "--json", path]


def baseline(path: str) -> list[str]:
    code = "import sys, torch; torch.load(sys.argv[1], mmap=True, weights_only=True)"
    return [sys.executable, "-c", code, path]


def child_environment() -> dict[str, str]:
    """Let children cache bytecode (as an installed package does), outside the source tree.

    With PYTHONDONTWRITEBYTECODE set, every run of ours would recompile all our modules
    while torch's installed .pyc files are used: not a fair race.
    """
    environment = dict(os.environ)
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    environment.setdefault("PYTHONPYCACHEPREFIX", PYCACHE_PREFIX)
    return environment


def timed_run(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS in MB of one child process (its own rusage, via wait4)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               env=child_environment())
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    error = process.stderr.read().decode(errors="replace") if process.stderr else ""
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({process.returncode}): {error.strip()}")
    return elapsed, usage.ru_maxrss / 1024  # Linux reports KiB


def slowest_imports(path: str, count: int = 12) -> list[tuple[int, str]]:
    command = ours(path)
    command = [sys.executable, "-X", "importtime", *command[1 if command[0] == sys.executable else 0:]]
    result = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env=child_environment())
    rows = []
    for line in result.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            _, cumulative, name = line.split("|")
            if cumulative.strip().isdigit():
                rows.append((int(cumulative), name.rstrip()))
    return sorted(rows, reverse=True)[:count]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", help="checkpoint written by make_checkpoint.py")
    parser.add_argument("--runs", type=int, default=9, help="runs of each command")
    options = parser.parse_args()
    for command in (ours, baseline):  # warm the page and bytecode caches once for both
        timed_run(command(options.file))
    our_times, our_rss, base_times, base_rss = [], [], [], []
    for _ in range(options.runs):
        for command, times, rss in ((ours, our_times, our_rss), (baseline, base_times, base_rss)):
            elapsed, peak = timed_run(command(options.file))
            times.append(elapsed)
            rss.append(peak)
    ours_s, base_s = statistics.median(our_times), statistics.median(base_times)
    size_gb = os.path.getsize(options.file) / 1e9
    print(f"file: {options.file} ({size_gb:.2f} GB), {options.runs} runs each, alternating")
    print(f"inspector info --json : median {ours_s:.3f} s, peak RSS {max(our_rss):.0f} MB")
    print(f"torch.load(mmap=True) : median {base_s:.3f} s, peak RSS {max(base_rss):.0f} MB")
    pairs = sorted(base / mine for base, mine in zip(base_times, our_times))
    print(f"ratio: {base_s / ours_s:.1f}x faster (target >= {TARGET_RATIO:.0f}x); "
          f"pair by pair {pairs[0]:.1f}x to {pairs[-1]:.1f}x; "
          f"peak RSS {max(our_rss):.0f} MB (target <= {TARGET_RSS_MB:.0f} MB)")
    back_to_back = statistics.median(timed_run(ours(options.file))[0] for _ in range(options.runs))
    print(f"inspector info --json back to back (warm caches): median {back_to_back:.3f} s, "
          f"ratio {base_s / back_to_back:.1f}x")
    print("slowest imports of `inspector info --json` (cumulative microseconds):")
    for micros, name in slowest_imports(options.file):
        print(f"  {micros:>8}  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
