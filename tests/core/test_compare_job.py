"""The compare view's engine: the streamed job against ``diff_job``, the Qt-free state with its
generations, and the module grouping against sums computed here from the rows."""

from __future__ import annotations

import math

import pytest

from inspector.core import jobs
from inspector.core.compare_job import compare_job, options_from_plain, options_to_plain
from inspector.core.compare_state import CompareRow, CompareState
from inspector.core.diff import DiffOptions, diff_job
from inspector.core.diff_tree import DiffGroup, DiffTree
from inspector.core.model import TensorRef
from inspector.core.progress import Partial, Progress, run_job

torch = pytest.importorskip("torch")
nn = torch.nn


def small_net() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 6, 3), nn.BatchNorm2d(6), nn.ReLU(), nn.Flatten(),
                         nn.Sequential(nn.Linear(24, 8), nn.Linear(8, 4)))


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """A model, and a fine-tuned copy saved through DataParallel with its head replaced."""
    folder = tmp_path_factory.mktemp("compare")
    torch.manual_seed(0)
    net = small_net()
    before = {key: value.clone() for key, value in net.state_dict().items()}
    with torch.no_grad():
        net[0].weight.add_(0.01 * torch.randn_like(net[0].weight))
        net[4][0].bias.mul_(2.0)
        net[4][1] = nn.Linear(8, 7)
    after = {f"module.{key}": value for key, value in net.state_dict().items()}
    after["module.extra.scale"] = torch.ones(3)
    paths = str(folder / "a.pt"), str(folder / "b.pt")
    torch.save({"epoch": 1, "state_dict": before}, paths[0])
    torch.save({"epoch": 2, "state_dict": after}, paths[1])
    return paths


def drive(job) -> tuple[list[dict], object, list[Progress]]:
    """Every event the job sent, its result, and every report."""
    events, reports = [], []
    try:
        while True:
            report = next(job)
            reports.append(report)
            if isinstance(report, Partial):
                events.extend(report.items)
    except StopIteration as finished:
        return events, finished.value, reports


def streamed_rows(events: list[dict]) -> list[dict]:
    return [row for event in events if event["event"] == "rows" for row in event["rows"]]


def test_the_job_streams_every_row_of_the_diff(pair):
    events, result, _ = drive(jobs.make_job("compare", {"path_a": pair[0], "path_b": pair[1], "options": {}}))
    expected = run_job(diff_job(*pair)).to_json()
    rows = streamed_rows(events)
    assert [{key: value for key, value in row.items() if not key.startswith("tensor_") and key != "non_finite"}
            for row in rows] == expected["tensors"]
    assert result == {"summary": expected["summary"], "rows": len(expected["tensors"])}
    header = events[0]
    assert header["event"] == "aligned" and header["rows"] == len(rows)
    assert [rule["name"] for rule in header["alignment"]["rules"]] == expected["alignment"]["rules"]
    assert header["objects"] == expected["objects"] and header["a"] == expected["a"]


def test_rows_carry_the_tensors_compared(pair):
    events, _, _ = drive(compare_job(*pair))
    rows = {row["key"]: row for row in streamed_rows(events)}
    weight = rows["0.weight"]
    assert isinstance(weight["tensor_a"], TensorRef) and weight["tensor_a"].shape == tuple(weight["shape_a"])
    assert rows["extra.scale"]["tensor_a"] is None and rows["extra.scale"]["tensor_b"].shape == (3,)


def test_rows_come_in_batches_before_the_end(pair, monkeypatch):
    import inspector.core.compare_job as module

    monkeypatch.setattr(module, "ROWS_PER_BATCH", 3)
    _, result, reports = drive(compare_job(*pair))
    sizes = [len(event["rows"]) if isinstance(report, Partial) else 0
             for report in reports for event in (getattr(report, "items", None) or [{"event": "rows", "rows": []}])
             if event["event"] == "rows"]
    assert sum(sizes) == result["rows"]
    first_batch = next(position for position, size in enumerate(sizes) if size)
    assert first_batch < len(sizes) - 2  # rows flow while values are still being compared
    assert sum(1 for size in sizes if size) >= 3


