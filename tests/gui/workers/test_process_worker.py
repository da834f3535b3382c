"""Loading in a worker process: results, one-line errors, cancel at once, crashes in place."""

from __future__ import annotations

import os
import signal

from inspector.core.loader import open_checkpoint
from inspector.gui.document.loaded_tree import LoadedTree, prepare_tree
from inspector.gui.workers.process_worker import ProcessWorker


def start_load(qtbot, path: str, postprocess=prepare_tree) -> tuple[ProcessWorker, dict]:
    worker = ProcessWorker("load", {"path": path}, postprocess=postprocess)
    outcome: dict = {"progress": []}
    worker.progressed.connect(lambda done, total, text: outcome["progress"].append((done, total, text)))
    worker.succeeded.connect(lambda value: outcome.setdefault("result", value))
    worker.failed.connect(lambda message: outcome.setdefault("error", message))
    worker.cancelled.connect(lambda: outcome.setdefault("cancelled", True))
    worker.start()
    return worker, outcome


def settled(outcome: dict) -> bool:
    return any(key in outcome for key in ("result", "error", "cancelled"))


def test_a_file_loads_in_the_worker_like_in_process(qtbot, checkpoint_files):
    worker, outcome = start_load(qtbot, checkpoint_files["general.pt"])
    qtbot.waitUntil(lambda: settled(outcome), timeout=60_000)
    worker.wait()
    loaded = outcome["result"]
    assert isinstance(loaded, LoadedTree)
    expected = open_checkpoint(checkpoint_files["general.pt"])
    assert [path for path, _ in loaded.checkpoint.iter_tensors()] == [path for path, _ in expected.iter_tensors()]
    assert loaded.root.tensor_count == len(list(expected.iter_tensors()))
    assert not worker.is_running()


def test_a_bad_file_fails_with_the_engines_one_line_message(qtbot, bad_files):
    worker, outcome = start_load(qtbot, bad_files["page.pt"])
    qtbot.waitUntil(lambda: settled(outcome), timeout=60_000)
    worker.wait()
    assert "HTML" in outcome["error"] and "\n" not in outcome["error"] and "Traceback" not in outcome["error"]


def test_cancel_kills_a_long_load_at_once(qtbot, slow_file):
    worker, outcome = start_load(qtbot, slow_file)
    qtbot.waitUntil(lambda: bool(outcome["progress"]), timeout=30_000)  # the reader is into the file
    assert not settled(outcome), "the slow file loaded too fast to test cancelling"
    worker.cancel()  # returns once the process is gone: nothing is left to wait for
    assert outcome.get("cancelled") and "result" not in outcome
    assert not _alive(worker.pid) and not worker.is_running()


def test_stop_ends_the_job_at_its_next_yield_and_the_process_exits_by_itself(qtbot, slow_file):
    worker, outcome = start_load(qtbot, slow_file)
    qtbot.waitUntil(lambda: bool(outcome["progress"]), timeout=30_000)
    assert not settled(outcome), "the slow file loaded too fast to test stopping"
    with qtbot.waitSignal(worker.cancelled, timeout=30_000):
        worker.stop()
    worker.wait()
    assert "result" not in outcome and "error" not in outcome
    assert worker._process.exitcode == 0  # it returned; it was not killed


def test_a_crashed_reader_becomes_an_error_message(qtbot, slow_file):
    worker, outcome = start_load(qtbot, slow_file)
    qtbot.waitUntil(lambda: worker.pid is not None and _alive(worker.pid), timeout=30_000)
    os.kill(worker.pid, signal.SIGKILL)  # what a segfault or the OOM killer looks like from outside
    qtbot.waitUntil(lambda: settled(outcome), timeout=30_000)
    worker.wait()
    assert outcome["error"] == "the reader crashed (exit code -9, SIGKILL)"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_the_leftover_guard_sees_a_running_worker(qtbot, slow_file):
    import threading

    from tests.gui.conftest import _leftovers

    before = set(threading.enumerate())
    worker, _outcome = start_load(qtbot, slow_file)
    found = _leftovers(before)
    worker.cancel()
    assert any(item.startswith("process inspector-load") for item in found)
    assert "thread inspector-load-reader" in found
    assert _leftovers(before) == []
