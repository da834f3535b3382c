"""The export toggles as a Qt-free model, on files torch wrote: what a toggle selects, resolved
through the export plan, against torch's own module order, parameters and requires_grad."""

from __future__ import annotations

import pytest
import torch
from torchvision.models import resnet18

from inspector.core.errors import CheckpointError
from inspector.core.export_selection import (
    ExportRows, ExportSelection, default_selection, selection_for_plan,
)
from inspector.core.export_summary import ExportSummary, resolve_job
from inspector.core.loader import open_checkpoint
from inspector.core.plan import ExportPlan
from inspector.core.progress import run_job
from inspector.core.tree import build_tree, iter_nodes
from tests.conftest import SmallNet


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    model = resnet18(weights=None)
    for parameter in model.layer1[0].parameters():
        parameter.requires_grad_(False)
    return model


@pytest.fixture(scope="module")
def opened(model, tmp_path_factory):
    """A training checkpoint whose model was saved with keep_vars=True: frozen Parameters keep
    requires_grad=False in the file."""
    path = str(tmp_path_factory.mktemp("selection") / "train.pt")
    torch.save({"epoch": 2, "model": model.state_dict(keep_vars=True)}, path)
    checkpoint = open_checkpoint(path)
    return checkpoint, build_tree(checkpoint)


def module_node(root, key: str):
    return next(node for node in iter_nodes(root) if node.key == key and node.kind == "module")


def resolved(selection: ExportSelection, checkpoint):
    return selection.plan().resolve(checkpoint)


def parameter_names(model, before: str | None = None) -> list[str]:
    """Parameter names in registration order, up to (not including) the module ``before``."""
    names = []
    for name, _ in model.named_parameters():
        if before is not None and name.startswith(before + "."):
            break
        names.append(name)
    return names


def test_start_includes_everything_and_prefills_what_the_file_froze(model, opened):
    checkpoint, root = opened
    selection = default_selection(checkpoint, root)
    assert selection.rows.subdict is None and selection.rows.keys == list(model.state_dict())
    result = resolved(selection, checkpoint)
    assert result.keys == list(model.state_dict())
    assert result.frozen == [name for name, parameter in model.named_parameters() if not parameter.requires_grad]
    assert selection.plan().freeze == ("layer1.0",)


def test_toggling_modules_makes_one_pattern_per_module(model, opened):
    checkpoint, root = opened
    selection = default_selection(checkpoint, root)
    for name in ("layer4", "fc"):
        selection = selection.with_included(selection.rows.span(module_node(root, name)), False)
    plan = selection.plan()
    assert (plan.include, plan.exclude) == ((), ("layer4", "fc"))
    assert resolved(selection, checkpoint).keys == [key for key in model.state_dict()
                                                   if not key.startswith(("layer4.", "fc."))]


def test_module_counts_give_the_tristate_of_each_row(opened):
    checkpoint, root = opened
    selection = default_selection(checkpoint, root)
    block = module_node(root, "layer2.0")
    selection = selection.with_included(selection.rows.span(module_node(root, "layer2.0.bn1")), False)
    span, inner = selection.rows.span(block), selection.rows.span(module_node(root, "layer2.0.bn1"))
    below = [node for node in iter_nodes(block) if node.kind == "tensor"]
    assert span[1] - span[0] == len(below)
    assert selection.included_in(span) == len(below) - (inner[1] - inner[0])
    assert selection.freezable_in(span) == sum(node.tensor.role != "buffer" for node in below)


def test_freezing_up_to_a_block_freezes_every_parameter_before_it(model, opened):
    checkpoint, root = opened
    selection = default_selection(checkpoint, root)
    selection = selection.with_frozen(selection.rows.up_to(module_node(root, "layer2")), True)
    assert resolved(selection, checkpoint).frozen == parameter_names(model, before="layer3")
    assert selection.plan().freeze == ("conv1", "bn1", "layer1", "layer2")
    later = selection.with_frozen(selection.rows.from_here(module_node(root, "layer4")), True)
    expected = [name for name in parameter_names(model) if not name.startswith(("layer3.",))]
    assert resolved(later, checkpoint).frozen == expected