def test_options_round_trip_through_plain_data(pair):
    options = DiffOptions(rtol=0.1, atol=None, subdict_a="state_dict", strip_b="module.",
                          disabled=("drop '_orig_mod.' from A",))
    plain = options_to_plain(options)
    jobs.check_plain(plain)
    assert options_from_plain(plain) == options
    with pytest.raises(ValueError, match="unknown diff options: colour"):
        options_from_plain({"colour": "red"})


def test_a_disabled_rule_changes_the_rows_as_the_diff_says(pair):
    name = "strip 'module.' from B"
    events, _, _ = drive(compare_job(*pair, {"disabled": [name]}))
    expected = run_job(diff_job(*pair, DiffOptions(disabled=(name,)))).to_json()
    assert [row["status"] for row in streamed_rows(events)] == [row["status"] for row in expected["tensors"]]
    assert expected["summary"]["only_a"] > 0
    assert [rule["name"] for rule in events[0]["alignment"]["disabled"]] == [name]


def test_a_broken_file_raises_the_engines_message(pair, bad_files):
    with pytest.raises(Exception, match="HTML"):
        drive(compare_job(pair[0], bad_files["page.pt"]))


# -- the state -------------------------------------------------------------------------------
def test_state_takes_rows_of_its_own_generation_only(pair):
    state = CompareState(*pair)
    events, result, _ = drive(compare_job(**state.job_arguments()))
    first = state.start()
    second = state.start(state.with_rule("strip 'module.' from B", False))
    assert second == first + 1 and state.options.disabled == ("strip 'module.' from B",)
    assert state.accept(first, events) is None and state.rows == []
    rows = state.accept(second, events)
    assert [row.key for row in rows] == [row["key"] for row in streamed_rows(events)]
    assert [row.index for row in rows] == list(range(len(rows)))
    assert state.finish(second, result) and state.phase == "done"
    assert state.summary == result["summary"]
    assert not state.fail(second, "late") and state.phase == "done"


def test_state_cancel_keeps_rows_and_refuses_later_events(pair):
    state = CompareState(*pair)
    events, _, _ = drive(compare_job(*pair))
    generation = state.start()
    state.accept(generation, events[:1])
    assert state.cancel() and state.phase == "cancelled"
    assert state.accept(generation, events[1:]) is None
    assert state.header is not None and state.rows == []


def test_state_swap_exchanges_the_sides(pair):
    state = CompareState(*pair, DiffOptions(subdict_a="x", strip_b="module.", rtol=0.5, disabled=("r",)))
    state.swap()
    assert (state.path_a, state.path_b) == (pair[1], pair[0])
    assert state.options == DiffOptions(rtol=0.5, subdict_b="x", strip_a="module.")


def test_change_score_orders_most_changed_first():
    rows = [CompareRow(0, "a", "equal", rel_l2=0.0), CompareRow(1, "b", "changed", rel_l2=0.5),
            CompareRow(2, "c", "only_b"), CompareRow(3, "d", "close", rel_l2=1e-7),
            CompareRow(4, "e", "shape"), CompareRow(5, "f", "changed", rel_l2=None, max_abs=1.0, mismatched=3),
            CompareRow(6, "g", "only_a")]
    assert [row.key for row in sorted(rows, key=lambda row: -row.change_score)] == list("fbdegca")


@pytest.fixture(scope="module")
def non_finite_pair(tmp_path_factory):
    """Tensors whose NaN/Inf differ in every way between A and B, and one that agrees."""
    folder = tmp_path_factory.mktemp("non_finite")
    torch.manual_seed(1)
    base = {name: torch.randn(4, 5) for name in ("clean", "nan_b", "inf_a", "same_nan", "moved", "more", "both")}
    base["same_nan"][0, 0] = float("nan")
    base["moved"][0, 0] = float("nan")
    base["more"][1, 1] = float("inf")
    other = {name: value.clone() for name, value in base.items()}
    other["nan_b"].view(-1)[:3] = float("nan")
    base["inf_a"][2, 2] = -float("inf")
    other["moved"][0, 0], other["moved"][3, 4] = 0.5, float("nan")
    other["more"][1, 2] = other["more"][1, 3] = float("inf")
    other["both"][0, 1], other["both"][0, 2] = float("nan"), float("inf")
    other["clean"].add_(0.1)
    paths = str(folder / "a.pt"), str(folder / "b.pt")
    torch.save(base, paths[0])
    torch.save(other, paths[1])
    return paths, base, other


