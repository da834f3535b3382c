"""What stands out in a series: computed from a run written by torch whose layers stop at
different points, one never moving and one going non-finite late."""

from __future__ import annotations

import pytest

from inspector.core.progress import run_job
from inspector.core.series import series_job
from inspector.core.series_findings import moved_most, non_finite, stopped_moving
from inspector.core.series_text import render_series

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def document(tmp_path_factory):
    """Five epochs: ``a`` moves every epoch, ``b`` stops after epoch 2, ``c`` never moves,
    ``d`` moves most and holds a NaN from epoch 3, ``count`` is an integer buffer."""
    folder = tmp_path_factory.mktemp("stops")
    torch.manual_seed(0)
    state = {"a": torch.randn(4, 4), "b": torch.randn(8), "c": torch.randn(3, 3), "d": torch.randn(5),
             "count": torch.tensor(0)}
    for epoch in range(5):
        if epoch:
            state["a"] = state["a"] + 0.01 * torch.randn(4, 4)
            if epoch <= 2:
                state["b"] = state["b"] + 0.1
            state["d"] = state["d"] * 3
            state["count"] = state["count"] + 10
        saved = dict(state)
        if epoch >= 3:
            saved["d"] = state["d"].clone()
            saved["d"][0] = float("nan")
        torch.save({"epoch": epoch, "state_dict": saved}, folder / f"e{epoch}.pt")
    return run_job(series_job([str(folder)])).to_json()


def test_moved_most_ranks_floating_tensors_by_distance_from_the_first(document):
    ranked = moved_most(document)
    assert [entry.key for entry in ranked] == sorted(["a", "b", "c", "d"], key=lambda key: -(
        [value for value in document["layers"][key]["dist_from_first"] if value is not None][-1]))
    assert ranked[0].key == "d" and "count" not in [entry.key for entry in ranked]
    steps = document["layers"]["d"]["rel_step"]
    assert ranked[0].largest_step == max(step for step in steps if step is not None)


def test_stopped_moving_names_frozen_layers_and_when_others_stopped(document):
    stopped = {entry.key: entry.since for entry in stopped_moving(document)}
    assert stopped == {"b": 2, "c": None}


def test_non_finite_says_from_which_checkpoint(document):
    [entry] = non_finite(document)
    assert (entry.key, entry.first, entry.nan, entry.inf, entry.nan_last) == ("d", 3, 1, 0, 1)


def test_the_text_view_says_it_in_words(document):
    text = "\n".join(render_series(document))
    assert "b  no step after epoch 2" in text and "c  frozen: never moved" in text
    assert "d  from epoch 3: 1 NaN, 0 Inf" in text
