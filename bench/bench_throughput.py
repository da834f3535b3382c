"""Exact statistics of every tensor of a 4 GB float32 torch.save file, warm page cache, as a
share of ``cat FILE > /dev/null``'s throughput (target: at least 25%, using both cores).

    python bench/bench_throughput.py [--file F] [--gb 4] [--tensors 3400] [--runs 5]

Writes the file with bench/make_checkpoint.py unless ``--file`` names an existing one, reads it
once to warm the cache, then times ``cat`` and ``inspector info --json --stats`` as whole
processes, alternating, and prints the medians, their ratio pair by pair and our peak RSS.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def timed(command: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB, from GNU time) of one whole process."""
    started = time.perf_counter()
    finished = subprocess.run(["/usr/bin/time", "-f", "%M", *command], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True, check=True, cwd=ROOT)
    return time.perf_counter() - started, int(finished.stderr.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file")
    parser.add_argument("--gb", type=float, default=4.0)
    parser.add_argument("--tensors", type=int, default=3400)
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = options.file or os.path.join(folder, "stats.pt")
        if not os.path.exists(path):
            subprocess.run([sys.executable, os.path.join(ROOT, "bench", "make_checkpoint.py"), path,
                            "--gb", str(options.gb), "--tensors", str(options.tensors)], check=True)
        subprocess.run(["cat", path], stdout=subprocess.DEVNULL, check=True)
        ours_command = [sys.executable, "-m", "inspector", "info", "--json", "--stats", path]
        cats, ours, rss = [], [], []
        for _ in range(options.runs):
            cats.append(timed(["sh", "-c", f"cat '{path}' > /dev/null"])[0])
            seconds, peak = timed(ours_command)
            ours.append(seconds)
            rss.append(peak)
        size = os.path.getsize(path) / 1e9
        shares = sorted(cat / our for cat, our in zip(cats, ours))
        print(f"{size:.2f} GB, {options.runs} alternating runs, medians: cat {statistics.median(cats):.2f} s "
              f"({size / statistics.median(cats):.1f} GB/s), stats {statistics.median(ours):.2f} s "
              f"({size / statistics.median(ours):.1f} GB/s), peak RSS {max(rss) / 1024:.0f} MB")
        print(f"stats throughput as a share of cat's: median {100 * statistics.median(shares):.0f}%, "
              f"pair by pair {100 * shares[0]:.0f}%-{100 * shares[-1]:.0f}% (target >= 25%)")


if __name__ == "__main__":
    main()