def test_rows_carry_each_sides_nan_and_inf_as_torch_counts_them(non_finite_pair):
    paths, base, other = non_finite_pair
    events, _, _ = drive(compare_job(*paths))
    rows = {row["key"]: row for row in streamed_rows(events)}
    for key, a in base.items():
        b, counts = other[key], rows[key]["non_finite"]
        if key == "same_nan":
            continue
        assert (counts["nan_a"], counts["nan_b"]) == (int(a.isnan().sum()), int(b.isnan().sum())), key
        assert (counts["inf_a"], counts["inf_b"]) == (int(a.isinf().sum()), int(b.isinf().sum())), key
        assert counts["finite"] == int((a.isfinite() & b.isfinite()).sum()) and counts["compared"] == a.numel()
    assert rows["same_nan"]["status"] == "equal" and rows["same_nan"]["non_finite"] is None  # bytes compared


def test_a_nan_or_inf_on_one_side_is_named_and_ranked_first(non_finite_pair):
    paths, base, other = non_finite_pair
    state = CompareState(*paths)
    events, _, _ = drive(compare_job(*paths))
    state.accept(state.start(), events)
    notes = {row.key: row.non_finite_note for row in state.rows}
    assert notes == {"clean": None, "nan_b": "NaN in B", "inf_a": "Inf in A", "same_nan": None,
                     "moved": "NaN/Inf moved", "more": "Inf 1 → 3", "both": "NaN, Inf in B"}
    assert state.row_for_key("nan_b").rel_l2 == 0.0  # the contract's number, over finite positions
    ranked = sorted(state.rows, key=lambda row: -row.change_score)
    assert {row.key for row in ranked[:5]} == {key for key, note in notes.items() if note}
    assert "A: 0 NaN, 0 Inf · B: 3 NaN, 0 Inf" in state.row_for_key("nan_b").non_finite_details()
    tree = DiffTree(grouped=False)
    for row in state.rows:
        tree.add_row(row)
    assert tree.root.non_finite == 5


# -- module grouping ------------------------------------------------------------------------
def test_grouping_puts_rows_under_their_modules_with_the_largest_change(pair):
    state = CompareState(*pair)
    events, _, _ = drive(compare_job(*pair))
    state.accept(state.start(), events)
    tree = DiffTree(grouped=True)
    for row in state.rows:
        tree.add_row(row)
    assert [leaf.entry for leaf in tree.leaves()] == state.rows
    for group in _groups(tree.root):
        below = [row for row in state.rows if row.key.startswith(group.prefix)]
        assert group.tensors == len(below)
        assert group.max_abs == _largest(row.max_abs for row in below)
        assert group.rel_l2 == _largest(row.rel_l2 for row in below)
        cosines = [row.cosine for row in below if row.cosine is not None]
        assert group.cosine == (min(cosines) if cosines else None)
        assert group.score == max(row.change_score for row in below)
        assert sum(group.counts.values()) == len(below)
    top = {child.name for child in tree.root.children}
    assert top == {"0", "1", "4", "extra"}
    flat = DiffTree(grouped=False)
    for row in state.rows:
        flat.add_row(row)
    assert [child.entry for child in flat.root.children] == state.rows


def _groups(group: DiffGroup):
    for child in group.children:
        if isinstance(child, DiffGroup):
            yield child
            yield from _groups(child)


def _largest(values) -> float | None:
    present = [value for value in values if value is not None]
    return max(present) if present else None


def test_placement_names_the_missing_modules():
    tree = DiffTree(grouped=True)
    tree.add_row(CompareRow(0, "layer1.0.conv.weight", "equal"))
    parent, missing = tree.placement("layer1.1.conv.weight")
    assert parent.prefix == "layer1." and missing == ["1", "conv"]
    assert tree.placement("bias") == (tree.root, [])
    assert math.isinf(-DiffGroup("x", "x.", None, 0).score)
