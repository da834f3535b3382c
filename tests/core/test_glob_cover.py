"""Compact module-path patterns for a chosen set of keys: the plan's own matcher
(``key_globs.first_match``) must select exactly the chosen keys, and no shorter list of
module paths may do it (checked by brute force on small trees)."""

from __future__ import annotations

import itertools
import random

import pytest

from inspector.core.errors import CheckpointError
from inspector.core.glob_cover import escape, freeze_patterns, include_patterns
from inspector.core.key_globs import first_match, module_paths

RESNET_LIKE = [f"layer{layer}.{block}.{part}.{name}" for layer in range(1, 5) for block in range(2)
               for part in ("conv1", "bn1") for name in ("weight", "bias")]
KEYS = ["conv1.weight", "bn1.weight", "bn1.bias", *RESNET_LIKE, "fc.weight", "fc.bias"]


def kept(keys, include, exclude) -> list[bool]:
    return [(not include or first_match(key, include) is not None) and first_match(key, exclude) is None
            for key in keys]


def random_keys(rng: random.Random, count: int) -> list[str]:
    """Dotted keys over a small alphabet, so modules nest and share prefixes; some hold
    fnmatch's special characters. No key is a module path of another, as in a model's state dict."""
    names = ["a", "b", "c", "0", "1", "x[0]", "w*", "?"]
    keys = {".".join(rng.choice(names) for _ in range(rng.randint(1, 4))) for _ in range(count)}
    return sorted(key for key in keys if not any(other.startswith(key + ".") for other in keys))


@pytest.mark.parametrize("seed", range(40))
def test_include_patterns_select_exactly_the_chosen_keys(seed):
    rng = random.Random(seed)
    keys = random_keys(rng, rng.randint(1, 30))
    wanted = [rng.random() < 0.6 for _ in keys]
    include, exclude = include_patterns(keys, wanted.__getitem__)
    assert kept(keys, include, exclude) == wanted


@pytest.mark.parametrize("seed", range(40))
def test_freeze_patterns_freeze_exactly_the_chosen_keys_and_may_cover_the_others(seed):
    rng = random.Random(seed)
    keys = random_keys(rng, rng.randint(1, 30))
    wanted = [rng.choice([True, False, None]) for _ in keys]
    patterns = freeze_patterns(keys, wanted.__getitem__)
    for key, frozen in zip(keys, wanted):
        if frozen is not None:
            assert (first_match(key, patterns) is not None) == frozen, (key, patterns)


def test_whole_modules_become_one_pattern_each():
    without_head = [not key.startswith("fc.") for key in KEYS]
    assert include_patterns(KEYS, without_head.__getitem__) == ([], ["fc"])
    first_blocks = [not key.startswith(("layer3", "layer4", "fc")) for key in KEYS]
    frozen = freeze_patterns(KEYS, first_blocks.__getitem__)
    assert frozen == ["conv1", "bn1", "layer1", "layer2"]


def test_nothing_chosen_is_one_exclude_of_everything():
    include, exclude = include_patterns(KEYS, lambda position: False)
    assert kept(KEYS, include, exclude) == [False] * len(KEYS)


def test_special_characters_are_matched_literally():
    keys = ["blocks[0].weight", "blocksX.weight", "w*.bias", "wz.bias"]
    wanted = [True, False, True, False]
    include, exclude = include_patterns(keys, wanted.__getitem__)
    assert kept(keys, include, exclude) == wanted
    assert escape("a[1]*?") == "a[[]1][*][?]"


def test_a_key_above_other_keys_in_another_state_is_refused_by_name():
    """An exclude always wins, and a pattern for a key matches the keys below it."""
    keys = ["a", "a.b", "a.b.c"]
    possible = [False, True, False]
    assert kept(keys, *include_patterns(keys, possible.__getitem__)) == possible
    with pytest.raises(CheckpointError, match="'a.b' and 'a.b.c' cannot be told apart"):
        include_patterns(keys, [True, False, True].__getitem__)
    assert freeze_patterns(["a", "a.b"], [False, True].__getitem__) == ["a.b"]
    with pytest.raises(CheckpointError, match="'a' and 'a.b' cannot be told apart"):
        freeze_patterns(["a", "a.b"], [True, False].__getitem__)


def fewest_patterns(keys: list[str], wanted: list[bool]) -> int:
    """The fewest include + exclude module paths that keep exactly ``wanted``, by brute force."""
    candidates = sorted({escape(path) for key in keys for path in module_paths(key)})
    for size in range(len(candidates) + 1):
        for chosen in itertools.combinations(candidates, size):
            for split in range(size + 1):
                include, exclude = list(chosen[:split]), list(chosen[split:])
                if kept(keys, include, exclude) == wanted:
                    return size
    raise AssertionError("unreachable: listing every key always works")


@pytest.mark.parametrize("seed", range(25))
def test_no_shorter_list_of_module_paths_exists(seed):
    rng = random.Random(1000 + seed)
    names = ["a", "b", "c"]
    keys = sorted({".".join(rng.choice(names) for _ in range(rng.randint(2, 3))) for _ in range(7)})
    wanted = [rng.random() < 0.5 for _ in keys]
    if not any(wanted):
        wanted[0] = True
    include, exclude = include_patterns(keys, wanted.__getitem__)
    assert len(include) + len(exclude) == fewest_patterns(keys, wanted)
