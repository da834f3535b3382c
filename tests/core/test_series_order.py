"""Where a checkpoint sits in its series: names as the fallback, aliases, copies, run folders."""

from __future__ import annotations

import json
import os

import pytest

from inspector.core.series_discovery import looks_like_series_folder, name_position, series_sources
from inspector.core.series_order import Placement, copies, order_series


@pytest.mark.parametrize("name, epoch, step, alias", [
    ("epoch=3-step=1200.ckpt", 3, 1200, None),
    ("epoch=3-step=1200-v1.ckpt", 3, 1200, None),
    ("checkpoint-12.pth.tar", 12, None, None),  # timm: an epoch
    ("checkpoint-500", None, 500, None),  # a Trainer folder: a step
    ("e10.pt", 10, None, None),
    ("resnet50_epoch_7.pth", 7, None, None),
    ("iter_5000.pth", None, 5000, None),
    ("global_step=300.ckpt", None, 300, None),
    ("model_best.pth.tar", None, None, "best"),
    ("last-v1.ckpt", None, None, "last"),
    ("best_epoch_4.pt", 4, None, "best"),
    ("weights.safetensors", None, None, None),
])
def test_names_say_epoch_step_or_alias(name, epoch, step, alias):
    assert (name_position(name).epoch, name_position(name).step, name_position(name).alias) == (epoch, step, alias)


def place(label, epoch=None, step=None):
    return Placement.of(label, epoch, step, name_position(label))


def test_recorded_values_win_over_names_and_aliases_go_where_they_record():
    placements = [place("b.pt", epoch=2), place("a.pt", epoch=0), place("best.pt", epoch=1), place("c_e9.pt", epoch=1)]
    order, skipped = order_series(placements)
    assert [placements[index].label for index in order] == ["a.pt", "c_e9.pt", "best.pt", "b.pt"]
    assert skipped == {}
    assert copies([placements[index] for index in order]) == {
        2: "same epoch and step as c_e9.pt (epoch 1): a copy of that point"}


def test_steps_order_when_every_checkpoint_has_one():
    placements = [place("epoch=1-step=50.ckpt"), place("epoch=0-step=20.ckpt"), place("epoch=0-step=10.ckpt")]
    order, _ = order_series(placements)
    assert [placements[index].label for index in order] == ["epoch=0-step=10.ckpt", "epoch=0-step=20.ckpt",
                                                            "epoch=1-step=50.ckpt"]


def test_what_cannot_be_placed_is_skipped_with_the_reason():
    placements = [place("e1.pt"), place("last.ckpt"), place("final_weights.pt"), place("e2.pt")]
    order, skipped = order_series(placements)
    assert [placements[index].label for index in order] == ["e1.pt", "e2.pt"]
    assert "'last' checkpoint" in skipped[1] and "cannot be placed" in skipped[1]
    assert "'final' checkpoint" in skipped[2]  # an alias too: it names the last point
    assert set(skipped) == {1, 2}


def test_a_copy_of_a_point_is_named_after_the_one_kept():
    ordered = [place("epoch=3-step=40.ckpt"), place("last.ckpt", epoch=3, step=40)]
    assert copies(ordered) == {1: "same epoch and step as epoch=3-step=40.ckpt (epoch 3, step 40): a copy of that point"}


def test_a_trainer_output_folder_gives_its_checkpoints_and_its_final_model(tmp_path):
    for name in ("checkpoint-10", "checkpoint-20", "runs"):
        (tmp_path / name).mkdir()
    for name in ("checkpoint-10", "checkpoint-20"):
        (tmp_path / name / "model.safetensors").write_bytes(b"x")
        (tmp_path / name / "trainer_state.json").write_text(json.dumps({"global_step": 1}))
    (tmp_path / "model.safetensors").write_bytes(b"x")
    (tmp_path / "training_args.bin").write_bytes(b"x")
    (tmp_path / "trainer_state.json").write_text("{}")
    sources = series_sources([str(tmp_path)])
    assert [(os.path.relpath(source.path, tmp_path), source.label) for source in sources] == [
        ("checkpoint-10/model.safetensors", "checkpoint-10"), ("checkpoint-20/model.safetensors", "checkpoint-20"),
        ("model.safetensors", tmp_path.name)]
    assert sources[0].trainer_state == str(tmp_path / "checkpoint-10" / "trainer_state.json")
    assert looks_like_series_folder(str(tmp_path))
    assert not looks_like_series_folder(str(tmp_path / "checkpoint-10"))
