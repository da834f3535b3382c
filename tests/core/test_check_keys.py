"""Key steps: the key matcher on the checkpoint's side, and the version table renamed with the keys."""

from __future__ import annotations

import collections

import pytest

from inspector.core.align import Rule
from inspector.core.check_keys import DropStep, RegexStep, RuleStep, align_to_target, apply_steps, rewrite_version_table
from inspector.core.errors import CheckpointError

torch = pytest.importorskip("torch")


def data_parallel_state():
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 1), torch.nn.BatchNorm2d(2))
    return torch.nn.DataParallel(net).state_dict()


def test_stripping_module_renames_the_version_table_as_torch_does():
    from torch.nn.modules.utils import consume_prefix_in_state_dict_if_present

    state = data_parallel_state()
    table = {name: dict(entry) for name, entry in state._metadata.items()}
    consume_prefix_in_state_dict_if_present(state, "module.")
    expected = {name: dict(entry) for name, entry in state._metadata.items()}
    assert rewrite_version_table(table, [RuleStep(Rule.strip_prefix("module."))]) == expected


def test_added_prefixes_and_regex_renames_follow_the_keys():
    table = collections.OrderedDict([("", {"version": 1}), ("ln", {"version": 2})])
    steps = [RuleStep(Rule.add_prefix("backbone.")), RegexStep(r"(^|\.)ln(?=\.|$)", r"\1norm")]
    assert rewrite_version_table(table, steps) == {"backbone": {"version": 1}, "backbone.norm": {"version": 2}}
    assert rewrite_version_table(None, steps) is None


def test_a_prefix_stripped_from_the_target_is_added_to_the_checkpoint():
    rules = align_to_target(["conv.weight", "fc.weight"], ["backbone.conv.weight", "backbone.fc.weight"])
    assert [step.name for step in rules] == ["add 'backbone.'"]
    rules = align_to_target(["module.conv.weight"], ["conv.weight"])
    assert [step.name for step in rules] == ["strip 'module.'"]


def test_steps_keep_order_drop_keys_and_refuse_collisions():
    names = {key: key for key in ("module.a", "module.b", "c")}
    result = apply_steps(names, [RuleStep(Rule.strip_prefix("module.")), DropStep({"b"}, "drop b")])
    assert result == {"a": "module.a", "c": "c"}
    with pytest.raises(CheckpointError, match="turns both 'module.a' and 'a' into 'a'"):
        apply_steps({"module.a": "module.a", "a": "a"}, [RuleStep(Rule.strip_prefix("module."))])
