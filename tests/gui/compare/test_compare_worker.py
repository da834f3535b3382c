"""The worker protocol's partial results: every batch a job yields arrives, in order, before its result."""

from __future__ import annotations

from inspector.core.diff import diff_job
from inspector.core.model import TensorRef
from inspector.core.progress import run_job
from inspector.gui.workers.process_worker import ProcessWorker


def test_partial_results_arrive_in_order_before_the_result(qtbot, compare_pair):
    worker = ProcessWorker("compare", {"path_a": compare_pair[0], "path_b": compare_pair[1], "options": {}})
    received = []
    worker.partialArrived.connect(lambda items: received.append(("partial", items)))
    worker.succeeded.connect(lambda result: received.append(("result", result)))
    worker.failed.connect(lambda message: received.append(("error", message)))
    with qtbot.waitSignal(worker.succeeded, timeout=60_000):
        worker.start()
    worker.wait()
    kinds = [kind for kind, _ in received]
    assert kinds[-1] == "result" and set(kinds[:-1]) == {"partial"}
    events = [event for kind, items in received[:-1] for event in items]
    assert events[0]["event"] == "aligned"
    rows = [row for event in events if event["event"] == "rows" for row in event["rows"]]
    expected = run_job(diff_job(*compare_pair)).to_json()["tensors"]
    assert [row["key"] for row in rows] == [row["key"] for row in expected]
    assert all(isinstance(row["tensor_a"], TensorRef) for row in rows if row["status"] != "only_b")
    assert received[-1][1]["rows"] == len(expected)
