"""The fix plan and its command line: ``inspector export`` parses the line into the same plan."""

from __future__ import annotations

import argparse
import shlex

from inspector.commands import export
from inspector.core.align import Rule
from inspector.core.check_keys import DropStep, RegexStep, RuleStep
from inspector.core.check_plan import export_command, fix_plan, fixed_file_name
from inspector.core.key_globs import matches

KEYS = ["_orig_mod.module.conv.weight", "_orig_mod.module.ln.gamma", "_orig_mod.module.fc.weight",
        "_orig_mod.module.fc.bias", "_orig_mod.module.odd[1].weight"]
STEPS = [RuleStep(Rule.drop_token("_orig_mod.")), RuleStep(Rule.strip_prefix("module.")),
         RegexStep(r"(^|\.)gamma$", r"\1weight"), DropStep({"fc.weight", "fc.bias", "odd[1].weight"}, "drop"),
         RuleStep(Rule.add_prefix("net."))]


def parsed_plan(line: str):
    parser = argparse.ArgumentParser()
    export.add_arguments(parser)
    words = shlex.split(line)
    assert words[:2] == ["inspector", "export"]
    return export._plan(parser.parse_args(words[2:]))


def test_the_plan_renames_and_drops_as_the_steps_do():
    plan = fix_plan("model", KEYS, STEPS)
    assert plan.rename == (("_orig_mod.", ""), ("module.", ""), ("ln.gamma", "ln.weight"), ("", "net."))
    assert plan.exclude == ("net.fc", "net.odd[[]1]")
    final = KEYS
    for rule in plan.rules():
        final = [rule.apply(key) for key in final]
    kept = [key for key in final if not any(matches(key, pattern) for pattern in plan.exclude)]
    assert kept == ["net.conv.weight", "net.ln.weight"]


def test_the_command_line_parses_back_into_the_plan():
    plan = fix_plan("model", KEYS, STEPS)
    line = export_command("my model.ckpt", plan)
    assert line.startswith("inspector export 'my model.ckpt' -o 'my model-fixed.pt' --subdict model")
    assert parsed_plan(line) == plan


def test_fixed_file_names():
    assert fixed_file_name("a/model.safetensors") == "a/model-fixed.safetensors"
    assert fixed_file_name("a/model.pth") == "a/model-fixed.pt"