def test_a_selection_round_trips_through_its_plan(opened):
    checkpoint, root = opened
    selection = default_selection(checkpoint, root).with_options(rename=(("", "backbone."),), dtype="float16")
    selection = selection.with_included(selection.rows.span(module_node(root, "fc")), False)
    selection = selection.with_frozen(selection.rows.span(module_node(root, "layer3.1")), True)
    plan = selection.plan()
    again = ExportSelection.from_plan(ExportRows.build(checkpoint, root, plan.subdict), plan)
    assert (again.included == selection.included).all() and (again.frozen == selection.frozen).all()
    assert resolved(again, checkpoint).keys == ["backbone." + key for key, on in
                                               zip(selection.rows.keys, selection.included) if on]


def test_a_loaded_plan_is_kept_word_for_word_until_a_toggle_changes_it(opened):
    checkpoint, root = opened
    plan = ExportPlan(exclude=("*.num_batches_tracked",), freeze=("layer1",))
    selection = selection_for_plan(checkpoint, root, plan)
    assert selection.plan() == plan
    assert selection.with_options(dtype="bfloat16").plan() == plan.replace(dtype="bfloat16")
    same = selection.with_included(selection.rows.span(module_node(root, "fc")), True)
    assert same.plan() == plan  # fc was already in: nothing changed
    changed = selection.with_included(selection.rows.span(module_node(root, "fc")), False)
    assert changed.plan() != plan
    kept = set(resolved(selection, checkpoint).keys) - {"fc.weight", "fc.bias"}
    assert set(resolved(changed, checkpoint).keys) == kept


def test_colliding_renames_are_refused_with_the_keys_named(opened):
    checkpoint, root = opened
    selection = default_selection(checkpoint, root).with_options(rename=(("layer1", "layer2"),))
    with pytest.raises(CheckpointError, match="layer2"):
        selection.plan()


def test_up_to_here_follows_the_models_order_not_the_files_sorted_order(checkpoint_files):
    """safetensors files list keys sorted as text (10.weight before 4.weight)."""
    checkpoint = open_checkpoint(checkpoint_files["weights.safetensors"])
    root = build_tree(checkpoint)
    selection = default_selection(checkpoint, root)
    none = selection.with_included((0, len(selection.rows)), False)
    chosen = none.with_included(selection.rows.up_to(module_node(root, "4")), True)
    in_model_order = [key for key, value in SmallNet.build().state_dict().items() if value.dtype.is_floating_point]
    expected = in_model_order[:in_model_order.index("4.bias") + 1]
    assert sorted(resolved(chosen, checkpoint).keys) == sorted(expected)


def test_a_file_with_two_state_dicts_exports_the_first_unless_a_plan_says(tmp_path):
    generator, critic = torch.nn.Linear(3, 2), torch.nn.Linear(2, 1)
    path = str(tmp_path / "gan.pt")
    torch.save({"generator": generator.state_dict(), "critic": critic.state_dict()}, path)
    checkpoint = open_checkpoint(path)
    root = build_tree(checkpoint)
    selection = default_selection(checkpoint, root)
    assert selection.rows.subdict == "generator"
    assert resolved(selection, checkpoint).source_keys == {key: key for key in generator.state_dict()}
    other = selection_for_plan(checkpoint, root, ExportPlan(subdict="critic"))
    assert [node.name for node in iter_nodes(other.rows.container)][0] == "critic"


def test_the_summary_counts_what_the_resolved_plan_exports(model, opened):
    checkpoint, root = opened
    selection = default_selection(checkpoint, root)
    selection = selection.with_included(selection.rows.span(module_node(root, "fc")), False)
    result = run_job(resolve_job(selection))
    summary = ExportSummary(result)
    parameters = {name: parameter for name, parameter in model.named_parameters() if not name.startswith("fc.")}
    state = {key: value for key, value in model.state_dict().items() if not key.startswith("fc.")}
    assert summary.tensors == len(state) and summary.available == len(model.state_dict())
    assert summary.parameters == len(parameters)
    assert summary.parameter_values == sum(parameter.numel() for parameter in parameters.values())
    assert summary.frozen_values == sum(p.numel() for p in parameters.values() if not p.requires_grad)
    assert summary.nbytes == sum(value.numel() * value.element_size() for value in state.values())
    assert summary.dropped == 2
