"""Key alignment on files written by torch: the pairs it makes are the tensors torch says are the same."""

from __future__ import annotations

import pytest

from inspector.core.align import Rule, align_keys, apply_rules, choose_state_dict
from inspector.core.errors import CheckpointError
from inspector.core.loader import open_checkpoint

torch = pytest.importorskip("torch")
nn = torch.nn


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.backbone = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU())
        self.head = nn.Linear(4, 3)


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return Net()


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("align")


def save(folder, name: str, value) -> str:
    path = str(folder / name)
    torch.save(value, path)
    return path


def aligned_files(path_a: str, path_b: str, **options):
    view_a = choose_state_dict(open_checkpoint(path_a))
    view_b = choose_state_dict(open_checkpoint(path_b))
    return view_a, view_b, align_keys(view_a.tensors, view_b.tensors, **options)


def assert_pairs_are_torchs_same_tensors(alignment, state_a: dict, state_b: dict) -> None:
    assert alignment.only_a == [] and alignment.only_b == []
    assert len(alignment.pairs) == len(state_a) == len(state_b)
    for key, key_a, key_b in alignment.pairs:
        assert torch.equal(state_a[key_a], state_b[key_b]), key


def test_data_parallel_save_against_the_plain_one(net, folder):
    wrapped = nn.DataParallel(net)
    path_a = save(folder, "dp.pt", wrapped.state_dict())
    path_b = save(folder, "plain.pt", net.state_dict())
    _, _, alignment = aligned_files(path_a, path_b)
    assert [rule.name for rule in alignment.rules] == ["strip 'module.' from A"]
    assert_pairs_are_torchs_same_tensors(alignment, torch.load(path_a), torch.load(path_b))
    assert {key for key, _, _ in alignment.pairs} == set(net.state_dict())


def test_nested_data_parallel_strips_every_leading_module(net, folder):
    path_a = save(folder, "plain.pt", net.state_dict())
    path_b = save(folder, "dpdp.pt", nn.DataParallel(nn.DataParallel(net)).state_dict())
    _, _, alignment = aligned_files(path_a, path_b)
    assert [rule.name for rule in alignment.rules] == ["strip 'module.module.' from B"]
    assert_pairs_are_torchs_same_tensors(alignment, torch.load(path_a), torch.load(path_b))


def test_compiled_submodule_save_against_the_plain_one(folder):
    torch.manual_seed(1)
    model = Net()
    plain = save(folder, "uncompiled.pt", model.state_dict())
    model.backbone = torch.compile(model.backbone)
    compiled_state = model.state_dict()
    assert any("._orig_mod." in key for key in compiled_state)  # the file really has the wrapper
    compiled = save(folder, "compiled.pt", compiled_state)
    _, _, alignment = aligned_files(compiled, plain)
    assert [rule.name for rule in alignment.rules] == ["drop '_orig_mod.' from A"]
    assert_pairs_are_torchs_same_tensors(alignment, torch.load(compiled), torch.load(plain))


def lightning_checkpoint(model: nn.Module) -> dict:
    """The dict layout a LightningModule with ``self.model = model`` saves."""
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    return {"epoch": 4, "global_step": 120, "pytorch-lightning_version": "2.2.0",
            "state_dict": {f"model.{key}": value for key, value in model.state_dict().items()},
            "loops": {}, "callbacks": {}, "optimizer_states": [optimizer.state_dict()],
            "lr_schedulers": [], "hyper_parameters": {"lr": 0.1, "width": 4}}


def test_lightning_checkpoint_against_the_plain_state_dict(net, folder):
    path_a = save(folder, "run.ckpt", lightning_checkpoint(net))
    path_b = save(folder, "plain.pt", net.state_dict())
    view_a, _, alignment = aligned_files(path_a, path_b)
    assert view_a.path == ("state_dict",)
    assert [rule.name for rule in alignment.rules] == ["strip 'model.' from A"]
    assert_pairs_are_torchs_same_tensors(alignment, torch.load(path_a)["state_dict"], torch.load(path_b))


def test_prefix_is_found_on_either_side_and_when_it_is_several_segments(net, folder):
    wrapped = {f"model.module.{key}": value for key, value in net.state_dict().items()}
    wrapped["loss_weights"] = torch.ones(3)  # an extra entry does not stop the prefix being dominant
    path_a = save(folder, "plain.pt", net.state_dict())
    path_b = save(folder, "wrapped.pt", wrapped)
    _, _, alignment = aligned_files(path_a, path_b)
    assert [rule.name for rule in alignment.rules] == ["strip 'model.module.' from B"]
    assert alignment.only_b == ["loss_weights"] and alignment.only_a == []
    state_b = torch.load(path_b)
    for _, key_a, key_b in alignment.pairs:
        assert torch.equal(net.state_dict()[key_a], state_b[key_b])


