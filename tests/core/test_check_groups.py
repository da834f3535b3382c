"""Keys grouped by module, indices collapsed; every group stands for exactly its keys."""

from __future__ import annotations

import itertools
import re

import pytest

from inspector.core.check_groups import format_indices, group_keys, group_line


def expand(group: dict) -> set[str]:
    """The keys a group stands for, read back from its text."""
    pieces = re.split(r"\{([^}]*)\}", group["module"])
    choices = []
    for index, piece in enumerate(pieces):
        if index % 2 == 0:
            choices.append([piece])
            continue
        values = []
        for part in piece.split(","):
            start, _, end = part.partition("…")
            values += [str(value) for value in range(int(start), int(end or start) + 1)]
        choices.append(values)
    modules = ["".join(parts) for parts in itertools.product(*choices)]
    return {f"{module}.{name}" if module else name for module in modules for name in group["names"]}


RESNET_LIKE = [f"layer{layer}.{block}.{part}.{name}" for layer in (1, 2) for block in (0, 1)
               for part in ("conv1", "bn2") for name in (["weight"] if part == "conv1" else ["weight", "bias"])]
VIT_LIKE = [f"blocks.{block}.attn.{name}" for block in range(12) for name in ("qkv.weight", "proj.bias")]
RAGGED = ["a.0.x.1.w", "a.0.x.2.w", "a.1.x.1.w", "a.5.x.7.w", "scale", "encoder_layer_3.ln.w"]


@pytest.mark.parametrize("keys", [RESNET_LIKE, VIT_LIKE, RAGGED])
def test_groups_stand_for_exactly_their_keys(keys):
    groups = group_keys(keys)
    expanded = [expand(group) for group in groups]
    assert set().union(*expanded) == set(keys)
    assert sum(len(keys_of) for keys_of in expanded) == len(keys) == sum(group["count"] for group in groups)


def test_indices_collapse_as_the_issue_shows():
    lines = [group_line(group) for group in group_keys(RESNET_LIKE + VIT_LIKE)]
    assert lines[:2] == ["layer1.{0,1}.conv1: weight", "layer1.{0,1}.bn2: weight, bias"]
    assert "blocks.{0…11}.attn.qkv: weight" in lines and "blocks.{0…11}.attn.proj: bias" in lines


def test_a_ragged_set_is_split_into_products():
    assert [group["module"] for group in group_keys(RAGGED)] == ["a.0.x.{1,2}", "a.1.x.1", "a.5.x.7", "", "encoder_layer_3.ln"]


@pytest.mark.parametrize("values, text", [([3], "3"), ([0, 1], "{0,1}"), (list(range(12)), "{0…11}"),
                                          ([0, 2, 5, 6, 7, 9], "{0,2,5…7,9}")])
def test_index_sets(values, text):
    assert format_indices(values) == text
