"""Stats (and histograms) of every tensor vs torch.load + per-tensor torch stats.

The baseline is torch.load + per tensor min/max/mean/std/isnan/isinf/count_nonzero (+ histc);
ours computes exact stats with NaN/Inf excluded (+ 100-bin histograms). Writes a torch.save
file of N float32 tensors (default 2000 tensors, 0.8 GB) unless ``--file`` names an existing
one (a missing ``--file`` is written and kept), warms the page cache, then times each side
in a fresh process (work alone, and with the imports) and prints ratios and peak RSS.

    python bench/bench_stats.py [--tensors 2000] [--size-mb 800] [--histograms] [--file F]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

PEAK_RSS = """
def peak_rss_mb():  # VmHWM: unlike ru_maxrss it is not inherited across exec
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 1024
"""

BASELINE = PEAK_RSS + """
import json, sys, time
started, cpu_started = time.perf_counter(), time.process_time()
import torch
if sys.argv[3] != "0":
    torch.set_num_threads(int(sys.argv[3]))
imported, cpu_imported = time.perf_counter(), time.process_time()
state = torch.load(sys.argv[1], weights_only=True)
results = {}
for key, t in state.items():
    results[key] = (t.min().item(), t.max().item(), t.mean().item(), t.std().item(),
                    int(torch.isnan(t).sum()), int(torch.isinf(t).sum()),
                    t.numel() - int(torch.count_nonzero(t)))
    if sys.argv[2] == "1":
        torch.histc(t, bins=100)
done, cpu_done = time.perf_counter(), time.process_time()
print(json.dumps({"work": done - imported, "total": done - started, "rss_mb": peak_rss_mb(),
                  "cpu_work": cpu_done - cpu_imported, "cpu_total": cpu_done - cpu_started}))
"""

OURS = PEAK_RSS + """
import json, sys, time
started, cpu_started = time.perf_counter(), time.process_time()
from inspector.core.formats import torch_zip
from inspector.core.histogram import histogram_job
from inspector.core.progress import run_job
from inspector.core.all_stats import compute_all_stats
from inspector.core.values import FileCache, Scratch
imported, cpu_imported = time.perf_counter(), time.process_time()
checkpoint = run_job(torch_zip.read(sys.argv[1]))
stats = run_job(compute_all_stats(checkpoint))
if sys.argv[2] == "1":
    scratch = Scratch()
    with FileCache() as files:
        for path, t in checkpoint.iter_tensors():
            run_job(histogram_job(t, bins=100, stats=stats[path], files=files, scratch=scratch))
done, cpu_done = time.perf_counter(), time.process_time()
print(json.dumps({"work": done - imported, "total": done - started, "rss_mb": peak_rss_mb(),
                  "cpu_work": cpu_done - cpu_imported, "cpu_total": cpu_done - cpu_started}))
"""


def write_checkpoint(path: str, tensors: int, size_mb: int) -> None:
    import torch

    per_tensor = size_mb * (1 << 20) // 4 // tensors
    rows = max(1, int(per_tensor ** 0.5))
    state = {f"layers.{i}.weight": torch.randn(rows, per_tensor // rows) for i in range(tensors)}
    torch.save(state, path)


def run(code: str, path: str, histograms: bool, threads: int = 0) -> dict:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    command = [sys.executable, "-c", code, path, "1" if histograms else "0", str(threads)]
    output = subprocess.run(command, capture_output=True, text=True, check=True, cwd=root)
    return json.loads(output.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tensors", type=int, default=2000)
    parser.add_argument("--size-mb", type=int, default=800)
    parser.add_argument("--histograms", action="store_true")
    parser.add_argument("--file")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = args.file or os.path.join(folder, "bench.pt")
        if not os.path.exists(path):
            started = time.perf_counter()
            write_checkpoint(path, args.tensors, args.size_mb)
            elapsed = time.perf_counter() - started
            print(f"wrote {os.path.getsize(path) / 1e9:.2f} GB in {elapsed:.1f}s")
        with open(path, "rb") as file:  # warm the page cache for both sides
            while file.read(1 << 24):
                pass
        for _ in range(args.repeat):
            # torch's best of default threads and one (its threads spin on a busy machine)
            base = min((run(BASELINE, path, args.histograms, threads) for threads in (0, 1)),
                       key=lambda result: result["work"])
            ours = run(OURS, path, args.histograms)
            print(f"baseline torch: work {base['work']:.2f}s (cpu {base['cpu_work']:.2f}s) "
                  f"with import {base['total']:.2f}s, peak rss {base['rss_mb']:.0f} MB")
            print(f"ours:           work {ours['work']:.2f}s (cpu {ours['cpu_work']:.2f}s) "
                  f"with import {ours['total']:.2f}s, peak rss {ours['rss_mb']:.0f} MB")
            print(f"speedup: work {base['work'] / ours['work']:.2f}x, "
                  f"cpu {base['cpu_work'] / ours['cpu_work']:.2f}x, "
                  f"with import {base['total'] / ours['total']:.2f}x")

if __name__ == "__main__":
    main()