def test_backbone_only_file_against_the_full_model(net, folder):
    path_a = save(folder, "full.pt", net.state_dict())
    path_b = save(folder, "backbone.pt", net.backbone.state_dict())
    _, _, alignment = aligned_files(path_a, path_b)
    assert [rule.name for rule in alignment.rules] == ["strip 'backbone.' from A"]
    assert alignment.only_a == ["head.weight", "head.bias"]
    assert {key_a for _, key_a, _ in alignment.pairs} == {f"backbone.{key}" for key in net.backbone.state_dict()}


def test_same_layout_needs_no_rule(net, folder):
    path = save(folder, "plain.pt", net.state_dict())
    _, _, alignment = aligned_files(path, path)
    assert alignment.rules == [] and alignment.to_json() == {
        "rules": [], "matched": len(net.state_dict()), "only_a": 0, "only_b": 0}


def test_a_disabled_rule_is_not_applied_and_is_listed(net, folder):
    path_a = save(folder, "dp.pt", nn.DataParallel(net).state_dict())
    path_b = save(folder, "plain.pt", net.state_dict())
    _, _, alignment = aligned_files(path_a, path_b, disabled=["strip 'module.' from A"])
    assert alignment.rules == [] and alignment.pairs == []
    assert alignment.disabled == [Rule.strip_prefix("module.", "a")]
    assert alignment.only_a == list(nn.DataParallel(net).state_dict())


def test_no_align_and_forced_prefixes(net, folder):
    path_a = save(folder, "run.ckpt", lightning_checkpoint(net))
    path_b = save(folder, "plain.pt", net.state_dict())
    _, _, untouched = aligned_files(path_a, path_b, no_align=True)
    assert untouched.rules == [] and untouched.pairs == []
    _, _, forced = aligned_files(path_a, path_b, no_align=True, strip_a="model")
    assert [rule.name for rule in forced.rules] == ["strip 'model.' from A"]
    assert forced.matched == len(net.state_dict())
    with pytest.raises(CheckpointError, match="no key of B starts with 'encoder.'"):
        aligned_files(path_a, path_b, strip_b="encoder.")


def test_two_prefixes_matching_equally_is_an_error(net, folder):
    gan = {f"{name}.{key}": value for name in ("gen", "disc") for key, value in net.state_dict().items()}
    path_a = save(folder, "gan.pt", gan)
    path_b = save(folder, "plain.pt", net.state_dict())
    with pytest.raises(CheckpointError, match="ambiguous key alignment: strip 'gen.' from A and strip 'disc.' from A"):
        aligned_files(path_a, path_b)
    _, _, chosen = aligned_files(path_a, path_b, strip_a="disc.")
    assert chosen.matched == len(net.state_dict()) and len(chosen.only_a) == len(net.state_dict())


def test_two_keys_becoming_one_is_an_error():
    with pytest.raises(CheckpointError, match="turns both '_orig_mod.w' and 'w' in A into 'w'"):
        align_keys(["_orig_mod.w", "w"], ["w"])
    with pytest.raises(CheckpointError, match="ambiguous"):
        align_keys(["model.w", "w", "x"], ["v"], strip_a="model.")


def test_apply_rules_renames_whole_module_names_only():
    keys = ["layer1.0.weight", "layer10.weight", "layer1", "module.fc.bias"]
    renamed = apply_rules(keys, [Rule.rename("layer1", "block1"), Rule.strip_prefix("module")])
    assert renamed == {"block1.0.weight": "layer1.0.weight", "layer10.weight": "layer10.weight",
                       "block1": "layer1", "fc.bias": "module.fc.bias"}
    assert apply_rules(["w"], [Rule.add_prefix("model")]) == {"model.w": "w"}
    assert apply_rules(["a.w", "b.w"], [Rule.strip_prefix("a.", "a"), Rule.strip_prefix("b.", "b")], side="a") == \
        {"w": "a.w", "b.w": "b.w"}
    with pytest.raises(CheckpointError):
        apply_rules(["a.w", "w"], [Rule.strip_prefix("a.")])


