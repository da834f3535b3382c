"""The other values as the compare view lists them, against the values torch saved: readable
roundings with the exact value kept, NaN as a number, containers of tensors named as such."""

from __future__ import annotations

import argparse
import math

import pytest

from inspector.core.compare_job import compare_job
from inspector.core.compare_objects import object_rows, short_text
from inspector.core.diff import diff_job
from inspector.core.progress import Partial, run_job

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def training_pair(tmp_path_factory):
    """Two checkpoints of a run: B went NaN, and only A keeps its Adam state and its arguments."""
    folder = tmp_path_factory.mktemp("objects")
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Linear(3, 2))
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    net(torch.randn(5, 4)).sum().backward()
    optimizer.step()
    a = {"epoch": 7, "model": net.state_dict(), "optimizer": optimizer.state_dict(), "loss": 0.4231,
         "val_acc": 0.1, "args": argparse.Namespace(lr=0.001, name="run-1"), "betas": (0.9, 0.999)}
    b = {"epoch": 8, "model": net.state_dict(), "loss": float("nan"), "val_acc": 0.1 + 0.2,
         "args": argparse.Namespace(lr=0.001, name="run-1"), "betas": (0.9, 0.95)}
    paths = str(folder / "a.pt"), str(folder / "b.pt")
    torch.save(a, paths[0])
    torch.save(b, paths[1])
    return paths, a, b


def rows_by_path(paths) -> dict[str, dict]:
    result = run_job(diff_job(*paths))
    return {".".join(map(str, row["path"])): row for row in object_rows(result.objects, result.object_values)}


def test_floats_read_rounded_with_the_exact_value_kept_and_nan_as_a_number(training_pair):
    paths, a, b = training_pair
    rows = rows_by_path(paths)
    assert rows["val_acc"]["b"] == {"text": format(b["val_acc"], ".6g"), "exact": repr(b["val_acc"])}
    assert rows["val_acc"]["b"]["text"] == "0.3" and rows["val_acc"]["b"]["exact"] == "0.30000000000000004"
    assert rows["loss"]["a"]["text"] == repr(a["loss"]) and rows["loss"]["b"]["text"] == "nan"
    assert math.isnan(float(rows["loss"]["b"]["exact"]))
    assert rows["epoch"]["a"]["text"] == "7" and rows["epoch"]["b"]["text"] == "8"
    assert rows["betas.1"]["a"]["text"] == repr(a["betas"][1]) and rows["betas.1"]["b"]["text"] == "0.95"
    assert "args" not in rows  # equal on both sides


def test_a_container_of_tensors_says_it_holds_tensors(training_pair):
    paths, a, _ = training_pair
    row = rows_by_path(paths)["optimizer"]
    assert row["b"] is None  # only in A
    state = a["optimizer"]["state"]
    tensors = sum(1 for slots in state.values() for value in slots.values() if torch.is_tensor(value))
    assert f"{len(state)} entries, {tensors} tensors" in row["a"]["text"]
    weight = state[0]["exp_avg"]
    assert f"tensor float32[{', '.join(map(str, weight.shape))}]" in row["a"]["exact"]
    assert "lr: 0.001" in row["a"]["exact"]


def test_texts_stay_short_and_bounded():
    nested = {"level": [{"values": list(range(50))} for _ in range(20)]}
    assert len(short_text(nested)) <= 100
    deep: object = 1.5
    for _ in range(200):
        deep = [deep]
    assert short_text(deep).startswith("[[[")


def test_the_compare_job_sends_the_rows_beside_the_contracts_objects(training_pair):
    paths, _, _ = training_pair
    events = []
    job = compare_job(*paths)
    try:
        while True:
            report = next(job)
            if isinstance(report, Partial):
                events.extend(report.items)
    except StopIteration:
        pass
    header = next(event for event in events if event["event"] == "aligned")
    result = run_job(diff_job(*paths))
    assert header["objects"] == result.objects
    assert header["object_rows"] == object_rows(result.objects, result.object_values)
