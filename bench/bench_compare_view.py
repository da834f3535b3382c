"""Time the compare view's diff against ``inspector diff --json`` on the same pair.

    python bench/bench_compare_view.py [--gb 0.8] [--tensors 2000] [--folder /tmp/diff-bench] [--runs 3]

Uses bench_diff.py's files (A, and B with noise on three tensors in four). Each run is a fresh
process with a warm page cache:

- ours, headless: ``python -m inspector diff --json A B``;
- the window: an offscreen ``CompareView`` whose diff runs in its worker process, rows streamed
  into the table; timed from ``start()`` to the first rows in the table and to the end of the run
  (the process's start-up and Qt's are left out), with the peak RSS of the window's process and
  of its worker.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))

from bench_diff import child_environment, ours, paths, timed_run, warm  # noqa: E402


def window_run(path_a: str, path_b: str) -> dict:
    """In a child process: one compare view, run to the end; what it measured, as JSON."""
    from PySide6.QtWidgets import QApplication

    from inspector.gui.compare.compare_view import CompareView

    app = QApplication([])
    view = CompareView(path_a, path_b)
    view.resize(1280, 800)
    view.show()
    marks: dict[str, float] = {}
    view.table.model.rowsInserted.connect(lambda *_: marks.setdefault("first_rows", time.perf_counter()))
    view.runFinished.connect(lambda: (marks.setdefault("done", time.perf_counter()), app.quit()))
    started = time.perf_counter()
    view.start()
    app.exec()
    view.shutdown()
    return {"first_rows": marks["first_rows"] - started, "done": marks["done"] - started,
            "rows": len(view.state.rows), "phase": view.phase,
            "window_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "worker_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}


def measured_window_run(path_a: str, path_b: str) -> dict:
    environment = child_environment()
    environment["QT_QPA_PLATFORM"] = "offscreen"
    output = subprocess.run([sys.executable, __file__, "--window-run", path_a, path_b], capture_output=True,
                            text=True, env=environment, cwd=ROOT, check=True).stdout
    result = json.loads(output.strip().splitlines()[-1])
    if result["phase"] != "done":
        raise SystemExit(f"the compare view ended {result['phase']}")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", type=float, default=0.8)
    parser.add_argument("--tensors", type=int, default=2000)
    parser.add_argument("--folder", default="/tmp/diff-bench")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--window-run", nargs=2, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.window_run:
        print(json.dumps(window_run(*options.window_run)))
        return 0
    subprocess.run([sys.executable, os.path.join(ROOT, "bench", "bench_diff.py"), "--prepare-only", "--gb",
                    str(options.gb), "--tensors", str(options.tensors), "--folder", options.folder], check=True)
    path_a, path_b, _ = paths(options.folder)
    warm(path_a, path_b)
    timed_run(ours(path_a, path_b), (0, 1))  # bytecode cache
    headless, runs = [], []
    for _ in range(options.runs):
        headless.append(timed_run(ours(path_a, path_b), (0, 1))[0])
        runs.append(measured_window_run(path_a, path_b))
    cli_s = statistics.median(headless)
    done_s = statistics.median(run["done"] for run in runs)
    first_s = statistics.median(run["first_rows"] for run in runs)
    print(f"pair {os.path.basename(path_a)} / {os.path.basename(path_b)}: {runs[0]['rows']} keys, {options.runs} runs")
    print(f"inspector diff --json A B (whole process)   : median {cli_s:.2f} s")
    print(f"compare view, start() to first rows shown   : median {first_s:.2f} s")
    print(f"compare view, start() to the last row shown : median {done_s:.2f} s "
          f"({done_s / cli_s:.2f}x the headless diff)")
    print(f"peak RSS: window process {max(run['window_rss_mb'] for run in runs):.0f} MB, "
          f"its worker {max(run['worker_rss_mb'] for run in runs):.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
