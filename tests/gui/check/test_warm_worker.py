"""The check's worker process that stays up between jobs: results in order, latest wins,
cancel and crashes in place, the same process for the next job."""

from __future__ import annotations

import os
import signal

import pytest

from inspector.core.loader import open_checkpoint
from inspector.gui.check.warm_worker import WarmWorker


@pytest.fixture
def worker(qtbot):
    worker = WarmWorker()
    outcomes: dict[int, tuple] = {}
    progress: list[int] = []
    worker.succeeded.connect(lambda job, value: outcomes.setdefault(job, ("result", value)))
    worker.failed.connect(lambda job, message: outcomes.setdefault(job, ("error", message)))
    worker.cancelled.connect(lambda job: outcomes.setdefault(job, ("cancelled",)))
    worker.progressed.connect(lambda job, *_rest: progress.append(job))
    worker.outcomes, worker.progress = outcomes, progress
    yield worker
    worker.stop()


def wait_for(qtbot, worker, job: int) -> tuple:
    qtbot.waitUntil(lambda: job in worker.outcomes, timeout=60_000)
    return worker.outcomes[job]


def test_jobs_run_one_after_another_in_the_same_process(qtbot, worker, checkpoint_files):
    first = worker.submit("load", {"path": checkpoint_files["general.pt"]})
    kind, checkpoint = wait_for(qtbot, worker, first)
    assert kind == "result"
    expected = open_checkpoint(checkpoint_files["general.pt"])
    assert [path for path, _ in checkpoint.iter_tensors()] == [path for path, _ in expected.iter_tensors()]
    pid = worker.pid
    second = worker.submit("load", {"path": checkpoint_files["state_dict.pt"]})
    assert wait_for(qtbot, worker, second)[0] == "result" and worker.pid == pid


def test_a_new_job_replaces_the_running_one(qtbot, worker, slow_file, checkpoint_files):
    slow = worker.submit("load", {"path": slow_file})
    qtbot.waitUntil(lambda: slow in worker.progress, timeout=30_000)  # the slow read is under way
    quick = worker.submit("load", {"path": checkpoint_files["state_dict.pt"]})
    assert worker.outcomes[slow] == ("cancelled",)
    assert wait_for(qtbot, worker, quick)[0] == "result"


def test_errors_are_one_line_and_the_process_stays(qtbot, worker, bad_files, checkpoint_files):
    bad = worker.submit("load", {"path": bad_files["page.pt"]})
    kind, message = wait_for(qtbot, worker, bad)
    assert kind == "error" and "HTML" in message and "\n" not in message
    pid = worker.pid
    assert wait_for(qtbot, worker, worker.submit("load", {"path": checkpoint_files["state_dict.pt"]}))[0] == "result"
    assert worker.pid == pid


def test_cancel_and_crash_end_the_process_and_the_next_job_starts_another(qtbot, worker, slow_file, checkpoint_files):
    slow = worker.submit("load", {"path": slow_file})
    qtbot.waitUntil(lambda: slow in worker.progress, timeout=30_000)
    pid = worker.pid
    worker.cancel()
    assert worker.outcomes[slow] == ("cancelled",) and worker.pid is None
    crashing = worker.submit("load", {"path": slow_file})
    assert worker.pid != pid
    qtbot.waitUntil(lambda: crashing in worker.progress, timeout=30_000)
    os.kill(worker.pid, signal.SIGKILL)
    kind, message = wait_for(qtbot, worker, crashing)
    assert kind == "error" and "crashed" in message and "SIGKILL" in message
    assert wait_for(qtbot, worker, worker.submit("load", {"path": checkpoint_files["state_dict.pt"]}))[0] == "result"


def test_an_idle_process_goes(qtbot, checkpoint_files):
    worker = WarmWorker(idle_ms=10)
    done = []
    worker.succeeded.connect(lambda job, value: done.append(job))
    job = worker.submit("load", {"path": checkpoint_files["state_dict.pt"]})
    qtbot.waitUntil(lambda: done == [job], timeout=60_000)
    qtbot.waitUntil(lambda: worker.pid is None, timeout=10_000)
