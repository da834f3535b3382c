"""A long mutation campaign: thousands of damaged checkpoints of every format, each read in a
child with a time and memory limit. Prints the totals (cases, ok, clean errors, defects) and
every defect with the file kept for replay.

    python bench/fuzz_campaign.py [--cases 10000] [--seed 1] [--keep DIR]

Replay one case: ``python -m inspector info --stats CASE``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tests.fuzz.campaign import defects, run_cases, totals, write_cases  # noqa: E402
from tests.fuzz.seeds import write_seeds  # noqa: E402

BATCH = 500


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", metavar="DIR", help="copy defective cases here (default: a temp folder)")
    options = parser.parse_args()
    keep = options.keep or tempfile.mkdtemp(prefix="fuzz-defects-")
    started = time.monotonic()
    results = []
    with tempfile.TemporaryDirectory() as work:
        seeds = write_seeds(work)
        for first in range(0, options.cases, BATCH):
            batch_folder = os.path.join(work, f"batch{first}")
            os.mkdir(batch_folder)
            cases = write_cases(seeds, batch_folder, min(BATCH, options.cases - first), options.seed * 1_000_003 + first)
            batch = run_cases(cases, work, os.path.join(batch_folder, "cases.jsonl"))
            _keep_defects(defects(batch), keep)
            results.extend(batch)
            shutil.rmtree(batch_folder)
            print(f"{len(results)} cases: {totals(results)}", file=sys.stderr, flush=True)
    print(json.dumps({**totals(results), "seconds": round(time.monotonic() - started, 1)}))
    for result in defects(results):
        print(f"{result['outcome']}: {result['kept']} ({result['detail']}): {result['message'][-600:]}")


def _keep_defects(found: list[dict], keep: str) -> None:
    os.makedirs(keep, exist_ok=True)
    for result in found:
        target = os.path.join(keep, os.path.basename(result["path"]))
        if os.path.isdir(result["path"]):
            shutil.copytree(result["path"], target, symlinks=True, dirs_exist_ok=True)
        else:
            shutil.copy(result["path"], target)
        result["kept"] = target


if __name__ == "__main__":
    main()
