"""Time `inspector export FILE -o OUT.pt` and `-o OUT.safetensors` against `cp FILE COPY`.

    python bench/make_checkpoint.py /tmp/bench4.pt --gb 4
    python bench/bench_export.py /tmp/bench4.pt --runs 3 [--verify]

Every command runs as a fresh process (imports included) on a warm page cache, alternating,
after a `sync` so that no run pays for the previous one's writeback; outputs go beside FILE
(or to --out-dir) and are deleted after each run. Prints the median times, each export's ratio
to the copy (target <= 3x) and its peak RSS (target <= 300 MB). ``--verify`` loads the source
and each export with torch.load(mmap=True) once and compares every tensor.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

TARGET_RATIO = 3.0
TARGET_RSS_MB = 300.0
PYCACHE_PREFIX = "/tmp/inspector-bench-pycache"
PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUTPUTS = {"export .pt": ".pt", "export .safetensors": ".safetensors"}

VERIFY = """
import sys, torch
from safetensors.torch import load_file
source = torch.load(sys.argv[1], mmap=True, weights_only=True)
out = load_file(sys.argv[2]) if sys.argv[2].endswith(".safetensors") else torch.load(sys.argv[2], mmap=True, weights_only=True)
assert list(out) == list(source) or sorted(out) == sorted(source), "keys differ"
bad = [key for key in source if not torch.equal(out[key], source[key])]
print(f"{sys.argv[2]}: {len(source) - len(bad)} of {len(source)} tensors equal")
sys.exit(1 if bad else 0)
"""


def child_environment() -> dict[str, str]:
    """This source tree's package, with cached bytecode (as an installed one has)."""
    environment = dict(os.environ)
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    environment.setdefault("PYTHONPYCACHEPREFIX", PYCACHE_PREFIX)
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [PROJECT_ROOT, environment.get("PYTHONPATH")]))
    return environment


def command_for(name: str, source: str, target: str) -> list[str]:
    if name == "cp":
        return ["cp", source, target]
    return [sys.executable, "-m", "inspector", "export", source, "-o", target]


def timed_run(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS in MB of one child process (its own rusage, via wait4)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               env=child_environment())
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        error = process.stderr.read().decode(errors="replace") if process.stderr else ""
        raise SystemExit(f"{' '.join(command)} failed: {error.strip()}")
    return elapsed, usage.ru_maxrss / 1024  # Linux reports KiB


def remove_outputs(target: str) -> None:
    for path in (target, os.path.splitext(target)[0] + ".json"):
        if os.path.exists(path):
            os.unlink(path)


def run_once(name: str, source: str, folder: str) -> tuple[float, float]:
    target = os.path.join(folder, "bench-export" + OUTPUTS.get(name, ".copy"))
    os.sync()
    try:
        return timed_run(command_for(name, source, target))
    finally:
        remove_outputs(target)


def warm(source: str) -> None:
    with open(source, "rb") as file:
        while file.read(1 << 24):
            pass


def verify(source: str, folder: str) -> None:
    for suffix in OUTPUTS.values():
        target = os.path.join(folder, "bench-verify" + suffix)
        timed_run(command_for("export", source, target))
        try:
            subprocess.run([sys.executable, "-c", VERIFY, source, target], check=True)
        finally:
            remove_outputs(target)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", help="checkpoint written by make_checkpoint.py")
    parser.add_argument("--runs", type=int, default=3, help="runs of each command")
    parser.add_argument("--out-dir", help="where outputs go (default: beside FILE)")
    parser.add_argument("--verify", action="store_true", help="check each export against torch.load once")
    options = parser.parse_args()
    folder = options.out_dir or os.path.dirname(os.path.abspath(options.file))
    if options.verify:
        verify(options.file, folder)
    warm(options.file)
    names = ["cp", *OUTPUTS]
    times = {name: [] for name in names}
    peaks = {name: [] for name in names}
    for _ in range(options.runs):
        for name in names:
            elapsed, peak = run_once(name, options.file, folder)
            times[name].append(elapsed)
            peaks[name].append(peak)
    report(options, times, peaks)
    return 0


def report(options, times: dict[str, list[float]], peaks: dict[str, list[float]]) -> None:
    copy = statistics.median(times["cp"])
    print(f"file: {options.file} ({os.path.getsize(options.file) / 1e9:.2f} GB), {options.runs} runs each, "
          f"alternating, warm page cache, sync before each run")
    print(f"cp                   : median {copy:.2f} s, peak RSS {max(peaks['cp']):.0f} MB")
    for name in OUTPUTS:
        median = statistics.median(times[name])
        ratios = sorted(mine / base for mine, base in zip(times[name], times["cp"]))
        print(f"{name:<21}: median {median:.2f} s = {median / copy:.2f}x the copy (target <= {TARGET_RATIO:.0f}x; "
              f"run by run {ratios[0]:.2f}x to {ratios[-1]:.2f}x), peak RSS {max(peaks[name]):.0f} MB "
              f"(target <= {TARGET_RSS_MB:.0f} MB)")


if __name__ == "__main__":
    raise SystemExit(main())
