"""A few hundred mutated checkpoints of every format: each one reads, or fails with the engine's
one-line error, within its time and memory limits, and no payload ever runs."""

from __future__ import annotations

import os

import pytest

from tests.fuzz.campaign import defects, run_cases, totals, write_cases
from tests.fuzz.runner import run_case
from tests.fuzz.seeds import MARKER_NAME, Payload, write_seeds

CI_CASES = 360
BASE_SEED = 20261201


@pytest.fixture(scope="module")
def seeds(tmp_path_factory):
    folder = tmp_path_factory.mktemp("seeds")
    return str(folder), write_seeds(str(folder))


def test_every_seed_reads_cleanly(seeds, tmp_path):
    folder, written = seeds
    results = run_cases([{"path": seed.path} for seed in written], folder, str(tmp_path / "seeds.jsonl"))
    assert [(result["path"], result["outcome"]) for result in results] == [(seed.path, "ok") for seed in written]


def test_mutated_checkpoints_read_or_fail_cleanly(seeds, tmp_path):
    folder, written = seeds
    cases = write_cases(written, str(tmp_path), CI_CASES, BASE_SEED)
    results = run_cases(cases, folder, str(tmp_path / "cases.jsonl"))
    found = defects(results)
    summary = totals(results)
    assert not found, f"{summary}; first defects: " + "\n".join(
        f"{result['path']} ({result['detail']}): {result['outcome']}: {result['message']}" for result in found[:3])
    assert summary["ok"] > 0 and summary["clean errors"] > 0  # the mutations reach both outcomes


def test_the_runner_catches_what_it_must(seeds, tmp_path, monkeypatch):
    """Proof the harness can fail: a payload run by an unsafe read, an escaped exception, a hang."""
    import pickle

    from tests.fuzz import runner

    marker = str(tmp_path / MARKER_NAME)
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(pickle.dumps(Payload(marker)))
    monkeypatch.setattr(runner, "exercise", lambda path: pickle.load(open(path, "rb")))
    assert run_case(str(evil), marker)[0] == "payload"
    monkeypatch.setattr(runner, "exercise", lambda path: [][1])
    assert run_case(str(evil), marker)[0] == "exception"
    monkeypatch.setattr(runner, "CPU_LIMIT_S", 1)
    monkeypatch.setattr(runner, "exercise", lambda path: sum(iter(int, 1)))
    assert run_case(str(evil), marker)[0] in ("crash", "timeout")
    assert not os.path.exists(marker)
