"""A seeded mutation campaign: write damaged copies of the seeds, run each in a limited child,
count the outcomes. Shared by the test suite (a few hundred cases) and bench/fuzz_campaign.py."""

from __future__ import annotations

import collections
import json
import os
import random
import subprocess
import sys

from tests.fuzz.mutations import make_case
from tests.fuzz.seeds import MARKER_NAME, Seed

DEFECTS = ("exception", "timeout", "crash", "payload")
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def write_cases(seeds: list[Seed], folder: str, count: int, base_seed: int) -> list[dict]:
    """``count`` cases, the seeds taken in turn; case ``n`` is drawn from ``Random(base_seed, n)``."""
    cases = []
    for number in range(count):
        rng = random.Random(f"{base_seed}-{number}")
        seed = seeds[number % len(seeds)]
        path, detail = make_case(seed, folder, number, rng)
        cases.append({"path": path, "seed": seed.name, "detail": detail})
    return cases


def run_cases(cases: list[dict], seeds_folder: str, cases_file: str, timeout_s: float | None = None) -> list[dict]:
    """Run every case in a fresh runner process; returns one result per case, in order."""
    with open(cases_file, "w") as file:
        for case in cases:
            file.write(json.dumps(case) + "\n")
    environment = {**os.environ, "PYTHONPATH": REPO + os.pathsep + os.environ.get("PYTHONPATH", "")}
    finished = subprocess.run([sys.executable, "-m", "tests.fuzz.runner", cases_file,
                               os.path.join(seeds_folder, MARKER_NAME)],
                              capture_output=True, text=True, env=environment, timeout=timeout_s, cwd=REPO)
    results = [json.loads(line) for line in finished.stdout.splitlines() if line.startswith("{")]
    if len(results) != len(cases):
        raise RuntimeError(f"the runner stopped after {len(results)} of {len(cases)} cases: "
                           f"{finished.stderr[-2000:]}")
    return results


def totals(results: list[dict]) -> dict[str, int]:
    counted = collections.Counter(result["outcome"] for result in results)
    return {"cases": len(results), "ok": counted["ok"], "clean errors": counted["error"],
            "defects": sum(counted[name] for name in DEFECTS),
            **{name: counted[name] for name in DEFECTS if counted[name]}}


def defects(results: list[dict]) -> list[dict]:
    return [result for result in results if result["outcome"] in DEFECTS]