def test_rules_are_values_with_readable_names():
    import pickle

    rules = [Rule.drop_token("_orig_mod", "b"), Rule.strip_prefix("module."), Rule.add_prefix("model.", "a"),
             Rule.rename("backbone", "encoder", "a")]
    assert [rule.name for rule in rules] == ["drop '_orig_mod.' from B", "strip 'module.'", "add 'model.' to A",
                                             "rename 'backbone' to 'encoder' in A"]
    assert pickle.loads(pickle.dumps(rules)) == rules
    with pytest.raises(AttributeError):
        rules[0].old = "x"


def test_choose_state_dict_in_common_layouts(net, folder):
    sd = net.state_dict()
    cases = {
        "plain.pt": (sd, ()),
        "general.pt": ({"epoch": 3, "model_state_dict": sd, "optimizer_state_dict": {}}, ("model_state_dict",)),
        "deit.pth": ({"model": sd, "optimizer": {}, "epoch": 3}, ("model",)),
        "module.pt": (net, ()),
        "wrapped_module.pt": ({"model": net, "epoch": 1}, ("model",)),
        "net_only.pt": ({"net": sd, "epoch": 1}, ("net",)),
        "with_a_step_tensor.pt": ({"model": sd, "step": torch.tensor(7)}, ("model",)),
        "score_beside.pt": ({"state_dict": sd, "best": torch.tensor(0.5)}, ("state_dict",)),
    }
    for name, (value, expected_path) in cases.items():
        checkpoint = open_checkpoint(save(folder, name, value))
        view = choose_state_dict(checkpoint)
        assert view.path == expected_path, name
        assert list(view.tensors) == list(sd), name
        info_paths = {id(tensor): path for path, tensor in checkpoint.iter_tensors()}
        assert {key: info_paths[id(tensor)] for key, tensor in view.tensors.items()} == view.paths, name
        assert view.paths == {key: expected_path + (key,) for key in sd}, name


def test_version_table_is_the_state_dicts_metadata(net, folder):
    path = save(folder, "plain.pt", net.state_dict())
    view = choose_state_dict(open_checkpoint(path))
    assert view.version_table == dict(torch.load(path)._metadata)
    assert view.version_table["backbone.1"] == {"version": 2}
    assert choose_state_dict(open_checkpoint(save(folder, "module.pt", net))).version_table is None


def test_ema_only_when_asked(net, folder):
    torch.manual_seed(5)
    ema = Net().state_dict()
    path = save(folder, "timm.pth", {"state_dict": net.state_dict(), "state_dict_ema": ema, "epoch": 9})
    checkpoint = open_checkpoint(path)
    assert choose_state_dict(checkpoint).path == ("state_dict",)
    chosen = choose_state_dict(checkpoint, ema=True)
    assert chosen.path == ("state_dict_ema",)
    assert all(torch.equal(torch.load(path)["state_dict_ema"][key], ema[key]) for key in chosen.tensors)
    only_ema = open_checkpoint(save(folder, "ema_only.pt", {"ema": ema, "epoch": 9}))
    with pytest.raises(CheckpointError, match="has no state dict; it holds 'ema', 'epoch'"):
        choose_state_dict(only_ema)
    assert choose_state_dict(only_ema, ema=True).path == ("ema",)


def test_subdict_chooses_containers_and_modules_inside_them(net, folder):
    gan = {"generator": net.state_dict(), "discriminator": net.state_dict(), "epoch": 7,
           "models": [net.state_dict()]}
    checkpoint = open_checkpoint(save(folder, "gan.pt", gan))
    with pytest.raises(CheckpointError, match="several state dicts .*'generator', 'discriminator'"):
        choose_state_dict(checkpoint)
    assert choose_state_dict(checkpoint, "discriminator").path == ("discriminator",)
    assert choose_state_dict(checkpoint, "models.0").path == ("models", 0)
    head = choose_state_dict(checkpoint, "generator.head")
    assert list(head.tensors) == ["weight", "bias"]
    assert head.paths == {"weight": ("generator", "head.weight"), "bias": ("generator", "head.bias")}
    with pytest.raises(CheckpointError, match="no 'critic' in the top level; it holds 'generator', 'discriminator'"):
        choose_state_dict(checkpoint, "critic")
    with pytest.raises(CheckpointError, match="'epoch' holds no tensors"):
        choose_state_dict(checkpoint, "epoch")


def test_a_file_without_a_state_dict_names_what_it_holds(net, folder):
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
    checkpoint = open_checkpoint(save(folder, "optimizer.pt", optimizer.state_dict()))
    with pytest.raises(CheckpointError, match="has no state dict; it holds 'state', 'param_groups'"):
        choose_state_dict(checkpoint)
