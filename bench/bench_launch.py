"""Launch time of the app against importing its GUI libraries.

Baseline: ``python -c "import PySide6.QtWidgets, pyqtgraph"``. Ours: the whole
``python -m inspector --screenshot OUT.png`` process with no files: start, show the window,
grab it, save the PNG, exit (so it over-counts "window shown" by the grab and the exit).
Runs alternate; medians are compared. Target: ratio <= 1.3, torch never imported.

    python bench/bench_launch.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

BASELINE = [sys.executable, "-c", "import PySide6.QtWidgets, pyqtgraph"]
MODULES_CHECK = """
import sys
from inspector.gui.window.app import run
code = run([], screenshot=sys.argv[1])
print(",".join(name for name in ("torch", "numpy", "pyqtgraph") if name in sys.modules) or "-")
sys.exit(code)
"""


def timed(command: list[str], env: dict) -> float:
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen"),
               "XDG_CONFIG_HOME": os.path.join(folder, "config")}
        ours = [sys.executable, "-m", "inspector", "--screenshot", os.path.join(folder, "launch.png")]
        timed(BASELINE, env), timed(ours, env)  # warm the file cache
        baseline_times, our_times = [], []
        for _ in range(options.runs):
            baseline_times.append(timed(BASELINE, env))
            our_times.append(timed(ours, env))
        check = subprocess.run([sys.executable, "-c", MODULES_CHECK, os.path.join(folder, "check.png")],
                               env=env, capture_output=True, text=True, check=True)
    baseline, ours_median = statistics.median(baseline_times), statistics.median(our_times)
    print(f"baseline (import PySide6.QtWidgets, pyqtgraph): median {baseline * 1000:.0f} ms")
    print(f"inspector launch -> window shown, grabbed, exited: median {ours_median * 1000:.0f} ms")
    print(f"ratio: {ours_median / baseline:.2f} (target <= 1.3)")
    print(f"heavy modules imported by the empty window: {check.stdout.strip()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
